"""Decree 30, annex VI, part II.I: the metadata of an outgoing electronic document, its limits.

``check(meta)`` refuses a field longer than the annex allows (``LENGTHS``: characters of
a ``String`` field) or a number with more digits than it allows (``DIGITS``: a ``Number``
field), with a ``DocumentError`` naming the field, so a page shows the message beside it
and the API answers problem+json with ``field``. ``documents.clean_meta`` calls it for what
people type (compose, an edit, the API's JSON); an edXML package, made by a product or
another system, is never refused for it: the field writes longer numbers than the annex
allows, and the hub reads what the field sends.

The subject's own limit (``documents.MAX_SUBJECT``, 500 as in the annex) keeps its own
message there; the hub's own values (the unit's name, the directory's codes) are not
checked here.
"""

from .errors import DocumentError
from .i18n import _

#: (meta key, annex VI field, maximum characters)
LENGTHS = (
    ("doc_type_name", "TypeName", 100),
    ("code_number", "CodeNumber", 11),
    ("code_notation", "CodeNotation", 30),
    ("signer_position", "Position", 100),
    ("signer_name", "FullName", 50),
)
#: (meta key, annex VI field, maximum digits)
DIGITS = (
    ("page_amount", "PageAmount", 3),
    ("promulgation_amount", "IssuedAmount", 3),
)


def check(meta):
    """Refuse the first field of ``meta`` beyond annex VI's limits; return ``meta``."""
    for key, _field, limit in LENGTHS:
        value = str(meta.get(key) or "")
        if len(value) > limit:
            raise DocumentError(
                _("At most ${max} characters (Decree 30, annex VI); this has ${length}."),
                field=key,
                max=limit,
                length=len(value),
            )
    for key, _field, digits in DIGITS:
        value = meta.get(key) or 0
        if isinstance(value, int) and not 0 <= value < 10**digits:
            raise DocumentError(
                _("At most ${digits} digits (Decree 30, annex VI)."), field=key, digits=digits
            )
    return meta
