"""What an edXML package says, read without storing it: ``lienthong edxml inspect`` and /manage/edxml.

An operator who is told "your hub refused our package" (or "the axis sent us this")
needs to see what the codec reads in it, which of its unit codes the hub knows, what
the attachments really are once unwrapped and what its signature is worth, before
anything is imported. ``inspect`` parses the package as the inbound service would and
returns a JSON-able report; it writes nothing (no document, no audit entry), so the
callers may run it on anything a person hands them.

Messages in the report (a refusal's reason, the warnings, the signature's reason) are
English unless the caller gives ``translate`` (a view passes its localizer's), so the
same report serves the CLI, ``--json`` and the page.
"""

import hashlib
import io

from pyramid.i18n import TranslationString

from .. import edxml
from ..errors import ServiceError
from ..filetypes import human_size
from ..i18n import _
from ..resources.directory import NOT_CONNECTED
from ..text import plain
from . import signatures

XMLDSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
READ_CHUNK = 1 << 20

#: BussinessDocType -> the label key the CLI prints and the page translates
BUSINESS_LABELS = {0: "new", 1: "revocation", 2: "update", 3: "replacement"}

#: the header fields of a document, in the order the field writes them, with their edXML element
DOCUMENT_FIELDS = (
    ("document_id", "DocumentId"),
    ("code_number", "Code/CodeNumber"),
    ("code_notation", "Code/CodeNotation"),
    ("promulgation_place", "PromulgationInfo/Place"),
    ("promulgation_date", "PromulgationInfo/PromulgationDate"),
    ("doc_type", "DocumentType/Type"),
    ("type_detail", "DocumentType/TypeDetail"),
    ("doc_type_name", "DocumentType/TypeName"),
    ("subject", "Subject"),
    ("content", "Content"),
    ("signer_competence", "SignerInfo/Competence"),
    ("signer_position", "SignerInfo/Position"),
    ("signer_name", "SignerInfo/FullName"),
    ("due_date", "DueDate"),
    ("priority", "OtherInfo/Priority"),
    ("sphere_of_promulgation", "OtherInfo/SphereOfPromulgation"),
    ("typer_notation", "OtherInfo/TyperNotation"),
    ("promulgation_amount", "OtherInfo/PromulgationAmount"),
    ("page_amount", "OtherInfo/PageAmount"),
    ("direction", "OtherInfo/Direction"),
    ("appendixes", "OtherInfo/Appendixes"),
    ("response_for", "ResponseFor"),
    ("steering_type", "SteeringType"),
    ("to_places", "ToPlaces"),
    ("business_doc_type", "Bussiness/BussinessDocType"),
    ("business_reason", "Bussiness/BussinessDocReason"),
    ("business_document_id", "Bussiness/DocumentId"),
    ("paper", "Bussiness/Paper"),
    ("staff_info", "Bussiness/StaffInfo"),
    ("business_info", "Bussiness/BussinessDocumentInfo"),
    ("replacement_info", "Bussiness/ReplacementInfoList"),
)
#: the fields of a status message and their elements (all inside MessageHeader)
STATUS_FIELDS = (
    ("status_code", "StatusCode"),
    ("description", "Description"),
    ("timestamp", "Timestamp"),
    ("response_for", "ResponseFor"),
    ("staff_info", "StaffInfo"),
)
#: what the codec returns that the report shows in its own sections, not as header fields
_NOT_FIELDS = ("from", "to", "trace", "attachments", "signature", "signature_namespace", "warnings")

FROM = "MessageHeader/From/OrganId"
TO = "MessageHeader/To/OrganId"
HOP = "TraceHeaderList/TraceHeader/OrganId"
RECEIVER = "TraceHeaderList/Bussiness/BussinessDocumentInfo/ReceiverList/Receiver/OrganId"
REPLACED = "TraceHeaderList/Bussiness/ReplacementInfoList/ReplacementInfo/OrganIdList/OrganId"
ANSWERED = "MessageHeader/ResponseFor/OrganId"
NO_CODE = ("", "null")  # a trace hop the axis did not name


def english(message):
    """The default ``translate``: the message's English text with its values filled in."""
    return message.interpolate() if hasattr(message, "interpolate") else str(message)


