"""/api/v1/organizations: the directory of units (R10.3, R11)."""

from .. import permissions as sec
from ..factories import site_factory, unit_factory
from ..i18n import _
from ..plugins import transport_adapters
from ..resources import directory as d
from ..services import directory
from .common import NULLABLE_STRING, PAGING
from .json import BadRequest, respond
from .openapi import Operation, Param, add_api_route, add_schema, refuse

POLICIES_SCHEMA = {
    "type": "object",
    "properties": {
        "deadline_days": {
            "type": "integer",
            "minimum": 1,
            "maximum": 365,
            "description": "Processing deadline in working days.",
        },
        "must_sign": {"type": "boolean", "description": "Outgoing documents must carry a digital signature."},
        "issuers": {
            "type": "array",
            "items": {"type": "string", "enum": list(directory.ISSUER_ROLES)},
            "description": "Roles that may issue an outgoing document.",
        },
        "approval": {
            "type": "boolean",
            "description": "A leader approves a draft before the clerk issues it.",
        },
    },
    "additionalProperties": False,
}

_FIELD_SCHEMAS = {
    "code": {"type": "string", "maxLength": 20, "description": "QCVN 102 identifier code ddd.dd.dd.Xdd."},
    "name": {"type": "string", "maxLength": 300},
    "short_name": {"type": "string", "maxLength": 100},
    "kind": {"type": "string", "enum": list(d.KINDS)},
    "parent_code": {"type": ["string", "null"], "maxLength": 20},
    "email": {"type": "string", "maxLength": 200},
    "phone": {"type": "string", "maxLength": 40},
    "address": {"type": "string", "maxLength": 500},
    "eoffice_product": {"type": "string", "maxLength": 200},
    "adapter": {
        "type": "string",
        "maxLength": 100,
        "description": "The name of a transport plugin; empty: this hub's own mailbox.",
    },
    "adapter_settings": {
        "type": "object",
        "additionalProperties": {"type": ["string", "integer", "boolean"]},
    },
    "policies": POLICIES_SCHEMA,
}

CREATE_BODY = {
    "type": "object",
    "properties": dict(_FIELD_SCHEMAS),
    "required": ["code", "name"],
    "additionalProperties": False,
}

PATCH_BODY = {
    "type": "object",
    "properties": {
        **{k: v for k, v in _FIELD_SCHEMAS.items() if k != "code"},
        "connection_state": {"type": "string", "enum": list(d.CONNECTION_STATES)},
    },
    "additionalProperties": False,
}

#: what a unit's own admin may change; everything else needs the system administrator
UNIT_ADMIN_FIELDS = ("email", "phone", "address", "policies")

CONNECTION_BODY = {
    "type": "object",
    "properties": {
        "state": {"type": "string", "enum": list(d.CONNECTION_STATES)},
        "date": {"type": "string", "format": "date", "description": "When it took effect; today by default."},
        "note": {"type": "string", "maxLength": 1000},
    },
    "required": ["state"],
    "additionalProperties": False,
}

REORGANIZE_ACTIONS = {
    # action -> (fields it takes, fields it needs)
    "rename": (("name", "short_name"), ("name",)),
    "merge": (("successor", "codes"), ("successor",)),
    "split": (("successors",), ("successors",)),
    "dissolve": (("successor",), ()),
}

REORGANIZE_BODY = {
    "type": "object",
    "description": (
        "rename {name, short_name}; merge {successor, codes}: this unit (and the units in "
        "`codes`) merge into `successor`; split {successors}: documents go to the first; "
        "dissolve {successor?}."
    ),
    "properties": {
        "action": {"type": "string", "enum": list(REORGANIZE_ACTIONS)},
        "name": {"type": "string", "maxLength": 300},
        "short_name": {"type": "string", "maxLength": 100},
        "successor": {"type": "string", "maxLength": 20},
        "successors": {"type": "array", "items": {"type": "string", "maxLength": 20}},
        "codes": {"type": "array", "items": {"type": "string", "maxLength": 20}},
    },
    "required": ["action"],
    "additionalProperties": False,
}

_OUT = {
    **{k: v for k, v in _FIELD_SCHEMAS.items() if k not in ("adapter_settings", "policies", "parent_code")},
    "parent_code": NULLABLE_STRING,
    "connection_state": {"type": "string", "enum": list(d.CONNECTION_STATES)},
    "pilot_start": NULLABLE_STRING,
    "pilot_end": NULLABLE_STRING,
    "status": {"type": "string", "enum": list(d.STATUSES)},
    "successors": {"type": "array", "items": {"type": "string"}},
    "predecessors": {"type": "array", "items": {"type": "string"}},
    "former_names": {"type": "array", "items": {"type": "string"}},
    "policies": {"type": "object", "description": "Only for those who manage the unit."},
    "adapter_settings": {"type": "object", "description": "Only for those who manage the unit."},
    "connection_history": {
        "type": "array",
        "items": {"type": "object"},
        "description": "Only for those who manage the unit.",
    },
}
ORGANIZATION = add_schema(
    "Organization",
    {
        "type": "object",
        "properties": _OUT,
        "required": ["code", "name", "kind", "connection_state", "status"],
    },
)
ORGANIZATION_LIST = add_schema(
    "OrganizationList",
    {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "items": {"type": "array", "items": ORGANIZATION},
        },
        "required": ["total", "limit", "offset", "items"],
    },
)


