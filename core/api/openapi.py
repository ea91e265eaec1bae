"""Routes of the JSON API and the OpenAPI document made from them.

Every API route is added with ``add_api_route``: it registers the Pyramid route, one view
per operation (with its permission), a 405 answer for the other methods, and the
operation's description in ``app_objects(registry).api_routes``. ``GET /api/v1/openapi.json`` is
built from that list, so an API route cannot exist without being documented.
"""

import re
from dataclasses import dataclass, field

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED

from ..app_objects import app_objects
from ..errors import Forbidden
from ..i18n import _
from ..problems import problem, record_refused_access, status_texts
from ..security import ACTING_FOR_HEADER, current_delegation
from .json import check_object, read_body, read_query, respond

PREFIX = "/api/v1"
OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
PROBLEM_TYPE = "application/problem+json"


@dataclass
class Param:
    """A query parameter: its name, JSON Schema and description."""

    name: str
    schema: dict
    description: str = ""


@dataclass
class Operation:
    """One method on one route: the view, who may call it and what goes in and out.

    ``view(request, body, query)`` returns a Response or plain data (answered with 200).
    """

    method: str
    view: object
    permission: object
    summary: str
    body: dict | None = None  # JSON Schema of the request body (None: no body)
    body_required: bool = True
    media: dict = field(default_factory=dict)  # request media types besides JSON -> their schema
    raw_body: bool = False  # the view reads (and limits) the body itself; ``body`` only documents it
    query: tuple = ()
    responses: dict = field(default_factory=dict)  # status -> (description, schema or None[, media type])
    errors: tuple = (400, 401, 403, 404)
    auth: bool = True
    tags: tuple = ()
    description: str = ""


@dataclass
class ApiRoute:
    name: str
    pattern: str  # the full path, e.g. /api/v1/organizations/{code}
    operations: list


def api_routes(registry, api="api"):
    """The routes of one API (``api``: "api" for /api/v1, "edxml" for /edxml/v1…)."""
    return app_objects(registry).api_routes.get(api, [])


# -- the call of one operation --------------------------------------------------------------
def refuse(request, message, field=None, permission=None, **mapping):
    """Refuse a request the view's own checks forbid: 403 problem naming ``field``, and on the record.

    The refusal is audited in a transaction of its own (the request's is aborted).
    """
    record_refused_access(request, permission=permission, field=field)
    refusal = Forbidden(message, field=field, **mapping)
    refusal.recorded = True
    raise refusal


def _acting_for_in_force(request):
    """A client that names a delegation must be acting under one that is still current (R6.2)."""
    wanted = request.headers.get(ACTING_FOR_HEADER)
    if wanted and request.identity is not None and current_delegation(request) is None:
        refuse(
            request,
            _("The delegation ${id} is not in force: it is unknown, not yours, expired or revoked."),
            field=ACTING_FOR_HEADER,
            id=wanted[:64],
        )


def _operation_view(op):
    def view(context, request):
        if op.auth:
            _acting_for_in_force(request)
        body = None
        if op.body is not None and not op.raw_body:
            body = check_object(read_body(request, required=op.body_required), op.body)
        query = read_query(request, op.query)
        result = op.view(request, body, query)
        if isinstance(result, Response):
            return result
        return respond(result)

    view.__name__ = getattr(op.view, "__name__", "api_view")
    view.__doc__ = op.summary
    return view


def _method_not_allowed(allowed):
    def view(context, request):
        response = problem(request, 405, *status_texts(request, 405))
        response.headers["Allow"] = ", ".join(allowed)
        return response

    view.__name__ = "api_method_not_allowed"
    view.lienthong_method_not_allowed = True  # lets route-list tests tell it from a real operation
    return view


def add_api_route(config, name, path, operations, factory=None, prefix=PREFIX, api="api"):
    """Add ``prefix + path`` with its operations (views, permissions, schemas) and document it in
    the OpenAPI document of ``api``."""
    pattern = prefix + path
    config.add_route(name, pattern, factory=factory)
    methods = []
    for op in operations:
        config.add_view(
            _operation_view(op),
            route_name=name,
            request_method=op.method,
            permission=op.permission,
            require_csrf=False,
        )
        methods.append(op.method)
    allowed = list(methods) + (["HEAD"] if "GET" in methods else [])
    # no predicate: Pyramid tries it after the views above, for every other method
    config.add_view(
        _method_not_allowed(allowed), route_name=name, permission=NO_PERMISSION_REQUIRED, require_csrf=False
    )
    routes = app_objects(config.registry).api_routes.setdefault(api, [])
    routes.append(ApiRoute(name, pattern, list(operations)))


