"""What the API modules share: paging and plain-data views of users, tokens and delegations."""

from .. import permissions as sec
from ..security import SystemIdentity
from ..services import accounts
from .openapi import Param, add_schema

NULLABLE_STRING = {"type": ["string", "null"]}

PAGING = (
    Param(
        "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "At most this many items."
    ),
    Param(
        "offset",
        {"type": "integer", "minimum": 0, "maximum": 10_000_000, "default": 0},
        "Skip this many items.",
    ),
)


def page_of(items, query):
    """``{total, limit, offset, items}`` for a list of plain data."""
    limit, offset = query.get("limit", 50), query.get("offset", 0)
    return {"total": len(items), "limit": limit, "offset": offset, "items": items[offset : offset + limit]}


def is_person(identity):
    return identity is not None and not isinstance(identity, SystemIdentity)


GRANT_SCHEMA = add_schema(
    "RoleGrant",
    {
        "type": "object",
        "properties": {"unit_code": NULLABLE_STRING, "role": {"type": "string", "enum": list(sec.ROLES)}},
        "required": ["role"],
    },
)

USER_SCHEMA = add_schema(
    "User",
    {
        "type": "object",
        "properties": {
            "login": {"type": "string"},
            "fullname": {"type": "string"},
            "unit_code": NULLABLE_STRING,
            "position": {"type": "string"},
            "email": {"type": "string"},
            "roles": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Roles on the user's own unit and site-wide.",
            },
            "grants": {
                "type": "array",
                "items": GRANT_SCHEMA,
                "description": "Every role with where it holds (unit_code null: site-wide).",
            },
            "locked": {"type": "boolean"},
            "lock_reason": {"type": "string"},
            "must_change_password": {"type": "boolean"},
        },
        "required": ["login", "fullname", "roles", "locked"],
    },
)


def user_dict(site, user):
    """A user as plain data. Never the password hash."""
    grants = accounts.role_grants(site, user)
    return {
        "login": user.login,
        "fullname": user.fullname,
        "unit_code": user.unit_code,
        "position": user.position or "",
        "email": user.email or "",
        "roles": sorted({role for code, role in grants if code in (None, user.unit_code)}),
        "grants": [{"unit_code": code, "role": role} for code, role in grants],
        "locked": bool(user.locked),
        "lock_reason": user.lock_reason or "",
        "must_change_password": bool(user.must_change_password),
    }


TOKEN_SCHEMA = add_schema(
    "Token",
    {
        "type": "object",
        "description": "A unit's API token; its secret is never shown again after it is made.",
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": ["system", "login"]},
            "unit_code": NULLABLE_STRING,
            "label": {"type": "string"},
            "created": {"type": "string"},
            "created_by": {"type": "string"},
            "last_used": NULLABLE_STRING,
            "expires": NULLABLE_STRING,
            "revoked": NULLABLE_STRING,
        },
        "required": ["id", "kind", "label", "created"],
    },
)


def token_dict(token):
    return {
        "id": token.token_id,
        "kind": token.kind,
        "unit_code": token.unit_code,
        "label": token.label,
        "created": token.created,
        "created_by": token.created_by,
        "last_used": token.last_used,
        "expires": token.expires,
        "revoked": token.revoked,
    }


DELEGATION_SCHEMA = add_schema(
    "Delegation",
    {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "delegator": {"type": "string"},
            "delegate": {"type": "string"},
            "start": {"type": "string", "format": "date"},
            "end": {"type": "string", "format": "date"},
            "scope": {"type": "string", "enum": ["mailbox", "role", "permissions"]},
            "unit_code": NULLABLE_STRING,
            "role": NULLABLE_STRING,
            "permissions": {"type": "array", "items": {"type": "string"}},
            "note": {"type": "string"},
            "state": {"type": "string", "enum": ["scheduled", "active", "expired", "revoked"]},
            "created": NULLABLE_STRING,
            "created_by": NULLABLE_STRING,
            "revoked": NULLABLE_STRING,
        },
        "required": ["id", "delegator", "delegate", "start", "end", "scope", "state"],
    },
)


def delegation_dict(d, today_iso):
    return {
        "id": d.delegation_id,
        "delegator": d.delegator,
        "delegate": d.delegate,
        "start": d.start,
        "end": d.end,
        "scope": d.scope,
        "unit_code": d.unit_code,
        "role": d.role,
        "permissions": list(d.permissions),
        "note": d.note or "",
        "state": d.state(today_iso),
        "created": d.created,
        "created_by": d.created_by,
        "revoked": d.revoked,
    }
