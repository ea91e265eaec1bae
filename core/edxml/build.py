"""edXML building: document packages and status messages as bytes, from the codec's dicts.

The metadata is made canonical (``values.canonical_document``) and so checked before a
single element is written. Attachments are read once, in chunks, and their base64 spliced
into the serialized envelope, so a package is never held as one big tree; the same input
always gives the same bytes.
"""

import base64
import datetime
import hashlib
import tempfile
from collections.abc import Iterable, Mapping
from typing import IO, Any

from lxml import etree

from ..i18n import _
from ..text import xml_carries
from ..timezones import VIETNAM
from . import unwrap
from .parse import SPOOL_MAX
from .values import (
    DIGEST_ALGORITHM,
    NS,
    ORGAN_FIELDS,
    PREFIX,
    STAFF_FIELDS,
    EdxmlError,
    Meta,
    as_text,
    canonical_document,
    canonical_status,
    check_attachment_name,
    check_content_type,
    excerpt,
    q,
)

ENCODE_CHUNK = 57 * 4096  # a whole number of 76-character base64 lines

#: an lxml element (lxml ships no type hints)
Element = Any


def _date_to_xml(iso: str) -> str:
    return iso.replace("-", "/")


def _sub(parent: Element, name: str, text: str | None = None, field: str | None = None) -> Element:
    element = etree.SubElement(parent, q(name))
    if text is not None:
        if not xml_carries(text):  # the hub's one rule (core/text.py), which every input applies
            field = field or name
            raise EdxmlError(
                _("${element} contains characters that XML cannot carry."), field=field, element=field
            )
        element.text = text
    return element


def _write_organ(parent: Element, name: str, organ: Mapping[str, str]) -> Element:
    element = _sub(parent, name)
    for tag, key in ORGAN_FIELDS:
        _sub(element, tag, organ[key], field=f"{name}/{tag}")
    return element


def _write_staff(parent: Element, staff: Mapping[str, str]) -> None:
    element = _sub(parent, "StaffInfo")
    for tag, key in STAFF_FIELDS:
        _sub(element, tag, staff[key], field="StaffInfo/" + tag)


def _write_response_for(parent: Element, item: Mapping[str, str]) -> None:
    """ResponseFor: OrganId, Code, PromulgationDate, DocumentId."""
    element = _sub(parent, "ResponseFor")
    _sub(element, "OrganId", item["organ_id"])
    _sub(element, "Code", item["code"])
    _sub(element, "PromulgationDate", _date_to_xml(item["promulgation_date"]))
    _sub(element, "DocumentId", item["document_id"])


def _timestamp_to_xml(iso: str) -> str:
    """An ISO timestamp as the field writes one: ``yyyy/MM/dd HH:mm:ss`` in Vietnam time."""
    if not iso:
        return ""
    moment = datetime.datetime.fromisoformat(iso)
    if moment.tzinfo is not None:
        moment = moment.astimezone(VIETNAM)
    return moment.strftime("%Y/%m/%d %H:%M:%S")


