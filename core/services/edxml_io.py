"""edXML in and out (R3.3): export documents and delivery statuses, import packages as outgoing documents.

An imported package was numbered, dated and traced by the eOffice product that made it:
it keeps its header (``KEPT_HEADER_FIELDS``), is filed in the sender unit's
outgoing register (unless the unit is served by an adapter: its own system keeps that
register) and delivered like any other document. Export → import keeps every
field. Parsing is the codec's (``core/edxml/``): hostile input is refused before
anything is stored, and an error after parsing aborts the whole transaction.
"""

import io
import shutil
import tempfile
from contextlib import ExitStack

from .. import doctypes, edxml
from ..errors import Forbidden
from ..i18n import _
from ..resources.documents import path_of
from ..text import fold
from . import audit, documents as ds, signatures
from .attachments import open_attachment

SPOOL_IN_MEMORY = 8 * 1024 * 1024  # a package read from a pipe is spooled to disk beyond this

#: header fields an imported package keeps as it carries them (it was numbered and traced at its source)
KEPT_HEADER_FIELDS = (
    "document_id",
    "code_number",
    "code_notation",
    "promulgation_date",
    "from",
    "to",
    "trace",
    "staff_info",
    "replacement_info",
    "business_document_id",
    "business_reason",
    "business_info",
    "paper",
    "type_detail",
    "typer_notation",
    "direction",
)

#: the header fields an export writes from the document's metadata (attachments come from the store)
EXPORTED = (
    "document_id",
    "from",
    "to",
    "code_number",
    "code_notation",
    "promulgation_place",
    "promulgation_date",
    "doc_type",
    "doc_type_name",
    "subject",
    "content",
    "signer_competence",
    "signer_position",
    "signer_name",
    "due_date",
    "to_places",
    "priority",
    "sphere_of_promulgation",
    "promulgation_amount",
    "page_amount",
    "appendixes",
    "steering_type",
    "response_for",
    "business_doc_type",
    "business_reason",
    "business_document_id",
    "staff_info",
    "replacement_info",
    "trace",
    "business_info",
    "paper",
    "type_detail",
    "typer_notation",
    "direction",
)

#: the setting that says how packages carry attachments: a unit's own (its adapter
#: settings) before the application's; "zip" (the default) or "raw" (docs/interop.md)
WRAP_SETTING = "edxml_attachments"
APP_WRAP_SETTING = "lienthong.edxml.attachments"


def wrap_for(env, unit=None):
    """How packages for ``unit`` (or for anyone, without one) carry attachments."""
    value = ""
    if unit is not None:
        value = str((getattr(unit, "adapter_settings", None) or {}).get(WRAP_SETTING) or "")
    value = (value or str(env.settings.get(APP_WRAP_SETTING) or "") or edxml.WRAP_ZIP).strip().lower()
    return value if value in edxml.ATTACHMENT_WRAPPINGS else edxml.WRAP_ZIP


def document_meta(document):
    """The edXML header of ``document`` as the codec's dict."""
    meta = {k: document.meta[k] for k in EXPORTED if k in document.meta}
    meta["document_id"] = document.document_id
    return meta


def export_document(site, env, document, actor=None, wrap=None):
    """The document as an edXML package (bytes); its attachments read (and digest-checked) from the store.

    ``wrap``: "zip" or "raw" (default: ``wrap_for`` the application).
    """
    with ExitStack() as files:
        attachments = []
        for name in document.attachments.keys():
            attachment = document.attachments[name]
            stream = files.enter_context(open_attachment(site, env, attachment))
            attachments.append(
                (
                    {
                        "name": attachment.name,
                        "content_type": attachment.mime_type,
                        "description": attachment.description,
                    },
                    stream,
                )
            )
        package = edxml.build_document(document_meta(document), attachments, wrap=wrap or wrap_for(env))
    sender = site["directory"].get(document.sender_code)  # the envelope signed with its key, when it has one
    if sender is not None:
        package = signatures.sign_package(site, env, sender, package)
    if actor is not None:
        audit.record(site, actor, "document.export", path_of(document), format="edxml", size=len(package))
    return package


def status_of(site, env, delivery):
    """The edXML status message dict of ``delivery`` (its latest state, for the sender)."""
    document = delivery.document
    last = delivery.history[-1] if delivery.history else {}
    recipient = site["directory"].get(delivery.recipient_code or "")
    organ = {
        "organ_id": delivery.recipient_code or document.sender_code,
        "organ_name": recipient.name if recipient is not None else (delivery.recipient_login or ""),
    }
    return {
        "response_for": {
            "organ_id": document.sender_code,
            "code": document.notation,
            "promulgation_date": document.meta.get("promulgation_date", ""),
            "document_id": document.document_id,
        },
        "from": organ,
        "status_code": delivery.state,
        "description": last.get("reason") or last.get("note") or "",
        "timestamp": _local(env, last.get("time") or delivery.arrived_at),
        "staff_info": {"staff": last.get("actor", ""), "department": "", "mobile": "", "email": ""},
    }


