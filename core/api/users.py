"""/api/v1/users: accounts (R5.3, R8.2, R8.3). Password hashes never leave the server."""

from .. import permissions as sec
from ..factories import site_factory, user_factory
from ..i18n import _
from ..services import accounts, audit
from ..services.passwords import random_password
from ..text import matches
from .common import PAGING, USER_SCHEMA, page_of, user_dict
from .json import respond
from .openapi import Operation, Param, add_api_route, add_schema, refuse

ROLE_LIST = {"type": "array", "items": {"type": "string", "enum": list(sec.ROLES)}, "maxItems": 10}

CREATE_BODY = {
    "type": "object",
    "properties": {
        "login": {"type": "string", "maxLength": 64},
        "fullname": {"type": "string", "maxLength": 200},
        "unit_code": {"type": ["string", "null"], "maxLength": 20},
        "roles": ROLE_LIST,
        "position": {"type": "string", "maxLength": 200},
        "email": {"type": "string", "maxLength": 200},
        "password": {
            "type": "string",
            "maxLength": 1024,
            "description": "Omit it to have a random one-time password made and returned once.",
        },
        "must_change_password": {
            "type": "boolean",
            "default": True,
            "description": "Ask for a new password at the first login (default true).",
        },
    },
    "required": ["login", "fullname"],
    "additionalProperties": False,
}

PROFILE_FIELDS = ("fullname", "position", "email")
ADMIN_FIELDS = ("unit_code", "locked", "lock_reason", "roles")

PATCH_BODY = {
    "type": "object",
    "description": (
        "fullname, position and email: the user or an admin; unit_code, locked and roles: the "
        "admins of the user's unit or the system administrator. `roles` is the complete list "
        "of roles on the user's unit and site-wide."
    ),
    "properties": {
        "fullname": {"type": "string", "maxLength": 200},
        "position": {"type": "string", "maxLength": 200},
        "email": {"type": "string", "maxLength": 200},
        "unit_code": {"type": ["string", "null"], "maxLength": 20},
        "locked": {"type": "boolean"},
        "lock_reason": {"type": "string", "maxLength": 500},
        "roles": ROLE_LIST,
    },
    "additionalProperties": False,
}

COMPROMISED_BODY = {
    "type": "object",
    "properties": {"note": {"type": "string", "maxLength": 2000, "description": "What happened."}},
    "additionalProperties": False,
}

NEW_USER = add_schema(
    "NewUser",
    {
        "allOf": [
            USER_SCHEMA,
            {
                "type": "object",
                "properties": {
                    "password": {
                        "type": "string",
                        "description": "The one-time password, when one was made: shown once.",
                    }
                },
            },
        ],
    },
)
USER_LIST = add_schema(
    "UserList",
    {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "items": {"type": "array", "items": USER_SCHEMA},
        },
        "required": ["total", "limit", "offset", "items"],
    },
)
COMPROMISED = add_schema(
    "CompromisedReport",
    {
        "type": "object",
        "properties": {
            "login": {"type": "string"},
            "incident": {"type": "string"},
            "locked": {"type": "boolean"},
        },
        "required": ["login", "incident", "locked"],
    },
)


def _location(request, user):
    return request.route_url("api.user", login=user.login)


def list_users(request, body, query):
    """The system administrator sees everyone; a unit admin the people of the units they administer."""
    site = request.site
    everyone = bool(request.has_permission(sec.MANAGE, site))
    found = []
    for user in site["users"].values():
        if query.get("unit_code") and user.unit_code != query["unit_code"]:
            continue
        if query.get("q") and not matches(query["q"], user.login, user.fullname, user.email, user.position):
            continue
        if everyone or request.has_permission(sec.MANAGE_UNIT, user):
            found.append(user)
    return page_of([user_dict(site, u) for u in found], query)


def create_user(request, body, query):
    site = request.site
    roles = list(dict.fromkeys(body.get("roles") or ()))
    if not request.has_permission(sec.MANAGE, site):
        unit = site["directory"].get(body.get("unit_code") or "")
        if unit is None or not request.has_permission(sec.MANAGE_UNIT, unit):
            refuse(
                request,
                _("You may create accounts only in a unit you administer."),
                field="unit_code",
                permission=sec.MANAGE_UNIT,
            )
        for role in roles:
            if role in accounts.SITE_ROLES:
                refuse(
                    request,
                    _("Only the system administrator may grant the role ${role}."),
                    field="roles",
                    permission=sec.MANAGE,
                    role=role,
                )
    password = body.get("password")
    generated = None
    if not password:
        password = generated = random_password()
    user = accounts.add_user(
        site,
        request.actor,
        body["login"],
        body["fullname"],
        password,
        unit_code=body.get("unit_code") or None,
        roles=roles,
        position=body.get("position", ""),
        email=body.get("email", ""),
        must_change_password=True if generated else body.get("must_change_password", True),
    )
    data = user_dict(site, user)
    if generated:
        data["password"] = generated
    return respond(data, status=201, location=_location(request, user))


def get_user(request, body, query):
    """Someone else's account read through the API is on the record (one's own is not)."""
    site = request.site
    if request.identity is not request.context:
        audit.record(site, request.actor, "user.view", f"/users/{request.context.login}")
    return user_dict(site, request.context)


def _unit_roles(site, user, code):
    unit = site["directory"].get(code or "")
    return set(unit.local_roles_of(sec.user_principal(user.login))) if unit is not None else set()