def _write_message_header(header: Element, meta: Meta) -> None:
    """The MessageHeader in the order the field's common library writes it (interop README)."""
    mh = _sub(header, "MessageHeader")
    _write_organ(mh, "From", meta["from"])
    for recipient in meta["to"]:
        _write_organ(mh, "To", recipient)
    _sub(mh, "DocumentId", meta["document_id"])
    code = _sub(mh, "Code")
    _sub(code, "CodeNumber", meta["code_number"])
    _sub(code, "CodeNotation", meta["code_notation"])
    info = _sub(mh, "PromulgationInfo")
    _sub(info, "Place", meta["promulgation_place"], field="PromulgationInfo/Place")
    _sub(info, "PromulgationDate", _date_to_xml(meta["promulgation_date"]))
    doc_type = _sub(mh, "DocumentType")
    _sub(doc_type, "Type", meta["doc_type"], field="DocumentType/Type")
    _sub(doc_type, "TypeDetail", meta["type_detail"], field="DocumentType/TypeDetail")
    _sub(doc_type, "TypeName", meta["doc_type_name"], field="DocumentType/TypeName")
    _sub(mh, "Subject", meta["subject"], field="MessageHeader/Subject")
    _sub(mh, "Content", meta["content"], field="MessageHeader/Content")
    signer = _sub(mh, "SignerInfo")
    _sub(signer, "Competence", meta["signer_competence"], field="SignerInfo/Competence")
    _sub(signer, "Position", meta["signer_position"], field="SignerInfo/Position")
    _sub(signer, "FullName", meta["signer_name"], field="SignerInfo/FullName")
    _sub(mh, "DueDate", _date_to_xml(meta["due_date"]))
    other = _sub(mh, "OtherInfo")
    _sub(other, "Priority", str(meta["priority"]))
    _sub(
        other, "SphereOfPromulgation", meta["sphere_of_promulgation"], field="OtherInfo/SphereOfPromulgation"
    )
    _sub(other, "TyperNotation", meta["typer_notation"], field="OtherInfo/TyperNotation")
    _sub(other, "PromulgationAmount", str(meta["promulgation_amount"]))
    _sub(other, "PageAmount", str(meta["page_amount"]))
    _sub(other, "Direction", meta["direction"], field="OtherInfo/Direction")
    appendixes = _sub(other, "Appendixes")
    for appendix in meta["appendixes"]:
        _sub(appendixes, "Appendix", appendix, field="OtherInfo/Appendixes/Appendix")
    for item in meta["response_for"]:
        _write_response_for(mh, item)
    _sub(mh, "SteeringType", str(meta["steering_type"]))
    places = _sub(mh, "ToPlaces")
    for place in meta["to_places"]:
        _sub(places, "Place", place, field="ToPlaces/Place")


def _write_trace(header: Element, meta: Meta) -> None:
    trace_list = _sub(header, "TraceHeaderList")
    for item in meta["trace"]:
        trace = _sub(trace_list, "TraceHeader")
        _sub(trace, "OrganId", item["organ_id"])
        _sub(trace, "Timestamp", _timestamp_to_xml(item["timestamp"]))
    business = _sub(trace_list, "Bussiness")
    if meta["business_document_id"]:
        _sub(business, "DocumentId", meta["business_document_id"], field="Bussiness/DocumentId")
    _sub(business, "BussinessDocType", str(meta["business_doc_type"]))
    _sub(business, "BussinessDocReason", meta["business_reason"], field="Bussiness/BussinessDocReason")
    _sub(business, "Paper", str(meta["paper"]))
    info = meta["business_info"]
    if info["document_info"] or info["document_receiver"] or info["receivers"]:
        block = _sub(business, "BussinessDocumentInfo")
        _sub(block, "DocumentInfo", info["document_info"] or "0")
        _sub(block, "DocumentReceiver", info["document_receiver"] or "0")
        receivers = _sub(block, "ReceiverList")
        for receiver in info["receivers"]:
            element = _sub(receivers, "Receiver")
            _sub(element, "OrganId", receiver["organ_id"])
            _sub(element, "ReceiverType", receiver["receiver_type"] or "0")
    _write_staff(business, meta["staff_info"])
    if meta["replacement_info"]:
        replacements = _sub(business, "ReplacementInfoList")
        for item in meta["replacement_info"]:
            replacement = _sub(replacements, "ReplacementInfo")
            _sub(replacement, "DocumentId", item["document_id"], field="ReplacementInfo/DocumentId")
            organs = _sub(replacement, "OrganIdList")
            for organ_id in item["organ_id_list"]:
                _sub(organs, "OrganId", organ_id)


