"""JSON from outside the hub (API bodies, a peer hub's calls, directory files), read safely.

``read_json`` counts the nesting of the text before the parser sees it (Python's parser
recurses once per level: a body of 100,000 ``[`` would end in a ``RecursionError``), refuses
``NaN`` and ``Infinity`` (not JSON, and no JSON answer could carry them back), and then
checks every text in the result, names included, against the hub's one rule on text
(``text.xml_carries``): a NUL, a vertical tab or a lone surrogate (``"\\ud800"``) is refused
here, naming where it was, and never reaches a service, the database or an answer.

The size of what is read is the caller's to limit before it reads it (``api/json.py``:
``body_size``; the peer hub: its ``max_body``; directory imports: ``lienthong.import.max_bytes``).
"""

import json
import re

from .errors import ServiceError, xml_text
from .i18n import _

#: the deepest nesting accepted: the hub's own bodies go three or four levels deep
MAX_DEPTH = 32

# a JSON string (skipped whole, brackets inside it are text) or a bracket
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')


class NotJson(ValueError):
    """The text is not JSON (its syntax, its encoding, a NaN): the caller words the refusal."""


class TooDeep(ServiceError):
    """JSON nested deeper than ``MAX_DEPTH`` levels, refused before it is parsed."""


def check_depth(text, field="body", max_depth=MAX_DEPTH):
    """Refuse (``TooDeep`` naming ``field``) JSON text nested deeper than ``max_depth``."""
    depth = 0
    for match in _TOKENS.finditer(text):
        char = text[match.start()]
        if char in "[{":
            depth += 1
            if depth > max_depth:
                raise TooDeep(
                    _("${name} is nested deeper than ${limit} levels: send flatter JSON."),
                    field=field,
                    name=field,
                    limit=max_depth,
                )
        elif char in "]}":
            depth -= 1


def _no_constant(name):
    raise NotJson(f"{name} is not a JSON value")


def check_text(data, field="body"):
    """Refuse the first text of ``data`` (a value or a member's name) that XML cannot carry.

    The field named is the member's path as the API names fields: ``subject``,
    ``attachments.name`` (the items of a list are named as the list); a bad name of a member
    is named by the object that holds it (``field`` at the top)."""

    def walk(value, path):
        if isinstance(value, str):
            xml_text(value, path or field)
        elif isinstance(value, dict):
            for key, item in value.items():
                xml_text(key, path or field)
                walk(item, f"{path}.{key}" if path else key)
        elif isinstance(value, list):
            for item in value:
                walk(item, path)

    walk(data, "")


def read_json(raw, field="body", max_depth=MAX_DEPTH, text=True):
    """The JSON value of ``raw`` (UTF-8 bytes or text), nesting counted first, text checked after.

    Raises ``NotJson`` for what is not JSON, ``TooDeep`` and (``text``) the ``ServiceError``
    of ``errors.xml_text`` naming the field. ``text=False`` leaves the text check to a caller
    that reports it its own way (the directory import: one error per row and column).
    """
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotJson(f"not UTF-8 (byte {exc.start})") from None
    check_depth(raw, field, max_depth)
    try:
        data = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:  # deep nesting the count above did not see (it should not happen)
        raise TooDeep(
            _("${name} is nested deeper than ${limit} levels: send flatter JSON."),
            field=field,
            name=field,
            limit=max_depth,
        ) from None
    except ValueError as exc:
        raise NotJson(str(exc)) from None
    if text:
        check_text(data, field)
    return data
