"""JSON in and out for the API: reading and checking bodies and query strings, writing answers.

Bodies and query parameters are checked against the same JSON Schema fragments that the
OpenAPI document publishes, so what the document says is what the API enforces. A bad
body or field is a ``ServiceError`` naming the field: it becomes problem+json (400) in
``core/views/errors.py`` and the transaction is aborted.
"""

import json
from datetime import date

from pyramid.response import Response

from ..errors import ServiceError, TooLarge, xml_text
from ..filetypes import human_size
from ..i18n import _
from ..json_input import NotJson, read_json

JSON_TYPE = "application/json"


class BadRequest(ServiceError):
    status = 400


def respond(data, status=200, location=None):
    """A JSON answer in UTF-8 (Vietnamese names stay readable, not ``\\u`` escapes)."""
    response = Response(body=json.dumps(data, ensure_ascii=False).encode("utf-8"), status=status)
    # set whole: WebOb leaves the charset out for JSON types, some clients then guess wrong
    response.headers["Content-Type"] = f"{JSON_TYPE}; charset=utf-8"
    if location:
        response.location = location
    return response


def no_content():
    return Response(status=204)


# -- reading ------------------------------------------------------------------------------
#: the largest JSON body of a route that takes no files (the routes that do set their own)
MAX_JSON_BYTES = 1024 * 1024


def body_size(request, limit):
    """Refuse a body over ``limit`` bytes (413) before anything reads it."""
    length = request.content_length
    if length is None:
        length = len(request.body)
    if length > limit:
        raise TooLarge(
            _("The request body is ${size}, more than the limit of ${limit}."),
            field="body",
            size=human_size(length),
            limit=human_size(limit),
        )


def parse_json(raw, field="body"):
    """The JSON object in ``raw``, the one place the API parses JSON: nesting counted before it
    is parsed, every text checked after (``core/json_input.py``); 400 naming the field otherwise."""
    if not raw or not raw.strip():
        raise BadRequest(_("The request body is missing: send a JSON object."), field=field)
    try:
        data = read_json(raw, field=field)
    except NotJson:
        raise BadRequest(_("The request body is not valid JSON."), field=field) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."), field=field)
    return data


def read_body(request, required=True):
    """The request's JSON body as a dict, at most ``MAX_JSON_BYTES``; an absent body is ``{}``
    unless ``required``."""
    body_size(request, MAX_JSON_BYTES)
    raw = request.body
    if not raw or not raw.strip():
        if required:
            raise BadRequest(_("The request body is missing: send a JSON object."), field="body")
        return {}
    return parse_json(raw)


_TYPE_MESSAGES = {
    "string": _("${name} must be text."),
    "boolean": _("${name} must be true or false."),
    "integer": _("${name} must be a whole number."),
    "array": _("${name} must be a list."),
    "object": _("${name} must be an object with named values."),
}


def _is(value, kind):
    if kind == "null":
        return value is None
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "array":
        return isinstance(value, list)
    if kind == "object":
        return isinstance(value, dict)
    return True


def check(value, schema, name):
    """Check ``value`` against the subset of JSON Schema the API uses; raise ``BadRequest`` naming ``name``."""
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is(value, k) for k in kinds):
            main = next((k for k in kinds if k != "null"), "string")
            raise BadRequest(_TYPE_MESSAGES.get(main, _TYPE_MESSAGES["string"]), field=name, name=name)
    if value is None:
        return
    if "enum" in schema and value not in schema["enum"]:
        raise BadRequest(
            _("${value} is not allowed for ${name}: use one of ${choices}."),
            field=name,
            value=str(value),
            name=name,
            choices=", ".join(str(c) for c in schema["enum"] if c),
        )
    if isinstance(value, str):
        if schema.get("format") == "date" and value:
            try:
                date.fromisoformat(value)
            except ValueError:
                raise BadRequest(_("${value} is not a date (yyyy-mm-dd)."), field=name, value=value) from None
        # base64 content is bounded by the body size and the attachment policy, not here
        limit = schema.get("maxLength", None if schema.get("contentEncoding") == "base64" else 10_000)
        if limit is not None and len(value) > limit:
            raise BadRequest(_("${name} is too long."), field=name, name=name)
    if isinstance(value, int) and not isinstance(value, bool):
        if (
            "minimum" in schema
            and value < schema["minimum"]
            or "maximum" in schema
            and value > schema["maximum"]
        ):
            raise BadRequest(
                _("${name} must be between ${low} and ${high}."),
                field=name,
                name=name,
                low=schema.get("minimum", ""),
                high=schema.get("maximum", ""),
            )
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", 1000):
            raise BadRequest(_("${name} has too many items."), field=name, name=name)
        items = schema.get("items")
        if items:
            for item in value:
                check(item, items, name)
    if isinstance(value, dict) and ("properties" in schema or "additionalProperties" in schema):
        check_object(value, schema, prefix=f"{name}.")


def check_object(data, schema, prefix=""):
    """Check the members of an object: unknown names, missing required ones, each member's type."""
    properties = schema.get("properties", {})
    extra = schema.get("additionalProperties", True)
    for key, value in data.items():
        if key in properties:
            check(value, properties[key], prefix + key)
        elif extra is False:
            raise BadRequest(
                _("${name} is not a field of this request."), field=prefix + key, name=prefix + key
            )
        elif isinstance(extra, dict):
            check(value, extra, prefix + key)
    for key in schema.get("required", ()):
        if key not in data or data[key] is None or data[key] == "":
            raise BadRequest(_("${name} is required."), field=prefix + key, name=prefix + key)
    return data


def read_query(request, params):
    """The query parameters named in ``params`` (``Param``s), converted to their schema's type."""
    out = {}
    for param in params:
        raw = request.GET.get(param.name)
        if raw is None or raw == "":
            if "default" in param.schema:
                out[param.name] = param.schema["default"]
            continue
        xml_text(raw, param.name)  # a NUL or another control character in a query: 400 too
        kind = param.schema.get("type", "string")
        value = raw
        if kind == "integer":
            try:
                value = int(raw)
            except ValueError:
                raise BadRequest(_TYPE_MESSAGES["integer"], field=param.name, name=param.name) from None
        elif kind == "boolean":
            text = raw.strip().lower()
            if text in ("1", "true", "yes", "on"):
                value = True
            elif text in ("0", "false", "no", "off"):
                value = False
            else:
                raise BadRequest(_TYPE_MESSAGES["boolean"], field=param.name, name=param.name)
        check(value, param.schema, param.name)
        out[param.name] = value
    return out
