"""A unit's registers of incoming and outgoing documents (R3.2): list, register page, print, CSV.

``/directory/<code>/registers`` lists the years and directions; ``…/registers/<year>-in|out``
shows one register (``?print=1``: a clean page for paper), ``…/<year>-in|out/export.csv``
downloads it for Excel. The Registers ACL admits the unit's clerks, leaders and eOffice
product only. Reading a register and exporting it are on the audit record: the rows carry
the subjects of the documents (R6.6).
"""

from pyramid.httpexceptions import HTTPNotFound
from pyramid.renderers import render_to_response
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from .. import permissions as sec
from ..clock import now_iso
from ..csvfile import csv_text
from ..downloads import content_disposition
from ..i18n import _, translate
from ..resources import documents as docs
from ..resources.registers import INCOMING, Register, Registers
from ..services import audit, registers as registers_service
from ..xlsxfile import xlsx_bytes
from .base import local_time, page
from .mailboxes import day, person_name, unit_name

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DIRECTION_TITLES = {INCOMING: _("Incoming documents"), "out": _("Outgoing documents")}
#: "Ghi chú" of an entry that updates, replaces or revokes an earlier document
BUSINESS_NOTES = {docs.REVOKE: _("Revocation"), docs.UPDATE: _("Update"), docs.REPLACE: _("Replacement")}
#: the titles of the bound books (Decree 30, annex IV, I and VI)
BOOK_TITLES = {INCOMING: _("Register of incoming documents"), "out": _("Register of outgoing documents")}


def unit_of(register):
    return register.__parent__.__parent__


def type_and_subject(type_name, subject):
    """Annex IV "Tên loại và trích yếu nội dung": the subject, after the type's name unless it
    already starts with it ("Quyết định về việc …")."""
    type_name, subject = (type_name or "").strip(), (subject or "").strip()
    if not type_name or subject.casefold().startswith(type_name.casefold()):
        return subject
    return f"{type_name}: {subject}" if subject else type_name


def _names(site, entry):
    """The recipients' names written at issue, or (an entry of an earlier version) looked up now."""
    if "to" in entry:
        return list(entry["to"])
    return [unit_name(site, c) for c in entry.get("recipients") or ()] + [
        person_name(site, p) for p in entry.get("persons") or ()
    ]


def entry_values(request, register, entry):
    """One entry's annex IV columns as text (``registers_service.COLUMNS``), key → text.

    An entry of an earlier version lacks some keys: the notation, the date, the type and the
    signer of an outgoing one are read from its document; the rest are empty.
    """
    site = request.site
    document = site["documents"].get(entry["document"]) if entry.get("document") else None
    meta = document.meta if document is not None else {}
    incoming = register.direction == INCOMING
    fallback = not incoming and document is not None
    type_name = entry.get("doc_type_name") or (meta.get("doc_type_name", "") if fallback else "")
    notes = []
    if entry.get("paper"):
        notes.append(translate(request, _("paper document")))
    if entry.get("duplicates"):
        notes.append(
            translate(
                request, _("same number and notation as ${numbers}"), numbers=", ".join(entry["duplicates"])
            )
        )
    if entry.get("business_doc_type"):
        notes.append(translate(request, BUSINESS_NOTES.get(entry["business_doc_type"], _("Update"))))
    values = {
        "number": entry.get("number"),
        "notation": entry.get("notation") or (document.notation if document is not None else ""),
        "promulgation_date": day(
            entry.get("promulgation_date") or (meta.get("promulgation_date") if fallback else "")
        ),
        "type_and_subject": type_and_subject(type_name, entry.get("subject", "")),
        "copies": entry.get("copies", ""),
        "receipt": "",
        "note": "; ".join(notes),
    }
    if incoming:
        values.update(
            arrival_date=local_time(request, entry.get("arrived_at") or entry.get("time"))[:10],
            author=entry.get("sender_name") or unit_name(site, entry.get("sender")),
            handled_by="; ".join(entry.get("handled_by") or ()),
            transferred=local_time(request, entry.get("transferred"))[:10],
        )
    else:
        values.update(
            signer=entry.get("signer") or (registers_service.signer_text(meta) if fallback else ""),
            to="; ".join(_names(site, entry)),
            file_copy=entry.get("file_copy", ""),
            transferred=local_time(request, entry.get("time"))[:10],  # sent on the hub when issued
        )
    return values


