"""/manage/users: the accounts screens of the system admin and of each unit's admin.

- ``/manage/users`` lists every user (context: the site, permission MANAGE). With
  ``?unit=<code>`` the context is that unit and the permission MANAGE_UNIT, so a unit
  admin manages the people of their own unit there, and may create accounts in it with
  unit roles only.
- ``/manage/users/{login}`` and its actions: the context is the User, whose ACL lets in
  the unit admin of the user's unit and the system admin (MANAGE_UNIT).

The views parse and authorize; the accounts service does the work and writes the audit.
"""

from urllib.parse import urlencode

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..clock import now_iso
from ..errors import ServiceError
from ..factories import user_factory
from ..i18n import _, translate
from ..resources.directory import Organization
from ..resources.site import Site
from ..resources.users import User
from ..services import accounts, audit, delegations
from ..text import matches
from .base import field_errors, hub_units, local_time, page, refused
from .delegations import delegation_row
from .home import ROLE_TITLES
from .profile import role_rows

PAGE_SIZE = 50
RECENT_AUDIT = 20
AUDIT_SCAN = 5000  # how far back the user page looks for the user's audit entries
NEW_FIELDS = ("login", "fullname", "unit_code", "position", "email")
EDIT_FIELDS = ("fullname", "position", "email", "unit_code")


def users_factory(request):
    """The site, or with ``?unit=<code>`` (in the query string) that unit: 404 when unknown."""
    code = request.GET.get("unit", "").strip()
    site = request.site
    if not code:
        return site
    unit = site["directory"].get(code)
    if unit is None:
        raise HTTPNotFound()
    return unit


def _can_manage_site(request):
    return bool(request.has_permission(sec.MANAGE, request.site))


def _role_choices(request, site_wide):
    roles = accounts.SITE_ROLES + accounts.UNIT_ROLES if site_wide else accounts.UNIT_ROLES
    return [{"value": r, "title": translate(request, ROLE_TITLES.get(r, r))} for r in roles]


def _list_users(request, site, unit_code, query):
    found = []
    for user in site["users"].values():
        if unit_code and user.unit_code != unit_code and unit_code not in user.extra_units:
            continue
        if query and not matches(query, user.login, user.fullname):
            continue
        found.append(user)
    return found


def _users_page(request, errors=None, form=None, created=None):
    site = request.site
    context = request.context
    unit = context if isinstance(context, Organization) else None
    query = request.GET.get("q", "").strip()
    filter_code = unit.code if unit is not None else request.GET.get("filter_unit", "").strip()
    try:
        page_number = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page_number = 1
    found = _list_users(request, site, filter_code, query)
    start = (page_number - 1) * PAGE_SIZE
    shown = found[start : start + PAGE_SIZE]
    directory = site["directory"]
    rows = [
        {
            "login": u.login,
            "fullname": u.fullname,
            "position": u.position,
            "unit_code": u.unit_code,
            "unit_name": directory[u.unit_code].short_name
            if u.unit_code in directory
            else (u.unit_code or ""),
            "locked": u.locked or not u.is_active(now_iso()),
            "roles": ", ".join(translate(request, ROLE_TITLES.get(r, r)) for r in accounts.roles_of(site, u)),
        }
        for u in shown
    ]

    def page_url(number):
        params = {"q": query, "page": number}
        if unit is not None:
            params["unit"] = unit.code
        else:
            params["filter_unit"] = filter_code
        return request.route_url("manage_users") + "?" + urlencode(params)

    action = request.route_url("manage_users") + (
        ("?" + urlencode({"unit": unit.code})) if unit is not None else ""
    )
    form = form or {name: "" for name in NEW_FIELDS}
    if unit is not None:
        form["unit_code"] = unit.code
    title = (
        translate(request, _("Users of ${unit}"), unit=unit.name)
        if unit is not None
        else translate(request, _("Users"))
    )
    return page(
        request,
        title,
        unit=unit,
        rows=rows,
        total=len(found),
        query=query,
        filter_code=filter_code,
        units=_unit_choices(request) if unit is None else [],
        newer_url=page_url(page_number - 1) if page_number > 1 else None,
        older_url=page_url(page_number + 1) if start + PAGE_SIZE < len(found) else None,
        form=form,
        form_roles=set(request.POST.getall("roles")) if errors else set(),
        role_choices=_role_choices(request, unit is None),
        action=action,
        errors=errors or {},
        created=created,
        can_manage_site=_can_manage_site(request),
    )


