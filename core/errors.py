"""The errors the core refuses with: a translatable message and, where one is at fault, the field.

Services, the edXML codec and the file checks raise them; none of those builds a response.
Views translate ``message`` into the user's language; the JSON API returns it as problem
details with ``field``; the CLI prints the English text. They live below the services so
that the codec and the file checks can refuse without importing a service.
"""

from typing import Any

from pyramid.i18n import TranslationString

from .i18n import _


class ServiceError(ValueError):
    """A request the rules refuse. ``status`` is the HTTP status an API answers with."""

    status = 400

    def __init__(self, message: str, field: str | None = None, **mapping: Any) -> None:
        if not isinstance(message, TranslationString):
            message = TranslationString(message, domain="lienthong")
        if mapping:
            message = TranslationString(message, domain="lienthong", mapping=mapping)
        self.message: TranslationString = message
        self.field = field
        super().__init__(self.text())

    def text(self) -> str:
        """The English message with its values filled in."""
        return self.message.interpolate()


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    """The request is well formed but the object's state forbids it (a duplicate, an illegal move)."""

    status = 409


class Forbidden(ServiceError):
    status = 403


class TooLarge(ServiceError):
    """A body or package over its size limit, refused before it is read."""

    status = 413


class DocumentError(ServiceError):
    """A document's content the rules refuse: a bad header field, recipient, attachment or signature."""


def iso_date(value: object, field: str) -> str:
    """``value`` checked as an ISO date (``yyyy-mm-dd``) and returned as one; "" or None gives ""."""
    from datetime import date

    if value in (None, ""):
        return ""
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise ServiceError(
            TranslationString("${value} is not a date (yyyy-mm-dd).", domain="lienthong"),
            field=field,
            value=str(value)[:40],
        ) from None


#: what every input says of text XML cannot carry (``text.xml_carries``); shown beside its field
NOT_XML_MESSAGE = _(
    "This text contains a character that cannot be stored or sent (${char}): remove control "
    "characters such as a vertical tab or a NUL, and invalid characters."
)


def xml_text(value: object, field: str) -> None:
    """Refuse text that XML cannot carry (``ServiceError`` with ``field``); other values pass.

    The sentence does not name the field: a form shows it beside the field, the API gives
    ``field`` in the problem, an error page and an import name it apart (never an internal
    name inside a sentence a clerk reads).

    Lists and dicts are looked through, so a list of places or a mapping of settings is
    checked item by item under the same field.
    """
    from .text import first_not_xml

    if isinstance(value, str):
        found = first_not_xml(value)
        if found is not None:
            raise ServiceError(NOT_XML_MESSAGE, field=field, char=found)
    elif isinstance(value, dict):
        for key, item in value.items():
            xml_text(key, field)
            xml_text(item, field)
    elif isinstance(value, (list, tuple)):
        for item in value:
            xml_text(item, field)