def duplicate_warning(request, found):
    """The clerk's warning that the registered document repeats entries ``found`` ("3/2026")."""
    if not found:
        return None
    return translate(
        request,
        _(
            "Warning: this register already holds ${numbers} with the same number, notation and "
            "issuing body in the same year. Check that the document was not registered twice."
        ),
        numbers=", ".join(found),
    )


def flash_duplicates(request, unit_code, direction, year, number):
    """After an issue or a registration: the clerk's warning, flashed, when the entry repeats others."""
    unit = request.site["directory"].get(unit_code or "")
    if unit is None or not number:
        return
    warning = duplicate_warning(request, registers_service.duplicates(unit, direction, year, number))
    if warning:
        request.session.flash(warning)


def columns(request, register):
    """The register's columns: (key, translated header), in annex IV's order."""
    return [(key, translate(request, title)) for key, title in registers_service.COLUMNS[register.direction]]


def register_rows(request, register, start=None, end=None):
    """The register's entries as table rows, oldest first: ``cells`` in the columns' order."""
    keys = [key for key, _title in registers_service.COLUMNS[register.direction]]
    rows = []
    for entry in register.rows(start, end):
        values = entry_values(request, register, entry)
        rows.append(
            {
                "number": entry.get("number"),
                "values": values,
                "cells": [(key, values.get(key, "")) for key in keys],
                "paper": bool(entry.get("paper")),
                "scan": (
                    request.resource_url(register, "scan", query={"number": entry["number"]})
                    if entry.get("scan")
                    else None
                ),
                "document": entry.get("document") or "",
                "url": f"{request.application_url}/documents/{entry['document']}"
                if entry.get("document")
                else None,
            }
        )
    return rows


@view_config(context=Registers, renderer="registers.pt", permission=sec.READ_MAILBOX, request_method="GET")
def registers_page(request):
    unit = request.context.__parent__
    years = []
    for year in registers_service.years(unit):
        found = []
        for direction in (INCOMING, "out"):
            register = registers_service.get_register(unit, year, direction)
            found.append(
                {
                    "direction": direction,
                    "title": translate(request, DIRECTION_TITLES[direction]),
                    "count": len(register) if register is not None else 0,
                    "url": f"{request.application_url}/directory/{unit.code}/registers/{year}-{direction}"
                    if register is not None
                    else None,
                }
            )
        years.append({"year": year, "registers": found})
    return page(
        request, translate(request, _("Registers of ${unit}"), unit=unit.name), unit=unit, years=years
    )


def _register_values(request):
    register = request.context
    unit = unit_of(register)
    title = translate(
        request,
        _("${direction} ${year}"),
        direction=translate(request, DIRECTION_TITLES[register.direction]),
        year=register.year,
    )
    base = f"{request.application_url}/directory/{unit.code}/registers/{register.__name__}"
    return unit, title, base


def _whole(value):
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def cover(request, register, unit, rows):
    """The print view's cover page, as annex IV draws it: the governing body, the unit, the
    register's title, the year, the dates and the numbers the book holds, its volume."""
    site = request.site
    parent = site["directory"].get(unit.parent_code or "")
    times = [r["values"].get("arrival_date") or r["values"].get("transferred") for r in rows]
    times = [t for t in times if t]
    return {
        "parent": parent.name if parent is not None else "",
        "title": translate(request, BOOK_TITLES[register.direction]),
        "year": register.year,
        "first_date": times[0] if times else "",
        "last_date": times[-1] if times else "",
        "first_number": rows[0]["number"] if rows else "",
        "last_number": rows[-1]["number"] if rows else "",
        "volume": _whole(request.params.get("volume")) or "",
    }