@view_config(
    route_name="manage_users",
    context=Site,
    renderer="manage_users.pt",
    permission=sec.MANAGE,
    request_method="GET",
)
@view_config(
    route_name="manage_users",
    context=Organization,
    renderer="manage_users.pt",
    permission=sec.MANAGE_UNIT,
    request_method="GET",
)
def users(request):
    return _users_page(request)


@view_config(
    route_name="manage_users",
    context=Site,
    renderer="manage_users.pt",
    permission=sec.MANAGE,
    request_method="POST",
)
@view_config(
    route_name="manage_users",
    context=Organization,
    renderer="manage_users.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def add_user(request):
    """A new account with a random initial password, shown once, to be changed at first login."""
    from ..services.passwords import random_password

    post = request.POST
    form = {name: (post.get(name) or "").strip() for name in NEW_FIELDS}
    roles = tuple(dict.fromkeys(post.getall("roles")))
    unit = request.context if isinstance(request.context, Organization) else None
    if unit is not None:
        form["unit_code"] = unit.code  # a unit admin creates accounts in their unit only
        wrong = [r for r in roles if r not in accounts.UNIT_ROLES]
        if wrong:
            request.response.status = 403
            return _users_page(
                request,
                {"roles": translate(request, _("The role ${role} cannot be granted here."), role=wrong[0])},
                form,
            )
    password = random_password()
    try:
        user = accounts.add_user(
            request.site,
            request.actor,
            form["login"],
            form["fullname"],
            password,
            unit_code=form["unit_code"] or None,
            roles=roles,
            position=form["position"],
            email=form["email"],
            must_change_password=True,
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _users_page(request, field_errors(request, exc), form)
    request.response.status = 201
    return _users_page(
        request,
        created={
            "login": user.login,
            "fullname": user.fullname,
            "password": password,
            "url": request.route_url("manage_user", login=user.login),
        },
    )


# -- one user ------------------------------------------------------------------


def user_audit(site, login, limit=RECENT_AUDIT, scan=AUDIT_SCAN):
    """The newest entries whose target is the user (looking back at most ``scan`` entries)."""
    target = f"/users/{login}"
    log = site["audit"]
    found = []
    for entry in log.iter_entries(start=max(1, len(log) - scan + 1), reverse=True):
        if entry["target"] == target:
            found.append(entry)
            if len(found) >= limit:
                break
    return found


def _user_page(request, errors=None, form=None, one_time_password=None):
    user = request.context
    site = request.site
    day = request.env.today().isoformat()
    store = site["delegations"]
    entries = user_audit(site, user.login)
    for entry in entries:
        entry["when"] = local_time(request, entry["time"])
    site_wide = _can_manage_site(request)
    directory = site["directory"]
    unit = directory.get(user.unit_code) if user.unit_code else None
    form = form or {name: getattr(user, name) or "" for name in EDIT_FIELDS}
    return page(
        request,
        translate(request, _("Account ${login}"), login=user.login),
        account=user,
        unit=unit,
        roles=role_rows(request, site, user),
        role_choices=_role_choices(request, site_wide),
        form=form,
        errors=errors or {},
        one_time_password=one_time_password,
        entries=entries,
        given=[delegation_row(request, site, d, day) for d in store.given_by(user.login)],
        received=[delegation_row(request, site, d, day) for d in store.received_by(user.login)],
        locked_out=bool(user.locked_until and not user.is_active(now_iso())),
        locked_until=local_time(request, user.locked_until) if user.locked_until else "",
        units=_unit_choices(request) if site_wide else [],
        can_manage_site=site_wide,
    )


def _done(request, message, **mapping):
    request.session.flash(translate(request, message, **mapping))
    return HTTPSeeOther(request.route_url("manage_user", login=request.context.login))


@view_config(
    route_name="manage_user",
    context=User,
    renderer="manage_user.pt",
    permission=sec.MANAGE_UNIT,
    request_method="GET",
)
def user_view(request):
    """An admin reading someone's account (personal data) is on the record."""
    audit.record(request.site, request.actor, "user.view", f"/users/{request.context.login}")
    return _user_page(request)


@view_config(
    route_name="manage_user_edit",
    context=User,
    renderer="manage_user.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def user_edit(request):
    user = request.context
    changes = {name: (request.POST.get(name) or "").strip() for name in ("fullname", "position", "email")}
    new_code = (request.POST.get("unit_code") or "").strip()
    if "unit_code" in request.POST and new_code != (user.unit_code or ""):
        # moving someone to another unit needs the right to manage that unit too
        target = request.site["directory"].get(new_code)
        if target is not None and not request.has_permission(sec.MANAGE_UNIT, target):
            raise HTTPForbidden()
        changes["unit_code"] = new_code
    try:
        accounts.update_user(request.site, request.actor, user, **changes)
    except ServiceError as exc:
        request.response.status = exc.status
        return _user_page(request, field_errors(request, exc), {**changes, "unit_code": new_code})
    return _done(request, _("The account was saved."))


@view_config(
    route_name="manage_user_lock",
    context=User,
    renderer="manage_user.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def user_lock(request):
    reason = (request.POST.get("reason") or "").strip()[:500]
    if not reason:
        request.response.status = 400
        return _user_page(request, {"reason": translate(request, _("Say why the account is locked."))})
    try:
        accounts.lock(request.site, request.actor, request.context, reason)
    except ServiceError as exc:
        request.response.status = exc.status
        return _user_page(request, {"reason": refused(request, exc)})
    return _done(request, _("The account is locked and its sessions have ended."))


@view_config(route_name="manage_user_unlock", context=User, permission=sec.MANAGE_UNIT, request_method="POST")
def user_unlock(request):
    try:
        accounts.unlock(request.site, request.actor, request.context)
    except ServiceError as exc:  # a compromised account reopens only by a password reset
        request.session.flash(refused(request, exc))
        return HTTPSeeOther(request.route_url("manage_user", login=request.context.login))
    return _done(request, _("The account is unlocked."))


@view_config(
    route_name="manage_user_reset",
    context=User,
    renderer="manage_user.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def user_reset(request):
    """A new one-time password, shown on this answer only (never stored in clear, never re-shown)."""
    password = accounts.reset_password(request.site, request.actor, request.context)
    return _user_page(request, one_time_password=password)


@view_config(
    route_name="manage_user_roles",
    context=User,
    renderer="manage_user.pt",
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def user_roles(request):
    """Grant or revoke a role: unit roles on the user's unit; site roles only with MANAGE on the site."""
    user = request.context
    role = request.POST.get("role", "")
    if role in accounts.SITE_ROLES and not _can_manage_site(request):
        raise HTTPForbidden()
    unit_code = (request.POST.get("unit_code") or "").strip() or user.unit_code
    if role not in accounts.SITE_ROLES and unit_code != user.unit_code:
        unit = request.site["directory"].get(unit_code)
        if unit is not None and not request.has_permission(sec.MANAGE_UNIT, unit):
            raise HTTPForbidden()
    site, actor = request.site, request.actor
    try:
        if request.POST.get("op") == "revoke":
            accounts.revoke_role(site, actor, user, role, unit_code=unit_code)
            message = _("The role was revoked.")
        else:
            accounts.grant_role(site, actor, user, role, unit_code=unit_code)
            message = _("The role was granted.")
    except ServiceError as exc:
        request.response.status = exc.status
        return _user_page(request, {"roles": refused(request, exc)})
    return _done(request, message)


@view_config(
    route_name="manage_user_compromised", context=User, permission=sec.MANAGE_UNIT, request_method="POST"
)
def user_compromised(request):
    """R8.2 by an admin: the same as when the holder reports it."""
    if request.POST.get("confirm") != "1":
        return _done(request, _("Tick the box to confirm that the password is compromised."))
    try:
        accounts.report_compromised(
            request.site, request.actor, request.context, note=(request.POST.get("note") or "").strip()[:1000]
        )
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
        return HTTPSeeOther(request.route_url("manage_user", login=request.context.login))
    return _done(request, _("The account is locked, its sessions have ended and an incident was recorded."))


@view_config(
    route_name="manage_user_delegation_revoke",
    context=User,
    permission=sec.MANAGE_UNIT,
    request_method="POST",
)
def user_delegation_revoke(request):
    """An admin ends a delegation the user gave or received."""
    user = request.context
    site = request.site
    d = delegations.get(site, request.POST.get("delegation", ""))
    if user.login not in (d.delegator, d.delegate):
        raise HTTPNotFound()
    try:
        delegations.revoke(site, request.actor, d, by_admin=True)
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
        return HTTPSeeOther(request.route_url("manage_user", login=user.login))
    return _done(request, _("The delegation was revoked."))


def includeme(config):
    config.add_route("manage_users", "/manage/users", factory=users_factory)
    config.add_route("manage_user", "/manage/users/{login}", factory=user_factory)
    for action in ("edit", "lock", "unlock", "reset", "roles", "compromised"):
        config.add_route(f"manage_user_{action}", f"/manage/users/{{login}}/{action}", factory=user_factory)
    config.add_route(
        "manage_user_delegation_revoke", "/manage/users/{login}/delegations/revoke", factory=user_factory
    )


def _unit_choices(request):
    """(code, name) of the units a person may work in: this hub's own, never the national directory."""
    return [(u.code, u.name) for u in hub_units(request)]