def patch_user(request, body, query):
    site = request.site
    user = request.context
    principal = sec.user_principal(user.login)
    # -- who may change what: all checked before anything is written
    if any(name in body for name in PROFILE_FIELDS):
        if not (request.has_permission(sec.EDIT_SELF, user) or request.has_permission(sec.MANAGE_UNIT, user)):
            refuse(
                request,
                _("You may not change this account."),
                field=next(n for n in PROFILE_FIELDS if n in body),
                permission=sec.EDIT_SELF,
            )
    for name in ADMIN_FIELDS:
        if name in body and not request.has_permission(sec.MANAGE_UNIT, user):
            refuse(
                request,
                _("Only an administrator may change ${name}."),
                field=name,
                permission=sec.MANAGE_UNIT,
                name=name,
            )
    old_code = user.unit_code
    new_code = (body["unit_code"] or None) if "unit_code" in body else old_code
    if new_code != old_code and new_code is not None:
        target = site["directory"].get(new_code)
        if target is not None and not request.has_permission(sec.MANAGE_UNIT, target):
            refuse(
                request,
                _("You may move accounts only into a unit you administer."),
                field="unit_code",
                permission=sec.MANAGE_UNIT,
            )
    site_roles = set(site.local_roles_of(principal))
    unit_roles = _unit_roles(site, user, old_code)
    wanted = set(body["roles"]) if "roles" in body else site_roles | unit_roles
    wanted_site = {r for r in wanted if r in accounts.SITE_ROLES}
    wanted_unit = wanted - wanted_site
    if wanted_site != site_roles and not request.has_permission(sec.MANAGE, site):
        refuse(
            request,
            _("Only the system administrator may grant or remove site-wide roles."),
            field="roles",
            permission=sec.MANAGE,
        )
    actor = request.actor

    # -- the changes, each through the accounts service (which audits it)
    profile = {k: body[k] for k in PROFILE_FIELDS + ("unit_code",) if k in body}
    if profile:
        accounts.update_user(site, actor, user, **profile)
    for role in sorted(wanted_site - site_roles):
        accounts.grant_role(site, actor, user, role)
    for role in sorted(site_roles - wanted_site):
        accounts.revoke_role(site, actor, user, role)
    if user.unit_code != old_code:  # update_user moved the unit roles along
        unit_roles = _unit_roles(site, user, user.unit_code)
    for role in sorted(wanted_unit - unit_roles):
        accounts.grant_role(site, actor, user, role, unit_code=user.unit_code)
    for role in sorted(unit_roles - wanted_unit):
        accounts.revoke_role(site, actor, user, role, unit_code=user.unit_code)
    if "locked" in body:
        if body["locked"] and not user.locked:
            accounts.lock(site, actor, user, reason=body.get("lock_reason", ""))
        elif not body["locked"] and (user.locked or user.locked_until):
            accounts.unlock(site, actor, user)
    return user_dict(site, user)


def report_compromised(request, body, query):
    user = request.context
    if not (request.has_permission(sec.EDIT_SELF, user) or request.has_permission(sec.MANAGE_UNIT, user)):
        refuse(request, _("You may not report this account."), field="login", permission=sec.EDIT_SELF)
    incident = accounts.report_compromised(request.site, request.actor, user, note=body.get("note", ""))
    return {"login": user.login, "incident": incident, "locked": True}


USERS_QUERY = (
    Param("q", {"type": "string", "maxLength": 200}, "Words to find in login, name, e-mail, position."),
    Param("unit_code", {"type": "string", "maxLength": 20}, "Only the people of this unit."),
) + PAGING

TAGS = ("users",)


def includeme(config):
    add_api_route(
        config,
        "api.users",
        "/users",
        [
            Operation(
                "GET",
                list_users,
                sec.VIEW,
                "Accounts the caller administers (all for the system administrator).",
                query=USERS_QUERY,
                tags=TAGS,
                errors=(400,),
                responses={200: ("A page of accounts.", USER_LIST)},
            ),
            Operation(
                "POST",
                create_user,
                sec.VIEW,
                "Create an account (system administrator, or the admin of the unit for unit roles).",
                body=CREATE_BODY,
                tags=TAGS,
                errors=(400, 403, 409),
                responses={201: ("The new account; `password` when one was made.", NEW_USER)},
            ),
        ],
        factory=site_factory,
    )
    add_api_route(
        config,
        "api.user",
        "/users/{login}",
        [
            Operation(
                "GET",
                get_user,
                sec.VIEW,
                "An account: oneself, the unit's admins, the system administrator.",
                tags=TAGS,
                errors=(403, 404),
                responses={200: ("The account.", USER_SCHEMA)},
            ),
            Operation(
                "PATCH",
                patch_user,
                sec.VIEW,
                "Change an account's profile, unit, roles or lock.",
                body=PATCH_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The changed account.", USER_SCHEMA)},
            ),
        ],
        factory=user_factory,
    )
    add_api_route(
        config,
        "api.user.compromised",
        "/users/{login}/compromised",
        [
            Operation(
                "POST",
                report_compromised,
                sec.VIEW,
                "Report the password compromised: the account is locked, its sessions and tokens end, "
                "the unit's admins are alerted and an incident is opened (R8.2).",
                body=COMPROMISED_BODY,
                body_required=False,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={200: ("The incident opened.", COMPROMISED)},
            ),
        ],
        factory=user_factory,
    )