def _signature_bytes(signature: bytes | bytearray | Element) -> bytes:
    """The caller's Signature (an lxml element or XML bytes) serialized as it is.

    It is spliced into the output rather than appended to the tree, so that pretty printing
    never touches the whitespace inside it (which a signature's digest covers).
    """
    if isinstance(signature, (bytes, bytearray)):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
        try:
            tree = etree.fromstring(bytes(signature), parser)
        except etree.XMLSyntaxError as exc:
            raise EdxmlError(
                _("The signature is not well-formed XML: ${detail}."),
                field="Signature",
                detail=excerpt(exc.msg, 200),
            ) from None
        if tree.getroottree().docinfo.doctype:
            raise EdxmlError(_("The signature may not contain a DOCTYPE."), field="Signature")
        element = tree
    else:
        element = signature
    if etree.QName(element).localname != "Signature":
        raise EdxmlError(_("The signature must be a Signature element."), field="Signature")
    return etree.tostring(element, with_tail=False)


def _encode_attachment(fileobj: IO[bytes]) -> tuple[list[bytes], int, str]:
    """Base64 in 76-character lines of a readable binary file, read in chunks; size, SHA-256.

    Whole 57-byte lines are encoded as they come, the rest carried to the next read, so the
    output does not depend on how the file happens to split its reads.
    """
    digest = hashlib.sha256()
    size = 0
    parts = []
    carry = b""
    while True:
        chunk = fileobj.read(ENCODE_CHUNK)
        if not chunk:
            break
        digest.update(chunk)
        size += len(chunk)
        if carry:
            chunk = carry + chunk
        cut = len(chunk) - len(chunk) % 57
        carry = chunk[cut:]
        if cut:
            parts.append(base64.encodebytes(chunk[:cut] if cut < len(chunk) else chunk))
    if carry:
        parts.append(base64.encodebytes(carry))
    return parts, size, digest.hexdigest()


def _envelope() -> tuple[Element, Element, Element]:
    """The field's frame: root ``edXML`` (default namespace), the prefixed envelope, its header."""
    root = etree.Element(q("edXML"), nsmap={None: NS})
    envelope = etree.SubElement(root, q("edXMLEnvelope"), nsmap={PREFIX: NS})
    return root, envelope, _sub(envelope, "edXMLHeader")


def _serialize(root: Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


#: how a writer carries an attachment: zip-wrapped as the vendors' common library, or raw
WRAP_ZIP, WRAP_RAW = "zip", "raw"
ATTACHMENT_WRAPPINGS = (WRAP_ZIP, WRAP_RAW)
#: the placeholder each attachment's base64 replaces (no user text can hold a raw "<")
_DATA_PLACEHOLDER = b"<ContentTransferEncoded/>"


def _transferred(fileobj: IO[bytes], name: str, wrap: str) -> tuple[IO[bytes], bool]:
    """What goes on the wire for one attachment: the file, or a zip of it (a temp file)."""
    if wrap != WRAP_ZIP:
        return fileobj, False
    digest = hashlib.sha256()
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX) as copy:  # read once, from where it is
        while chunk := fileobj.read(ENCODE_CHUNK):
            digest.update(chunk)
            copy.write(chunk)
        copy.seek(0)
        zipped = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
        unwrap.wrap(copy, name, digest.hexdigest(), zipped)
    return zipped, True


