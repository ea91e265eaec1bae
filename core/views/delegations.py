"""My delegations (R6.2): what I lent and what I received; create, revoke, act for, stop acting.

All routes act on the logged-in user's own ``User`` (``EDIT_SELF``). Acting for someone
stores the delegation's id in the session; the security policy lends the delegated
rights on each request only while the delegation is current, so a revoked or expired
delegation stops at once.
"""

from datetime import timedelta

from pyramid.httpexceptions import HTTPForbidden, HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..factories import self_factory
from ..i18n import _, translate
from ..resources.delegations import MAILBOX, PERMISSIONS, ROLE
from ..security import ACTING_FOR_SESSION_KEY, current_delegation, delegation_changed, renew_session
from ..services import accounts, audit, delegations
from .base import field_errors, local_time, page, refused
from .home import ROLE_TITLES

STATES = {
    "active": _("active"),
    "scheduled": _("scheduled"),
    "expired": _("expired"),
    "revoked": _("revoked"),
}
PERMISSION_TITLES = {
    sec.READ_MAILBOX: _("Read the unit mailbox"),
    sec.SEND: _("Send documents"),
    sec.REGISTER: _("Register documents"),
    sec.ASSIGN: _("Assign documents"),
    sec.PROCESS: _("Process documents"),
    sec.DRAFT: _("Draft documents"),
    sec.APPROVE: _("Approve drafts"),
    sec.ISSUE: _("Issue documents"),
}
FORM_FIELDS = ("delegate", "start", "end", "scope", "role", "note")


def describe(request, site, d):
    """The delegation's scope in the user's language."""
    if d.scope == MAILBOX:
        return translate(request, _("Personal mailbox"))
    unit = site["directory"].get(d.unit_code or "")
    unit_name = unit.name if unit is not None else (d.unit_code or "")
    if d.scope == ROLE:
        return translate(
            request,
            _("Role ${role} on ${unit}"),
            role=translate(request, ROLE_TITLES.get(d.role, d.role)),
            unit=unit_name,
        )
    names = ", ".join(translate(request, PERMISSION_TITLES.get(p, p)) for p in d.permissions)
    return translate(request, _("${permissions} on ${unit}"), permissions=names, unit=unit_name)


def delegation_row(request, site, d, day):
    users = site["users"]
    delegator, delegate = users.get(d.delegator), users.get(d.delegate)
    state = d.state(day)
    return {
        "id": d.delegation_id,
        "delegator": d.delegator,
        "delegate": d.delegate,
        "delegator_name": delegator.fullname if delegator is not None else d.delegator,
        "delegate_name": delegate.fullname if delegate is not None else d.delegate,
        "start": d.start,
        "end": d.end,
        "scope": describe(request, site, d),
        "note": d.note,
        "state": state,
        "state_title": translate(request, STATES[state]),
        "revoked": local_time(request, d.revoked) if d.revoked else "",
    }


def _sort_key(d):
    return (d.start, d.created or "")


def _page(request, errors=None, form=None):
    site = request.site
    user = request.context
    day = request.env.today().isoformat()
    store = site["delegations"]
    given = [
        delegation_row(request, site, d, day)
        for d in sorted(store.given_by(user.login), key=_sort_key, reverse=True)
    ]
    usable = {d.delegation_id for d in delegations.usable_by(site, user.login, day)}
    received = []
    for d in sorted(store.received_by(user.login), key=_sort_key, reverse=True):
        row = delegation_row(request, site, d, day)
        row["usable"] = d.delegation_id in usable
        received.append(row)
    # the roles this user can lend: unit roles on their units (never unit admin)
    role_choices = [
        {
            "value": f"{code}|{role}",
            "title": translate(request, ROLE_TITLES.get(role, role)),
            "unit_name": site["directory"][code].name if code in site["directory"] else code,
        }
        for code, role in accounts.role_grants(site, user)
        if code and role != sec.UNIT_ADMIN
    ]
    start = request.env.today()
    form = form or {
        "delegate": "",
        "start": start.isoformat(),
        "end": (start + timedelta(days=7)).isoformat(),
        "scope": MAILBOX,
        "role": "",
        "note": "",
        "permissions": (),
        "unit_code": user.unit_code,
    }
    current = current_delegation(request)
    return page(
        request,
        translate(request, _("My delegations")),
        given=given,
        received=received,
        role_choices=role_choices,
        permission_choices=[
            {"value": p, "title": translate(request, PERMISSION_TITLES[p])} for p in sec.DELEGABLE
        ],
        form=form,
        errors=errors or {},
        acting_id=current.delegation_id if current is not None else None,
    )


