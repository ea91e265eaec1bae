"""My profile, my password, "my password is compromised"; the must-change guard (notices: ``notices.py``).

Every route here acts on the logged-in user's own ``User`` (``self_factory``), so the
User's ACL decides with ``EDIT_SELF``: nobody reaches another person's profile through
these addresses. An anonymous visitor gets the site as context, which grants no
``EDIT_SELF``, and is sent to the login page.
"""

from pyramid.events import ContextFound
from pyramid.httpexceptions import HTTPClientError, HTTPSeeOther
from pyramid.security import forget
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..factories import self_factory
from ..i18n import _, translate
from ..security import current_session_id, is_api_request, renew_session
from ..services import accounts
from .base import field_errors, page, refused
from .home import ROLE_TITLES

#: paths a user who must change their password may still reach
MUST_CHANGE_ALLOWED = (
    "/password",
    "/logout",
    "/static/",
    "/language",
    "/healthz",
    "/metrics",
    "/login",
    "/api/v1/auth/",
)
PROFILE_FIELDS = ("fullname", "position", "email")


def role_rows(request, site, user):
    """``[{role, title, unit_code, unit_name}]`` for every role ``user`` holds."""
    rows = []
    for code, role in accounts.role_grants(site, user):
        unit = site["directory"].get(code) if code else None
        rows.append(
            {
                "role": role,
                "title": translate(request, ROLE_TITLES.get(role, role)),
                "unit_code": code,
                "unit_name": unit.name if unit is not None else None,
            }
        )
    return rows


def _profile_page(request, errors=None, values=None):
    user = request.context
    site = request.site
    unit = site["directory"].get(user.unit_code) if user.unit_code else None
    form = values or {name: getattr(user, name) or "" for name in PROFILE_FIELDS}
    return page(
        request,
        translate(request, _("My profile")),
        profile=user,
        unit=unit,
        roles=role_rows(request, site, user),
        form=form,
        errors=errors or {},
    )


@view_config(route_name="profile", renderer="profile.pt", permission=sec.EDIT_SELF, request_method="GET")
def profile(request):
    return _profile_page(request)


@view_config(route_name="profile", renderer="profile.pt", permission=sec.EDIT_SELF, request_method="POST")
def profile_edit(request):
    values = {name: request.POST.get(name, "") for name in PROFILE_FIELDS}
    try:
        changed = accounts.update_user(request.site, request.actor, request.context, **values)
    except ServiceError as exc:
        request.response.status = exc.status
        return _profile_page(request, field_errors(request, exc), values)
    request.session.flash(
        translate(request, _("Your profile was saved."))
        if changed
        else translate(request, _("Nothing was changed."))
    )
    return HTTPSeeOther(request.route_url("profile"))


def _password_page(request, errors=None):
    return page(
        request,
        translate(request, _("Change password")),
        errors=errors or {},
        must_change=bool(getattr(request.context, "must_change_password", False)),
    )


@view_config(route_name="password", renderer="password.pt", permission=sec.EDIT_SELF, request_method="GET")
def password_form(request):
    return _password_page(request)


@view_config(route_name="password", renderer="password.pt", permission=sec.EDIT_SELF, request_method="POST")
def password_change(request):
    user = request.context
    new = request.POST.get("new_password", "")
    if new != request.POST.get("confirm_password", ""):
        request.response.status = 400
        return _password_page(
            request, {"confirm_password": translate(request, _("The two new passwords are not the same."))}
        )
    try:
        accounts.set_password(
            request.site,
            request.actor,
            user,
            new,
            current_password=request.POST.get("current_password", ""),
            keep_session=current_session_id(request),  # the others end, with every token
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _password_page(request, field_errors(request, exc))
    # and this one goes on under a new id
    renew_session(request)

    request.session.flash(translate(request, _("Your password was changed.")))
    return HTTPSeeOther(request.application_url + "/")


@view_config(route_name="report_compromised", permission=sec.EDIT_SELF, request_method="POST")
def report_compromised(request):
    """R8.2 by the user: lock the account, end its sessions, alert the unit admins; then log out."""
    if request.POST.get("confirm") != "1":
        request.session.flash(
            translate(request, _("Tick the box to confirm that your password is compromised."))
        )
        return HTTPSeeOther(request.route_url("profile"))
    user = request.context
    try:
        accounts.report_compromised(
            request.site, request.actor, user, note=(request.POST.get("note") or "").strip()[:1000]
        )
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
        return HTTPSeeOther(request.route_url("profile"))
    headers = forget(request)
    request.session.invalidate()
    request.session.flash(
        translate(
            request,
            _(
                "Your account is locked and all its sessions have ended. Your unit's administrator has been alerted "
                "and will give you a new password."
            ),
        )
    )
    return HTTPSeeOther(request.application_url + "/login", headers=headers)


# -- must change password ------------------------------------------------------


class MustChangePassword(HTTPClientError):
    """403 on the API for a user who must change their password first (a page redirects instead)."""

    code = 403
    title = "Forbidden"


def must_change_password_guard(event):
    """A user whose password must be changed reaches nothing but /password (and logging out)."""
    request = event.request
    path = request.path
    if path.startswith(MUST_CHANGE_ALLOWED) or path == "/static":
        return
    user = request.identity
    if user is None or not getattr(user, "must_change_password", False):
        return
    if is_api_request(request):
        raise MustChangePassword(
            detail=translate(request, _("You must change your password before doing anything else."))
        )
    request.session.flash(translate(request, _("You must change your password before doing anything else.")))
    raise HTTPSeeOther(request.application_url + "/password")


def includeme(config):
    config.add_route("profile", "/profile", factory=self_factory)
    config.add_route("report_compromised", "/profile/compromised", factory=self_factory)
    config.add_route("password", "/password", factory=self_factory)
    config.add_subscriber(must_change_password_guard, ContextFound)