def _local(env, iso):
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone(env.timezone).isoformat(timespec="seconds")


def export_status(site, env, delivery):
    return edxml.build_status(status_of(site, env, delivery))


def _doc_type_code(meta):
    """Our type code for the package's DocumentType: by code, else by its Vietnamese name."""
    kind = doctypes.get(meta.get("doc_type"))
    if kind is None and meta.get("doc_type_name"):
        wanted = fold(meta["doc_type_name"])
        kind = next((t for t in doctypes.TYPES if fold(t.name) == wanted), None)
    if kind is None:
        raise edxml.EdxmlError(
            _("Unknown type of document ${value}."),
            field="MessageHeader/DocumentType",
            value=str(meta.get("doc_type_name") or meta.get("doc_type") or "")[:60],
        )
    return kind.code


def parse_package(env, stream):
    """(header, attachments, signed source bytes or None) of an edXML package; the caller closes the files.

    The package is parsed as a stream; its bytes are read into memory again only when it
    carries an envelope signature and a signer is enabled (verifying needs the whole tree).
    """
    if not hasattr(stream, "read"):
        stream = io.BytesIO(bytes(stream))
    elif not (hasattr(stream, "seekable") and stream.seekable()):
        spooled = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        shutil.copyfileobj(stream, spooled, 1 << 20)
        spooled.seek(0)
        stream = spooled
    start = stream.tell()
    parsed = edxml.parse_document(stream, max_bytes=env.edxml_max_bytes)
    attachments = parsed.pop("attachments")
    source = None
    signed = parsed.pop("signature", None) is not None
    namespace = parsed.pop("signature_namespace", None)
    parsed.pop("warnings", None)
    if signed and namespace != signatures.XMLDSIG_NS:
        source = signatures.PLACEHOLDER  # the field's placeholder: shown as unverifiable, never as valid
    elif signed and signatures.envelope_signer(signatures.signers(env)) is not None:
        stream.seek(start)
        source = stream.read(env.edxml_max_bytes + 1)
    return parsed, attachments, source


def close_attachments(attachments):
    for a in attachments:
        a["file"].close()


def check_sender(parsed, unit_code):
    """A package is from the unit that sends it: its From (OrganId) must be ``unit_code``."""
    sender = (parsed.get("from") or {}).get("organ_id") or ""
    if sender != unit_code:
        raise Forbidden(
            _("The package is from ${sender}; you may send for ${unit} only."),
            field="From/OrganId",
            sender=sender,
            unit=unit_code,
        )


def import_package(site, env, actor, unit, stream, system=False, recipients=None, permits=None):
    """Parse an edXML package from ``unit`` and send it as that unit's outgoing document.

    ``recipients``: deliver to these unit codes only (default: every To); the header keeps its To.
    ``permits``: the caller's permission check (a request's ``has_permission``); with it, a
    caller who may not issue (``documents.may_issue``) is refused before anything is issued.
    """
    parsed, attachments, source = parse_package(env, stream)
    try:
        return import_parsed(site, env, actor, unit, parsed, attachments, source, system, recipients, permits)
    finally:
        close_attachments(attachments)


def import_parsed(
    site, env, actor, unit, parsed, attachments, source=None, system=False, recipients=None, permits=None
):
    """``import_package`` for a package already parsed by ``parse_package``."""
    check_sender(parsed, unit.code)
    data = dict(parsed)
    data["doc_type"] = _doc_type_code(parsed)
    data["recipients"] = (
        [t.get("organ_id") for t in parsed.get("to") or ()] if recipients is None else list(recipients)
    )
    files = [(a["name"], a["file"], a.get("description", "")) for a in attachments]
    kept = {k: parsed[k] for k in KEPT_HEADER_FIELDS if k in parsed}
    document = ds.compose(site, env, actor, unit, data, files, origin="edxml", header=kept)
    if permits is not None:
        ds.require_issuer(document, permits, field="body")
    if source is not None:  # a signed envelope: verified once, the reports kept on the document
        document.envelope_signatures = signatures.verify_package(site, env, unit.code, source)
    ds.issue(site, env, actor, document, system=system, keep_number=True)
    audit.record(
        site, actor, "document.import", path_of(document), format="edxml", document_id=document.document_id
    )
    return document
