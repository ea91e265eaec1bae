"""/api/v1/delegations (R6.2): lend a mailbox, a role or named permissions for a period."""

from .. import permissions as sec
from ..factories import self_factory
from ..i18n import _
from ..resources.delegations import SCOPES
from ..services import delegations
from .common import DELEGATION_SCHEMA, delegation_dict, is_person
from .json import BadRequest, respond
from .openapi import Operation, add_api_route, add_schema, refuse

CREATE_BODY = {
    "type": "object",
    "properties": {
        "delegate": {
            "type": "string",
            "maxLength": 64,
            "description": "Login of who acts for the delegator.",
        },
        "delegator": {
            "type": "string",
            "maxLength": 64,
            "description": "Only for the system administrator: whose rights are lent (default: the caller).",
        },
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date", "description": "Last day it applies (inclusive)."},
        "scope": {"type": "string", "enum": list(SCOPES)},
        "unit_code": {"type": ["string", "null"], "maxLength": 20},
        "role": {"type": ["string", "null"], "enum": [r for r in sec.ROLES] + [None]},
        "permissions": {"type": "array", "items": {"type": "string", "enum": list(sec.DELEGABLE)}},
        "note": {"type": "string", "maxLength": 500},
    },
    "required": ["delegate", "start", "end", "scope"],
    "additionalProperties": False,
}

DELEGATION_LISTS = add_schema(
    "DelegationLists",
    {
        "type": "object",
        "properties": {
            "given": {"type": "array", "items": DELEGATION_SCHEMA},
            "received": {"type": "array", "items": DELEGATION_SCHEMA},
        },
        "required": ["given", "received"],
    },
)


def _person(request):
    identity = request.identity
    if not is_person(identity):
        refuse(
            request,
            _("Only a person can delegate or be delegated to."),
            field="delegator",
            permission=sec.EDIT_SELF,
        )
    return identity


def create(request, body, query):
    site = request.site
    me = _person(request)
    delegator = me
    wanted = (body.get("delegator") or "").strip().lower()
    if wanted and wanted != me.login:
        if not request.has_permission(sec.MANAGE, site):
            refuse(
                request,
                _("Only the system administrator may delegate for someone else."),
                field="delegator",
                permission=sec.MANAGE,
            )
        delegator = site["users"].get(wanted)
        if delegator is None:
            raise BadRequest(_("Unknown user ${login}."), field="delegator", login=wanted)
    elif not request.has_permission(sec.EDIT_SELF, me):
        refuse(request, _("You may not delegate."), field="delegator", permission=sec.EDIT_SELF)
    d = delegations.create(
        site,
        request.actor,
        delegator,
        body["delegate"],
        body["start"],
        body["end"],
        body["scope"],
        unit_code=body.get("unit_code") or None,
        role=body.get("role"),
        permissions=body.get("permissions") or (),
        note=body.get("note", ""),
        today=request.env.today(),
    )
    return respond(
        delegation_dict(d, request.env.today().isoformat()),
        status=201,
        location=request.route_url("api.delegation", delegation_id=d.delegation_id),
    )


def mine(request, body, query):
    site = request.site
    me = _person(request)
    today_iso = request.env.today().isoformat()
    container = site["delegations"]

    def listed(found):
        return [delegation_dict(d, today_iso) for d in sorted(found, key=lambda d: d.start, reverse=True)]

    return {
        "given": listed(container.given_by(me.login)),
        "received": listed(container.received_by(me.login)),
    }


def revoke(request, body, query):
    site = request.site
    me = _person(request)
    d = delegations.get(site, request.matchdict["delegation_id"])
    by_admin = bool(request.has_permission(sec.MANAGE, site))
    if d.delegator != me.login and not by_admin:
        refuse(
            request,
            _("Only the person who delegated can revoke it."),
            field="delegation",
            permission=sec.MANAGE,
        )
    delegations.revoke(site, request.actor, d, by_admin=by_admin)
    return delegation_dict(d, request.env.today().isoformat())


TAGS = ("delegations",)


def includeme(config):
    add_api_route(
        config,
        "api.delegations",
        "/delegations",
        [
            Operation(
                "POST",
                create,
                sec.EDIT_SELF,
                "Delegate to someone for a period and a scope.",
                body=CREATE_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={201: ("The delegation.", DELEGATION_SCHEMA)},
            ),
            Operation(
                "GET",
                mine,
                sec.EDIT_SELF,
                "The delegations the caller gave and received.",
                tags=TAGS,
                errors=(403,),
                responses={200: ("Given and received, newest first.", DELEGATION_LISTS)},
            ),
        ],
        factory=self_factory,
    )
    add_api_route(
        config,
        "api.delegation",
        "/delegations/{delegation_id}",
        [
            Operation(
                "DELETE",
                revoke,
                sec.EDIT_SELF,
                "Revoke a delegation: it stops at once.",
                tags=TAGS,
                errors=(403, 404, 409),
                responses={200: ("The revoked delegation.", DELEGATION_SCHEMA)},
            ),
        ],
        factory=self_factory,
    )