# -- the document ---------------------------------------------------------------------------
def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details; `field` names the request field at fault.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "field": {"type": "string"},
        "retry_after": {"type": "integer", "description": "With 429: the seconds of `Retry-After`."},
    },
    "required": ["type", "title", "status", "detail"],
}

ERROR_RESPONSES = {
    400: ("BadRequest", "The body or a field is malformed or refused; `field` names it."),
    401: ("Unauthorized", "No valid bearer token (missing, unknown, expired or revoked)."),
    403: ("Forbidden", "The token's holder may not do this (refusals are audited)."),
    404: ("NotFound", "No such resource."),
    405: ("MethodNotAllowed", "The path does not accept this method."),
    409: ("Conflict", "The resource's state forbids the change (a duplicate, an illegal move)."),
    410: ("Gone", "No longer available: a package that cannot be built as edXML left the pending list."),
    413: ("TooLarge", "The body, or a file in it, is larger than the limits allow."),
    415: ("UnsupportedMediaType", "The body's Content-Type is not one this operation accepts."),
    429: (
        "TooManyRequests",
        "Too many failed attempts: wait the seconds of `Retry-After` (also `retry_after`).",
    ),
}

#: named schemas of the answers; the modules that use them add theirs (see ``add_schema``)
SCHEMAS = {"Problem": PROBLEM_SCHEMA}


def add_schema(name, schema):
    SCHEMAS[name] = schema
    return ref(name)


_PATH_PARAM = re.compile(r"{(\w+)(?::[^}]*)?}")


def _operation(route, op):
    doc = {
        "operationId": f"{route.name}.{op.method.lower()}",
        "summary": op.summary,
        "tags": list(op.tags) or ["api"],
        "responses": {},
    }
    if op.description:
        doc["description"] = op.description
    params = [
        {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
        for n in _PATH_PARAM.findall(route.pattern)
    ]
    params += [
        {
            "name": p.name,
            "in": "query",
            "required": False,
            "schema": p.schema,
            **({"description": p.description} if p.description else {}),
        }
        for p in op.query
    ]
    if params:
        doc["parameters"] = params
    content = {"application/json": {"schema": op.body}} if op.body is not None else {}
    content.update({media: {"schema": schema} for media, schema in op.media.items()})
    if content:
        doc["requestBody"] = {"required": op.body_required, "content": content}
    for status, (description, schema, *media) in sorted(op.responses.items()):
        answer = {"description": description}
        if schema is not None:
            answer["content"] = {(media[0] if media else "application/json"): {"schema": schema}}
        doc["responses"][str(status)] = answer
    errors = set(op.errors) | {405}
    if op.body is not None and not op.raw_body:  # every JSON body: malformed, too deep, too large
        errors |= {400, 413}
    if op.auth:
        errors |= {401}
    for status in sorted(errors):
        doc["responses"][str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    if not op.auth:
        doc["security"] = []
    return doc


INFO = {
    "title": "LienThong API",
    "version": API_VERSION,
    "description": (
        "JSON API of the LienThong document-exchange hub: the directory of units, "
        "accounts, delegations, API tokens and the exchange of documents. Errors are "
        "RFC 9457 problem details (application/problem+json). Messages are in Vietnamese "
        "unless the request asks for English (`Accept-Language: en` or `?lang=en`). A "
        "delegate acts for the delegator by sending `X-Acting-For: <delegation id>`."
    ),
}
BEARER = "A token from POST /api/v1/auth/token (a person) or a unit's system token."


def document(registry, server_url="/", api="api", info=INFO, bearer=BEARER, schemas=None):
    """The OpenAPI document of every route added with ``add_api_route`` for ``api``."""
    paths = {}
    for route in api_routes(registry, api):
        item = paths.setdefault(_PATH_PARAM.sub(r"{\1}", route.pattern), {})
        for op in route.operations:
            item[op.method.lower()] = _operation(route, op)
    return {
        "openapi": OPENAPI_VERSION,
        "info": dict(info),
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": bearer}},
            "schemas": dict(SCHEMAS if schemas is None else schemas),
            "responses": {
                name: {"description": description, "content": {PROBLEM_TYPE: {"schema": ref("Problem")}}}
                for name, description in ERROR_RESPONSES.values()
            },
        },
    }


def openapi_view(request, body, query):
    return respond(document(request.registry, server_url=request.application_url or "/"))


def includeme(config):
    add_api_route(
        config,
        "api.openapi",
        "/openapi.json",
        [
            Operation(
                "GET",
                openapi_view,
                NO_PERMISSION_REQUIRED,
                "This document (OpenAPI 3.1).",
                auth=False,
                errors=(),
                tags=("meta",),
                responses={200: ("The OpenAPI document.", {"type": "object"})},
            ),
        ],
    )
