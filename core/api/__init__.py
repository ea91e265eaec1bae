"""The JSON API under /api/v1 and its OpenAPI document (/api/v1/openapi.json).

Each module adds its routes with ``openapi.add_api_route``, which also documents them.
Callers authenticate with a bearer token (``POST /api/v1/auth/token`` or a unit's system
token); errors are problem+json (``core/views/errors.py``).
"""

MODULES = (
    "openapi",
    "auth",
    "organizations",
    "users",
    "delegations",
    "tokens",
    "documents",
    "mailboxes",
    "notices",
    "edxml_v1",
)


def includeme(config):
    for module in MODULES:
        config.include(f".{module}")
