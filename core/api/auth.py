"""Logging in through the API (a bearer token for a person) and "who am I"."""

from pyramid.security import NO_PERMISSION_REQUIRED

from .. import permissions as sec
from ..app_objects import app_objects
from ..factories import site_factory
from ..i18n import _, translate, translate_message
from ..problems import problem
from ..resources.tokens import LOGIN
from ..security import current_delegation, presented_token
from ..services import accounts, delegations, tokens
from ..services.audit import Actor
from .common import DELEGATION_SCHEMA, GRANT_SCHEMA, NULLABLE_STRING, delegation_dict, is_person
from .json import no_content, respond
from .openapi import Operation, add_api_route, add_schema

DEFAULT_TTL = 8 * 3600  # seconds a login token lasts unless lienthong.api.token_ttl says otherwise


def token_ttl(settings):
    try:
        ttl = int(settings.get("lienthong.api.token_ttl", DEFAULT_TTL))
    except (TypeError, ValueError):
        ttl = DEFAULT_TTL
    return ttl if ttl > 0 else DEFAULT_TTL


LOGIN_BODY = {
    "type": "object",
    "properties": {
        "login": {"type": "string", "maxLength": 64},
        "password": {"type": "string", "maxLength": 1024},
    },
    "required": ["login", "password"],
    "additionalProperties": False,
}

LOGIN_TOKEN = add_schema(
    "LoginToken",
    {
        "type": "object",
        "properties": {
            "token": {"type": "string", "description": "The bearer secret; shown only in this answer."},
            "expires": {"type": "string", "description": "ISO 8601 time (UTC) when it stops working."},
            "login": {"type": "string"},
        },
        "required": ["token", "expires", "login"],
    },
)


def create_token(request, body, query):
    site = request.site
    settings = request.registry.settings
    try:
        user = accounts.authenticate(
            site,
            body["login"],
            body["password"],
            client=request.client_address,
            lockout=accounts.LockoutPolicy.from_settings(settings),
            via="api",
            throttle=app_objects(request.registry).login_throttle,
        )
    except accounts.LoginThrottled as exc:  # refused before any check: nothing to commit
        response = problem(
            request,
            429,
            translate(request, _("Too many requests")),
            translate_message(request.localizer, exc.message),
            retry_after=exc.retry_after,
        )
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    # answered, not raised: the failed attempt and the lock-out counter must be committed
    if user is None:
        return problem(
            request,
            401,
            translate(request, _("Authentication required")),
            translate(request, _("The login or password is incorrect.")),
        )
    if user.must_change_password:
        return problem(
            request,
            403,
            translate(request, _("Access denied")),
            translate(request, _("You must change your password on the web site before using the API.")),
            field="password",
        )
    token, secret = tokens.create(
        site,
        Actor(login=user.login, client=request.client_address),
        user.unit_code,
        "API login",
        kind=LOGIN,
        login=user.login,
        ttl=token_ttl(settings),
        epoch=user.session_epoch,
    )
    return respond({"token": secret, "expires": token.expires, "login": user.login}, status=201)


def delete_token(request, body, query):
    token = presented_token(request)
    tokens.revoke(request.site, request.actor, token.token_id)
    return no_content()


ME_SCHEMA = add_schema(
    "Me",
    {
        "type": "object",
        "properties": {
            "kind": {"type": "string", "enum": ["user", "system"]},
            "login": {"type": "string"},
            "fullname": {"type": "string"},
            "unit_code": NULLABLE_STRING,
            "position": {"type": "string"},
            "email": {"type": "string"},
            "grants": {"type": "array", "items": GRANT_SCHEMA},
            "roles": {"type": "array", "items": {"type": "string"}},
            "must_change_password": {"type": "boolean"},
            "acting_for": {"oneOf": [{"type": "null"}, DELEGATION_SCHEMA]},
            "delegations_usable": {"type": "array", "items": DELEGATION_SCHEMA},
        },
        "required": ["kind", "login"],
    },
)


def me(request, body, query):
    identity = request.identity
    if not is_person(identity):
        return {
            "kind": "system",
            "login": identity.login,
            "fullname": identity.fullname,
            "unit_code": identity.unit_code,
            "roles": [sec.SYSTEM],
            "grants": [],
            "acting_for": None,
        }
    site = request.site
    today_iso = request.env.today().isoformat()
    grants = accounts.role_grants(site, identity)
    delegation = current_delegation(request)
    return {
        "kind": "user",
        "login": identity.login,
        "fullname": identity.fullname,
        "unit_code": identity.unit_code,
        "position": identity.position or "",
        "email": identity.email or "",
        "grants": [{"unit_code": code, "role": role} for code, role in grants],
        "roles": sorted({role for _code, role in grants}),
        "must_change_password": bool(identity.must_change_password),
        "acting_for": delegation_dict(delegation, today_iso) if delegation is not None else None,
        "delegations_usable": [
            delegation_dict(d, today_iso) for d in delegations.usable_by(site, identity.login, today_iso)
        ],
    }


def includeme(config):
    add_api_route(
        config,
        "api.auth.token",
        "/auth/token",
        [
            Operation(
                "POST",
                create_token,
                NO_PERMISSION_REQUIRED,
                "Log in: a person's login and password give a bearer token.",
                body=LOGIN_BODY,
                auth=False,
                tags=("auth",),
                errors=(400, 401, 403, 429),
                description=(
                    "Wrong credentials and unknown logins get the same 401; an account that must "
                    "change its password first gets 403. An address that keeps failing for a "
                    "login gets 429 with `Retry-After` (growing delays, then the lock-out of "
                    "`lienthong.lockout.*`); the password is then not checked. The token lasts "
                    "`lienthong.api.token_ttl` seconds (8 hours)."
                ),
                responses={201: ("The token, shown once.", LOGIN_TOKEN)},
            ),
            Operation(
                "DELETE",
                delete_token,
                sec.VIEW,
                "Log out: revoke the token presented with this request.",
                tags=("auth",),
                errors=(),
                responses={204: ("Revoked.", None)},
            ),
        ],
        factory=site_factory,
    )
    add_api_route(
        config,
        "api.me",
        "/me",
        [
            Operation(
                "GET",
                me,
                sec.VIEW,
                "Who the token speaks for, their roles and the delegation acted under.",
                tags=("auth",),
                errors=(403,),
                responses={200: ("The caller.", ME_SCHEMA)},
            ),
        ],
        factory=site_factory,
    )
