"""Numbering in a unit's registers (R3.2): every incoming and outgoing document gets the next number.

The number is taken in the same transaction as the act it records (issuing, accepting),
so an aborted act gives its number back and a committed one keeps it: numbers never
repeat and never skip.

An entry holds the columns of Decree 30's annex IV as they were at the time of the act
(``OUTGOING_COLUMNS``, ``INCOMING_COLUMNS``): the names of the issuing body, the
recipients and the signer are written into it, so a unit renamed or a person gone later
never changes a page of a register. What the hub cannot know (the signature on receipt,
the number of paper copies of an electronic document) is an empty column for the pen.
Entries written before these columns read their missing keys as empty
(``views.registers`` falls back to the document for the notation and the date).
"""

from ..i18n import _
from ..resources.registers import INCOMING, OUTGOING

#: Decree 30, annex IV, I.2 "Nội dung đăng ký văn bản đi": (key, header), in the annex's order
OUTGOING_COLUMNS = (
    ("notation", _("Document number and notation")),
    ("promulgation_date", _("Document date")),
    ("type_and_subject", _("Type and summary of the document")),
    ("signer", _("Signer")),
    ("to", _("Recipients of the document")),
    ("file_copy", _("Unit or person keeping the file copy")),
    ("copies", _("Number of copies")),
    ("transferred", _("Date transferred")),
    ("receipt", _("Signature on receipt")),
    ("note", _("Note")),
)

#: Decree 30, annex IV, VI.2 "Nội dung đăng ký văn bản đến": (key, header), in the annex's order
INCOMING_COLUMNS = (
    ("arrival_date", _("Date of arrival")),
    ("number", _("Arrival number")),
    ("author", _("Issuing body")),
    ("notation", _("Document number and notation")),
    ("promulgation_date", _("Document date")),
    ("type_and_subject", _("Type and summary of the document")),
    ("handled_by", _("Unit or person receiving")),
    ("transferred", _("Date transferred")),
    ("receipt", _("Signature on receipt")),
    ("note", _("Note")),
)

COLUMNS = {OUTGOING: OUTGOING_COLUMNS, INCOMING: INCOMING_COLUMNS}


def take_number(unit, direction, year, entry):
    """File ``entry`` in ``unit``'s register for ``year`` and return its number."""
    return unit["registers"].get_register(year, direction).take(entry)


def complete_entry(unit, direction, year, number, values):
    """Write ``values`` into entry ``number``, in the transaction of an act on its document."""
    unit["registers"].get_register(year, direction).complete(number, values)


def get_register(unit, year, direction):
    return unit["registers"].get_register(year, direction, create=False)


def years(unit):
    """The years that have a register, newest first."""
    return sorted({int(name.split("-")[0]) for name in unit["registers"].keys()}, reverse=True)


def _unit_name(site, code):
    unit = site["directory"].get(code or "")
    return unit.name if unit is not None else (code or "")


def _person_name(site, login):
    user = site["users"].get(login or "")
    return user.fullname if user is not None else (login or "")


def signer_text(meta):
    """Annex IV "Người ký": the signer's position and full name, as the document carries them."""
    return " ".join(part for part in (meta.get("signer_position"), meta.get("signer_name")) if part)


def outgoing_columns(site, unit, document):
    """The annex IV columns of an outgoing entry, from the issued ``document`` (its number,
    notation and promulgation date set): written into the entry by ``documents.issue``."""
    meta = document.meta
    amount = meta.get("promulgation_amount") or 0
    return {
        "notation": document.notation,
        "promulgation_date": meta.get("promulgation_date", ""),
        "doc_type_name": meta.get("doc_type_name", ""),
        "signer": signer_text(meta),
        "to": [_unit_name(site, code) for code in document.recipients]
        + [_person_name(site, login) for login in document.persons],
        # the electronic original is kept on the hub by the issuing unit (Decree 30, art. 19.2)
        "file_copy": unit.name,
        "copies": amount or "",  # an electronic document has no paper copies unless it says so
        "business_doc_type": document.business_doc_type,
    }