@view_config(context=Register, renderer="register.pt", permission=sec.READ_MAILBOX, request_method="GET")
def register_page(request):
    """The register; ``?print=1`` is the book to bind (a cover, annex IV's columns, numbered
    pages), of the numbers ``from``–``to`` when given (one volume, ``volume``)."""
    register = request.context
    unit, title, base = _register_values(request)
    printing = request.params.get("print") == "1"
    start, end = (_whole(request.params.get(k)) for k in ("from", "to")) if printing else (None, None)
    rows = register_rows(request, register, start, end)
    site = request.site
    audit.record(site, request.actor, "register.view", request.path, rows=len(rows), print=printing)
    values = page(
        request,
        title,
        unit=unit,
        register=register,
        rows=rows,
        columns=columns(request, register),
        base=base,
        printing=printing,
        incoming=register.direction == INCOMING,
        printed_at=local_time(request, now_iso()),
    )
    if printing:
        values["cover"] = cover(request, register, unit, rows)
        return render_to_response("register_print.pt", values, request=request)
    return values


def export_table(request, register):
    """The header and rows every export of a register writes: annex IV's columns, then the
    document's id (to find it on the hub; an extra column, the annex lists a minimum)."""
    rows = register_rows(request, register)
    header = [title for _key, title in columns(request, register)] + [translate(request, _("Document id"))]
    return header, [[value for _key, value in r["cells"]] + [r["document"]] for r in rows]


def _export(request, body, content_type, extension, rows):
    register = request.context
    unit = unit_of(register)
    audit.record(
        request.site,
        request.actor,
        "register.export",
        request.path.rsplit("/", 1)[0],
        format=extension,
        rows=rows,
    )
    response = Response(body=body, content_type=content_type)
    response.content_disposition = (
        f'attachment; filename="register-{unit.code}-{register.__name__}.{extension}"'
    )
    response.cache_control = "private, no-store"
    return response


@view_config(context=Register, name="export.csv", permission=sec.READ_MAILBOX, request_method="GET")
def register_csv(request):
    """The register for Excel, by the one CSV writer (``core/csvfile.py``): UTF-8 with a byte
    order mark, commas, CRLF, and no cell a spreadsheet would evaluate (subjects come from
    other units)."""
    header, rows = export_table(request, request.context)
    response = _export(request, csv_text(header, rows).encode("utf-8"), "text/csv", "csv", len(rows))
    response.charset = "utf-8"
    return response


@view_config(context=Register, name="export.xlsx", permission=sec.READ_MAILBOX, request_method="GET")
def register_xlsx(request):
    """The register as an Excel workbook (``core/xlsxfile.py``): one sheet, annex IV's columns,
    text cells never formulas."""
    header, rows = export_table(request, request.context)
    _unit, title, _base = _register_values(request)
    return _export(request, xlsx_bytes(title, header, rows), XLSX, "xlsx", len(rows))


@view_config(context=Register, name="scan", permission=sec.READ_MAILBOX, request_method="GET")
def download_scan(request):
    """The scan of a paper document registered as incoming (R9.2b), as a download; audited."""
    register = request.context
    try:
        entry = register.entries.get(int(request.params.get("number", "")))
    except ValueError:
        entry = None
    scan = (entry or {}).get("scan")
    if not scan:
        raise HTTPNotFound()
    env = request.env
    site = request.site
    stream = env.blob_stores.get(scan["store"], env.blob_store).open(site, scan["sha256"])
    audit.record(
        site,
        request.actor,
        "register.scan.download",
        request.resource_path(register, "scan"),
        number=entry["number"],
        sha256=scan["sha256"],
    )
    response = Response(
        app_iter=FileIter(stream), content_type="application/octet-stream", content_length=scan["size"]
    )
    response.content_disposition = content_disposition(scan["name"])
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "private, no-store"
    return response