def inspect(site, env, data, translate=english):
    """The report (a JSON-able dict) of the edXML package ``data`` (bytes or a seekable binary stream).

    ``readable`` says whether the codec takes it; when not, ``reason`` and ``field`` say
    why. Nothing is stored: the attachments' temp files are closed before it returns.
    """
    stream = io.BytesIO(bytes(data)) if isinstance(data, (bytes, bytearray, memoryview)) else data
    start = stream.tell()
    size = stream.seek(0, io.SEEK_END) - start
    stream.seek(start)
    report = {"readable": False, "kind": None, "package": {"size": size, "sha256": None}}
    if size > env.edxml_max_bytes:
        too_big = _(
            "The edXML message is ${size}, more than the limit of ${limit}.",
            mapping={"size": human_size(size), "limit": human_size(env.edxml_max_bytes)},
        )
        return _refused(report, too_big, "body", translate)
    report["package"]["sha256"] = _digest(stream, start)
    try:
        kind = edxml.kind(stream, max_bytes=env.edxml_max_bytes)
        report["kind"] = kind
        stream.seek(start)
        if kind == "status":
            parsed = edxml.parse_status(stream, max_bytes=env.edxml_max_bytes)
        else:
            parsed = edxml.parse_document(stream, max_bytes=env.edxml_max_bytes)
    except ServiceError as exc:  # EdxmlError, and any refusal of the checks it calls
        return _refused(report, exc.message, exc.field, translate)
    attachments = parsed.pop("attachments", None) or []
    try:
        warnings = Warnings(translate)
        for warning in parsed.get("warnings") or ():
            warnings.add_codec(warning)
        report["readable"] = True
        report.update(_fields(parsed, STATUS_FIELDS if kind == "status" else DOCUMENT_FIELDS))
        directory = site["directory"]
        report["sender"] = _sender(directory, parsed.get("from") or {}, warnings)
        if kind == "status":
            report.update(recipients=[], business=None, attachments=[])
            answered = (parsed.get("response_for") or {}).get("organ_id") or ""
            if answered and directory.get(answered) is None:
                warnings.add(
                    _("The unit ${code} whose document this status answers is not in the hub's directory."),
                    ANSWERED,
                    code=answered,
                )
        else:
            report["recipients"] = _recipients(directory, parsed.get("to") or (), warnings)
            report["business"] = _business(directory, parsed, warnings)
            report["attachments"] = [_attachment(a) for a in attachments]
        report["trace"] = _trace(directory, parsed.get("trace") or (), warnings)
        report["signature"] = _signature(site, env, parsed, stream, start, data, translate)
        report["warnings"] = warnings.items
        return report
    finally:
        for attachment in attachments:
            attachment["file"].close()


def _refused(report, message, field, translate):
    report.update(reason=translate(message), field=field or None)
    return report


