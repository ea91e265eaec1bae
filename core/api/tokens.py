"""API tokens of a unit (its eOffice product, scripts): made by the unit's admin, shown once, revocable."""

from pyramid.httpexceptions import HTTPNotFound

from .. import permissions as sec
from ..factories import unit_factory
from ..resources.tokens import SYSTEM
from ..services import tokens
from .common import TOKEN_SCHEMA, token_dict
from .json import no_content, respond
from .openapi import Operation, add_api_route, add_schema

CREATE_BODY = {
    "type": "object",
    "properties": {
        "label": {
            "type": "string",
            "maxLength": 200,
            "description": "What uses the token, e.g. the eOffice product's name.",
        }
    },
    "required": ["label"],
    "additionalProperties": False,
}

NEW_TOKEN = add_schema(
    "NewToken",
    {
        "allOf": [
            TOKEN_SCHEMA,
            {
                "type": "object",
                "properties": {
                    "token": {
                        "type": "string",
                        "description": "The bearer secret: shown in this answer only.",
                    }
                },
                "required": ["token"],
            },
        ],
    },
)
TOKEN_LIST = add_schema(
    "TokenList",
    {
        "type": "object",
        "properties": {"items": {"type": "array", "items": TOKEN_SCHEMA}},
        "required": ["items"],
    },
)


def create(request, body, query):
    unit = request.context
    token, secret = tokens.create(request.site, request.actor, unit.code, body["label"])
    return respond({**token_dict(token), "token": secret}, status=201)


def list_tokens(request, body, query):
    return {"items": [token_dict(t) for t in tokens.of_unit(request.site, request.context.code)]}


def token_factory(request):
    """The resource whose managers may revoke the token: its unit (system tokens) or its user (logins)."""
    site = request.site
    token = site["tokens"].get(request.matchdict.get("token_id", ""))
    if token is None:
        raise HTTPNotFound()
    if token.kind == SYSTEM:
        context = site["directory"].get(token.unit_code or "")
    else:
        context = site["users"].get(token.login or "")
    return context if context is not None else site


def revoke(request, body, query):
    tokens.revoke(request.site, request.actor, request.matchdict["token_id"])
    return no_content()


TAGS = ("tokens",)


def includeme(config):
    add_api_route(
        config,
        "api.organization.tokens",
        "/organizations/{code}/tokens",
        [
            Operation(
                "POST",
                create,
                sec.MANAGE_UNIT,
                "Make an API token for the unit (shown once).",
                body=CREATE_BODY,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={201: ("The token with its secret.", NEW_TOKEN)},
            ),
            Operation(
                "GET",
                list_tokens,
                sec.MANAGE_UNIT,
                "The unit's tokens, without secrets.",
                tags=TAGS,
                errors=(403, 404),
                responses={200: ("The tokens, newest first.", TOKEN_LIST)},
            ),
        ],
        factory=unit_factory,
    )
    add_api_route(
        config,
        "api.token",
        "/tokens/{token_id}",
        [
            Operation(
                "DELETE",
                revoke,
                sec.MANAGE_UNIT,
                "Revoke a token: it stops working at once.",
                tags=TAGS,
                errors=(403, 404),
                responses={204: ("Revoked.", None)},
            ),
        ],
        factory=token_factory,
    )