@view_config(
    route_name="delegations", renderer="delegations.pt", permission=sec.EDIT_SELF, request_method="GET"
)
def my_delegations(request):
    return _page(request)


@view_config(
    route_name="delegations", renderer="delegations.pt", permission=sec.EDIT_SELF, request_method="POST"
)
def create_delegation(request):
    post = request.POST
    form = {name: post.get(name, "") for name in FORM_FIELDS}
    form["permissions"] = tuple(post.getall("permissions"))
    user = request.context
    unit_code, role = user.unit_code, None
    if form["scope"] == ROLE and "|" in form["role"]:
        unit_code, role = form["role"].split("|", 1)
    elif form["scope"] == PERMISSIONS:
        unit_code = post.get("unit_code") or user.unit_code
    form["unit_code"] = unit_code
    try:
        delegations.create(
            request.site,
            request.actor,
            user,
            form["delegate"],
            form["start"],
            form["end"],
            form["scope"],
            unit_code=unit_code,
            role=role,
            permissions=form["permissions"],
            note=form["note"],
            today=request.env.today(),
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _page(request, field_errors(request, exc), form)
    request.session.flash(translate(request, _("The delegation was created.")))
    return HTTPSeeOther(request.route_url("delegations"))


@view_config(route_name="delegation_revoke", permission=sec.EDIT_SELF, request_method="POST")
def revoke_delegation(request):
    site = request.site
    d = delegations.get(site, request.matchdict["id"])
    if d.delegator != request.context.login:
        raise HTTPForbidden()
    try:
        delegations.revoke(site, request.actor, d)
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
    else:
        request.session.flash(translate(request, _("The delegation was revoked.")))
    return HTTPSeeOther(request.route_url("delegations"))


@view_config(route_name="delegation_act", permission=sec.EDIT_SELF, request_method="POST")
def act_for(request):
    """Start acting under one of my current delegations: the security policy lends its rights."""
    site = request.site
    user = request.context
    d = delegations.get(site, request.matchdict["id"])
    if d.delegate != user.login:
        raise HTTPForbidden()  # nobody acts under someone else's delegation
    if d not in delegations.usable_by(site, user.login, request.env.today().isoformat()):
        request.session.flash(translate(request, _("This delegation cannot be used today.")))
        return HTTPSeeOther(request.route_url("delegations"))
    request.session[ACTING_FOR_SESSION_KEY] = d.delegation_id
    delegation_changed(request)  # the policy re-reads the session
    renew_session(request)  # a change of privilege: the session gets a new id
    audit.record(
        site, request.actor, "delegation.act", f"/delegations/{d.delegation_id}", delegator=d.delegator
    )
    delegator = site["users"].get(d.delegator)
    request.session.flash(
        translate(
            request,
            _("You are now acting for ${name}."),
            name=delegator.fullname if delegator is not None else d.delegator,
        )
    )
    return HTTPSeeOther(request.application_url + "/")


@view_config(route_name="delegation_stop", permission=sec.EDIT_SELF, request_method="POST")
def stop_acting(request):
    delegation_id = request.session.pop(ACTING_FOR_SESSION_KEY, None)
    if delegation_id:
        audit.record(request.site, request.actor, "delegation.stop", f"/delegations/{delegation_id}")
        delegation_changed(request)
        renew_session(request)
        request.session.flash(translate(request, _("You no longer act for anyone.")))
    return HTTPSeeOther(request.route_url("delegations"))


def includeme(config):
    config.add_route("delegations", "/delegations", factory=self_factory)
    config.add_route("delegation_stop", "/delegations/stop", factory=self_factory)
    config.add_route("delegation_revoke", "/delegations/{id}/revoke", factory=self_factory)
    config.add_route("delegation_act", "/delegations/{id}/act", factory=self_factory)