def build_document(
    meta: Mapping[str, Any],
    attachments: Iterable[tuple[Mapping[str, Any], IO[bytes]]],
    signature: bytes | bytearray | Element | None = None,
    *,
    wrap: str = WRAP_ZIP,
) -> bytes:
    """An edXML document package in the field's shape, as UTF-8 bytes; the same input always
    gives the same bytes.

    ``attachments`` is an iterable of ``(info, fileobj)``: ``info`` has ``name``,
    ``content_type`` and ``description``; ``fileobj`` is read once, in chunks, from its
    current position. ``wrap``: ``"zip"`` (each file in a zip of one entry, as the vendors'
    common library writes and reads them) or ``"raw"``. ``signature`` (an lxml element or
    XML bytes) goes into the header.
    """
    if wrap not in ATTACHMENT_WRAPPINGS:
        raise ValueError(f"wrap must be one of {ATTACHMENT_WRAPPINGS}, not {wrap!r}")
    meta = canonical_document(meta)
    root, envelope, header = _envelope()
    _write_message_header(header, meta)
    _write_trace(header, meta)
    signature_bytes = None
    if signature is not None:
        signature_bytes = _signature_bytes(signature)
        _sub(header, "Signature")
    body = _sub(envelope, "edXMLBody")
    manifest = _sub(body, "edXMLManifest")
    manifest.set("version", "1.0")
    encoded_block = None
    encoded = []
    names = set()
    for number, (info, fileobj) in enumerate(attachments, 1):
        content_id = f"cid:attachment{number}"
        name = as_text(info.get("name"))
        check_attachment_name(name, "Attachment/AttachmentName")
        if name in names:
            raise EdxmlError(
                _("Two attachments are named ${name}."), field="Attachment/AttachmentName", name=excerpt(name)
            )
        names.add(name)
        content_type = as_text(info.get("content_type")).strip() or "application/octet-stream"
        check_content_type(content_type, "Attachment/ContentType")
        carried, zipped = _transferred(fileobj, name, wrap)
        try:
            parts, size, sha256 = _encode_attachment(carried)
        finally:
            if zipped:
                carried.close()
        wire_type = "application/zip" if zipped else content_type
        description = as_text(info.get("description"))
        reference = _sub(manifest, "Reference")
        _sub(reference, "ContentId", content_id)
        _sub(reference, "ContentType", wire_type)
        _sub(reference, "Description", description, field="Reference/Description")
        _sub(reference, "AttachmentName", name, field="Attachment/AttachmentName")
        _sub(reference, "Size", str(size))
        _sub(reference, "Digest", sha256).set("Algorithm", DIGEST_ALGORITHM)
        if encoded_block is None:
            encoded_block = etree.SubElement(root, q("AttachmentEncoded"))
        attachment = _sub(encoded_block, "Attachment")
        _sub(attachment, "ContentId", content_id)
        _sub(attachment, "AttachmentName", name)
        _sub(attachment, "Description", description, field="Reference/Description")
        _sub(attachment, "ContentType", wire_type)
        _sub(attachment, "ContentTransferEncoded")
        encoded.append(parts)
    # Every empty ContentTransferEncoded serializes as this exact tag (unprefixed: the
    # default namespace of the root), and no user text can contain a raw "<", so
    # splitting here splices each attachment's base64 in its place.
    serialized = _serialize(root)
    if signature_bytes is not None:
        serialized = serialized.replace(b"<%s:Signature/>" % PREFIX.encode(), signature_bytes, 1)
    pieces = serialized.split(_DATA_PLACEHOLDER)
    if len(pieces) != len(encoded) + 1:
        raise EdxmlError(_("The signature may not contain attachment elements."), field="Signature")
    out = [pieces[0]]
    for parts, piece in zip(encoded, pieces[1:]):
        out.append(b"<ContentTransferEncoded>")
        out.extend(parts)
        out.append(b"</ContentTransferEncoded>")
        out.append(piece)
    return b"".join(out)


def build_status(status: Mapping[str, Any]) -> bytes:
    """An edXML status message (a delivery's state for its sender) in the field's shape.

    As the SDK's samples: the status is in ``MessageHeader`` (From, ResponseFor, StaffInfo,
    StatusCode, Description, Timestamp); there is no body.
    """
    status = canonical_status(status)
    root, _envelope_element, header = _envelope()
    element = _sub(header, "MessageHeader")
    _write_organ(element, "From", status["from"])
    _write_response_for(element, status["response_for"])
    _write_staff(element, status["staff_info"])
    _sub(element, "StatusCode", status["status_code"])
    _sub(element, "Description", status["description"], field="MessageHeader/Description")
    _sub(element, "Timestamp", _timestamp_to_xml(status["timestamp"]))
    return _serialize(root)