def _digest(stream, start):
    """The package's SHA-256, the stream put back at ``start``: what a sender can compare with its own."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(READ_CHUNK), b""):
        digest.update(chunk)
    stream.seek(start)
    return digest.hexdigest()


class Warnings:
    """The report's warnings: the codec's and the unknown codes, each said once."""

    def __init__(self, translate):
        self.translate = translate
        self.items = []
        self._seen = set()

    def _append(self, field, message):
        if (field, message) not in self._seen:
            self._seen.add((field, message))
            self.items.append({"field": field, "message": message})

    def add(self, message, field, **mapping):
        if mapping:
            message = TranslationString(message, domain=message.domain, mapping=mapping)
        self._append(field, self.translate(message))

    def add_codec(self, warning):
        message = getattr(warning, "message", None)
        if message is not None:
            self._append(getattr(warning, "field", None), self.translate(message))
        else:  # a codec that gives plain dicts or strings
            found = warning if isinstance(warning, dict) else {"field": None, "message": str(warning)}
            self._append(found.get("field"), str(found.get("message", "")))


def _fields(parsed, known):
    """The header fields: the known ones in their order, then any other the codec returned."""
    fields = {key: plain(parsed.get(key)) for key, _element in known if key in parsed}
    for key, value in parsed.items():
        if key not in fields and key not in _NOT_FIELDS and not isinstance(value, (bytes, bytearray)):
            fields[key] = plain(value)
    return fields


def _sender(directory, organ, warnings):
    code = organ.get("organ_id") or ""
    unit = directory.get(code) if code else None
    if unit is None:
        warnings.add(_("Sender ${code} is not in the hub's directory."), FROM, code=code or "—")
    return {
        "code": code,
        "name": organ.get("organ_name") or (unit.name if unit is not None else ""),
        "known": unit is not None,
        "directory_name": unit.name if unit is not None else None,
        "organ": plain(organ),
    }


def _recipients(directory, organs, warnings):
    found = []
    for organ in organs:
        code = organ.get("organ_id") or ""
        unit = directory.get(code) if code else None
        connected = unit is not None and unit.connection_state != NOT_CONNECTED
        if unit is None:
            warnings.add(_("Recipient ${code} is not in the hub's directory."), TO, code=code or "—")
        elif not connected:
            warnings.add(_("Recipient ${code} is not connected to the hub."), TO, code=code)
        found.append(
            {
                "code": code,
                "name": organ.get("organ_name") or (unit.name if unit is not None else ""),
                "known": unit is not None,
                "connected": connected,
                "directory_name": unit.name if unit is not None else None,
                "organ": plain(organ),
            }
        )
    return found


def _business(directory, parsed, warnings):
    number = parsed.get("business_doc_type", 0)
    info = parsed.get("business_info") or {}
    for receiver in info.get("receivers") or ():
        code = receiver.get("organ_id") or ""
        if code and directory.get(code) is None:
            warnings.add(
                _("Receiver ${code} of the update is not in the hub's directory."), RECEIVER, code=code
            )
    for replaced in parsed.get("replacement_info") or ():
        for code in replaced.get("organ_id_list") or ():
            if code and directory.get(code) is None:
                warnings.add(
                    _("Unit ${code} named in the replacement information is not in the hub's directory."),
                    REPLACED,
                    code=code,
                )
    return {
        "type": number,
        "label": BUSINESS_LABELS.get(number, str(number)),
        "reason": parsed.get("business_reason", ""),
        "document_id": parsed.get("business_document_id", ""),
        "paper": parsed.get("paper"),
        "info": plain(info),
        "replacement": plain(parsed.get("replacement_info") or []),
    }


def _trace(directory, hops, warnings):
    found = []
    for number, hop in enumerate(hops, 1):
        code = (hop.get("organ_id") or "").strip()
        unnamed = code.lower() in NO_CODE
        known = not unnamed and directory.get(code) is not None
        if unnamed:
            warnings.add(_("Trace hop ${n} is an unnamed hop (its OrganId is empty or null)."), HOP, n=number)
        elif not known:
            warnings.add(
                _("Trace hop ${n} (${code}) is not in the hub's directory."), HOP, n=number, code=code
            )
        found.append(
            {
                "organ_id": hop.get("organ_id") or "",
                "timestamp": hop.get("timestamp") or "",
                "known": known,
                "unnamed": unnamed,
            }
        )
    return found


def _attachment(item):
    wrapped = item.get("wrapped")
    return {
        "name": item.get("name", ""),
        "content_type": item.get("content_type", ""),
        "declared_type": item.get("declared_type", ""),
        "kind": item.get("kind", ""),
        "description": item.get("description", ""),
        "content_id": item.get("content_id", ""),
        "size": item.get("size"),
        "sha256": item.get("sha256", ""),
        "wrapped": None
        if not wrapped
        else {
            "size": wrapped.get("size"),
            "sha256": wrapped.get("sha256", ""),
            "entries": plain(wrapped.get("entries") or []),
        },
    }


def _signature(site, env, parsed, stream, start, data, translate):
    """The verdict on the header's Signature: absent, not checkable here, or the verifier's badge."""
    if parsed.get("signature") is None:
        return {"verdict": "none", "reason": "", "reports": []}
    if parsed.get("signature_namespace") != XMLDSIG_NS:
        return {
            "verdict": "unverifiable",
            "reason": translate(signatures.PLACEHOLDER_REASON),
            "reports": [],
        }
    if signatures.envelope_signer(signatures.signers(env)) is None:
        return {
            "verdict": "unverifiable",
            "reason": translate(_("no XML signature verifier is enabled")),
            "reports": [],
        }
    if isinstance(data, (bytes, bytearray, memoryview)):
        whole = bytes(data)
    else:
        stream.seek(start)
        whole = stream.read(env.edxml_max_bytes + 1)
    sender = (parsed.get("from") or {}).get("organ_id") or ""
    reports = signatures.verify_package(site, env, sender, whole)
    if not reports:
        return {
            "verdict": "unverifiable",
            "reason": translate(_("the verifier found no signature to check")),
            "reports": [],
        }
    first = reports[0]
    return {"verdict": first.get("badge", ""), "reason": first.get("reason", ""), "reports": reports}


def field_rows(report):
    """(edXML element, value as one line of text) of every header field in ``report``, for people."""
    known = STATUS_FIELDS if report.get("kind") == "status" else DOCUMENT_FIELDS
    elements = dict(known)
    rows = [(element, display(report[key])) for key, element in known if key in report]
    shown = set(elements) | {
        "readable",
        "kind",
        "package",
        "sender",
        "recipients",
        "business",
        "attachments",
        "trace",
        "signature",
        "warnings",
        "reason",
        "field",
    }
    rows += [(key, display(value)) for key, value in report.items() if key not in shown]
    return rows


def element_name(key):
    """The edXML element a codec key stands for (``organ_id`` -> ``OrganId``)."""
    return "".join(part[:1].upper() + part[1:] for part in str(key).split("_"))


def display(value, inner=False):
    """A field's value as one line: lists joined by "; " (", " inside a mapping), mappings as
    "Element: value" pairs under the standard's element names (in parentheses inside a
    list), nothing as ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        text = ", ".join(
            f"{element_name(k)}: {display(v, True)}" for k, v in value.items() if v not in (None, "", [], {})
        )
        return f"({text})" if inner and text else text
    if isinstance(value, (list, tuple)):
        return (", " if inner else "; ").join(display(v, True) for v in value)
    return str(value)