def incoming_columns(site, delivery):
    """The annex IV columns of an incoming entry at registration, from the ``delivery``."""
    document = delivery.document
    meta = document.meta
    author = (meta.get("from") or {}).get("organ_name") or _unit_name(site, document.sender_code)
    return {
        "sender": document.sender_code,
        "sender_name": author,
        "arrived_at": delivery.arrived_at or "",
        "notation": document.notation,
        "promulgation_date": meta.get("promulgation_date", ""),
        "doc_type_name": meta.get("doc_type_name", ""),
        "subject": meta.get("subject", ""),
        "business_doc_type": document.business_doc_type,
    }


def on_delivery_acted(event):
    """``DeliveryActed``: an assignment of a registered incoming document fills its entry's
    "Đơn vị hoặc người nhận" and "Ngày chuyển" (Decree 30, art. 23: the clerk completes the
    register when the document is handed on), with the names as they are at that moment."""
    delivery = event.delivery
    if event.action != "assign" or not getattr(delivery, "register_number", None):
        return
    site = event.site
    unit = site["directory"].get(delivery.recipient_code)
    register = get_register(unit, delivery.register_year, INCOMING) if unit is not None else None
    if register is None or delivery.register_number not in register.entries:
        return
    last = delivery.history[-1] if delivery.history else {}
    register.complete(
        delivery.register_number,
        {
            "handled_by": [_person_name(site, login) for login in delivery.assignees],
            "transferred": last.get("time", ""),
        },
    )


# -- the same document twice (Decree 30, annex VI, III.1.h) ---------------------------------
def notation_key(notation):
    """A notation as compared for duplicates: no "Số:" before it, no spaces, any case."""
    text = "".join((notation or "").split()).casefold()
    for prefix in ("số:", "so:"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text


def _same_issuer(a, b, direction):
    if direction == OUTGOING:
        return True  # one register, one issuing unit
    if a.get("sender") and b.get("sender"):
        return a["sender"] == b["sender"]
    names = [(e.get("sender_name") or "").strip().casefold() for e in (a, b)]
    return bool(names[0]) and names[0] == names[1]


def _document_year(entry, register_year):
    date = entry.get("promulgation_date") or ""
    return date[:4] if len(date) >= 4 else str(register_year)


def note_duplicates(unit, direction, year, number):
    """The other entries of the registers of ``year`` and the year before with the same number
    and notation, the same issuing body and a document of the same year: written into entry
    ``number`` (``duplicates``) and returned, so the clerk is warned (annex VI, III.1.h asks
    the system to tell the clerk). A warning, never a refusal: a document may truly be
    received twice (on paper and electronically) and the clerk decides.

    The registers are read entry by entry: a unit registers a few thousand documents a
    year, and this runs once per registration.
    """
    register = unit["registers"].get_register(year, direction)
    entry = register.entries[number]
    key = notation_key(entry.get("notation"))
    if not key:
        return []
    wanted_year = _document_year(entry, year)
    found = []
    for register_year in (year - 1, year):
        other = get_register(unit, register_year, direction)
        if other is None:
            continue
        for candidate in other.rows():
            if register_year == year and candidate.get("number") == number:
                continue
            if (
                notation_key(candidate.get("notation")) == key
                and _document_year(candidate, register_year) == wanted_year
                and _same_issuer(candidate, entry, direction)
            ):
                found.append(f"{candidate['number']}/{register_year}")
    if found:
        register.complete(number, {"duplicates": found})
    return found


def duplicates(unit, direction, year, number):
    """What ``note_duplicates`` found for entry ``number`` (``[]`` when nothing, or no entry)."""
    register = get_register(unit, year, direction) if number else None
    entry = register.entries.get(number) if register is not None else None
    return list((entry or {}).get("duplicates") or ())