def _out(request, unit):
    data = directory.as_dict(unit, public=not request.has_permission(sec.MANAGE_UNIT, unit))
    if "adapter_settings" in data:  # secret settings (tokens, HMAC keys) are never shown back
        data["adapter_settings"] = directory.masked_settings(unit, transport_adapters(request.registry))
    return data


def _location(request, unit):
    return request.route_url("api.organization", code=unit.code)


def list_units(request, body, query):
    site = request.site
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    total, units = directory.find(
        site,
        query.get("q", ""),
        kind=query.get("kind"),
        state=query.get("state"),
        include_inactive=query.get("include_inactive", False),
        parent=query.get("parent"),
        offset=offset,
        limit=limit,
    )  # only the page's units are loaded and shown
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [directory.as_dict(u, public=True) for u in units],
    }


def create_unit(request, body, query):
    site = request.site
    unit = directory.add_unit(site, request.actor, body, known_adapters=transport_adapters(request.registry))
    return respond(_out(request, unit), status=201, location=_location(request, unit))


def get_unit(request, body, query):
    return _out(request, request.context)


def patch_unit(request, body, query):
    unit = request.context
    site = request.site
    if not request.has_permission(sec.MANAGE, site):
        for name in body:
            if name not in UNIT_ADMIN_FIELDS:
                refuse(
                    request,
                    _("Only the system administrator may change ${name}."),
                    field=name,
                    permission=sec.MANAGE,
                    name=name,
                )
    actor = request.actor
    changes = {k: v for k, v in body.items() if k != "connection_state"}
    directory.update_unit(site, actor, unit, changes, known_adapters=transport_adapters(request.registry))
    state = body.get("connection_state")
    if state and state != unit.connection_state:
        directory.set_connection_state(site, actor, unit, state, on=request.env.today())
    return _out(request, unit)


def set_connection(request, body, query):
    unit = request.context
    directory.set_connection_state(
        request.site,
        request.actor,
        unit,
        body["state"],
        on=body.get("date") or request.env.today(),
        note=body.get("note", ""),
    )
    return _out(request, unit)


def reorganize(request, body, query):
    unit = request.context
    site = request.site
    actor = request.actor
    action = body["action"]
    takes, needs = REORGANIZE_ACTIONS[action]
    for name in body:
        if name != "action" and name not in takes:
            raise BadRequest(_("${name} is not a field of this request."), field=name, name=name)
    for name in needs:
        if not body.get(name):
            raise BadRequest(_("${name} is required."), field=name, name=name)
    if action == "rename":
        directory.rename(site, actor, unit, body["name"], body.get("short_name", ""))
    elif action == "merge":
        directory.merge(site, actor, [unit.code] + list(body.get("codes") or ()), body["successor"])
    elif action == "split":
        directory.split(site, actor, unit.code, body["successors"])
    else:
        directory.dissolve(site, actor, unit.code, body.get("successor") or None)
    return _out(request, unit)


LIST_QUERY = (
    Param(
        "q",
        {"type": "string", "maxLength": 200},
        "Words to find in names, codes and addresses, accents and case ignored.",
    ),
    Param("kind", {"type": "string", "enum": list(d.KINDS)}),
    Param("state", {"type": "string", "enum": list(d.CONNECTION_STATES)}, "Connection state."),
    Param("parent", {"type": "string", "maxLength": 20}, "Only the sub-units of this unit."),
    Param(
        "include_inactive", {"type": "boolean", "default": False}, "Also merged, split and dissolved units."
    ),
) + PAGING

TAGS = ("organizations",)


def includeme(config):
    add_api_route(
        config,
        "api.organizations",
        "/organizations",
        [
            Operation(
                "GET",
                list_units,
                sec.VIEW,
                "Find units in the directory.",
                query=LIST_QUERY,
                tags=TAGS,
                errors=(400,),
                responses={200: ("A page of units (public fields).", ORGANIZATION_LIST)},
            ),
            Operation(
                "POST",
                create_unit,
                sec.MANAGE,
                "Add a unit (system administrator).",
                body=CREATE_BODY,
                tags=TAGS,
                errors=(400, 403, 409),
                responses={201: ("The new unit.", ORGANIZATION)},
            ),
        ],
        factory=site_factory,
    )
    add_api_route(
        config,
        "api.organization",
        "/organizations/{code}",
        [
            Operation(
                "GET",
                get_unit,
                sec.VIEW,
                "A unit; policies, adapter settings and history only for its managers.",
                tags=TAGS,
                responses={200: ("The unit.", ORGANIZATION)},
            ),
            Operation(
                "PATCH",
                patch_unit,
                sec.MANAGE_UNIT,
                "Change a unit: its admin changes contact fields and policies, the system administrator "
                "anything.",
                body=PATCH_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The changed unit.", ORGANIZATION)},
            ),
        ],
        factory=unit_factory,
    )
    add_api_route(
        config,
        "api.organization.connection",
        "/organizations/{code}/connection",
        [
            Operation(
                "POST",
                set_connection,
                sec.MANAGE,
                "Move a unit along the connection roadmap (R11).",
                body=CONNECTION_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The unit with its new state.", ORGANIZATION)},
            ),
        ],
        factory=unit_factory,
    )
    add_api_route(
        config,
        "api.organization.reorganize",
        "/organizations/{code}/reorganize",
        [
            Operation(
                "POST",
                reorganize,
                sec.MANAGE,
                "Rename, merge, split or dissolve a unit.",
                body=REORGANIZE_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The unit after the change.", ORGANIZATION)},
            ),
        ],
        factory=unit_factory,
    )
