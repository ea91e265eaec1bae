"""edXML (QCVN 102:2016) codec: documents and status messages to and from bytes.

Shape of a document package (namespace ``NS``, prefix ``edXML``)::

    edXMLEnvelope
      edXMLHeader
        MessageHeader      From, To*, Code, PromulgationInfo, DocumentType, Subject, Content,
                           SignerInfo, DueDate, ToPlaces, OtherInfo, ResponseFor*,
                           SteeringType, DocumentId
        TraceHeaderList    TraceHeader* (OrganId, Timestamp), Bussiness
        Signature          (optional; XML-DSig, added by a signer plugin, kept as bytes here)
      edXMLBody
        edXMLManifest      Reference* (ContentId, ContentType, Description, AttachmentName,
                           Size, Digest)
        Attachment*        ContentId, AttachmentName, ContentType,
                           ContentTransferEncoded (base64), AttachmentText

A status message has ``edXMLHeader > Status`` (ResponseFor, From, StatusCode, Description,
Timestamp, StaffInfo) and an empty body.

Formats in the XML: dates ``yyyy/MM/dd`` (the usual edXML form; ``yyyy-MM-dd`` is accepted
too), timestamps ISO 8601 with offset (``2026-11-25T10:00:00+07:00``; the older
``yyyy/MM/dd HH:mm:ss`` is accepted and read as Vietnam time). The dict side is always ISO.
``Size`` (decoded bytes) and ``Digest`` (hex SHA-256, ``Algorithm`` = the XML-Enc sha256 URI)
in a manifest Reference are our additions: always written, verified when present, so
packages from products that do not write them still import.

Safety design (every package is hostile input):

- lxml's event *target* parser (``XMLParser(target=...)`` fed in chunks) with
  ``resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False``. A target
  parser rather than iterparse because libxml2's tree builder refuses text nodes over
  10 MB without ``huge_tree`` (a 7.5 MB attachment is already too big) and would hold the
  whole base64 text; with a target we receive the text in pieces and decode it as it
  comes, straight into a temp file (SpooledTemporaryFile, rolling to disk at 1 MiB).
  Peak Python memory for a 10 MB package is a small fraction of its size.
- Any DOCTYPE is refused outright from the target's ``doctype`` callback, which libxml2
  calls before the internal subset is read: no entity is ever declared, so billion laughs
  and XXE have nothing to expand; an undeclared ``&name;`` is a well-formedness error.
- Size is checked before reading when the length is known and while reading otherwise;
  depth, element count, attachment count and the length of every non-attachment text are
  bounded while parsing, so nothing grows beyond its limit before being refused.
- Base64 is decoded strictly (``binascii.a2b_base64(strict_mode=True)``, no data after
  padding), then sizes and SHA-256 digests are checked against the manifest.
- The resulting metadata is validated (required fields, unit codes, numbers, dates,
  priority, business type, status code) by the same checks the builder applies, so what we
  build we can read back, and what we refuse we never build.

Every refusal is an ``EdxmlError`` (a 400 ``ServiceError``) with a translatable reason and,
where one element is at fault, ``field`` naming it (e.g. ``MessageHeader/Subject``).
"""
import base64
import binascii
import datetime
import hashlib
import os
import re
import tempfile

from lxml import etree

from .errors import ServiceError
from .i18n import _
from .resources.directory import valid_code

NS = "http://www.mic.gov.vn/TBT/QCVN_102_2016"
PREFIX = "edXML"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
DIGEST_ALGORITHM = "http://www.w3.org/2001/04/xmlenc#sha256"

DEFAULT_MAX_BYTES = 300 * 2**20    # the 200 MB per-document default, grown by base64's 4/3
DEFAULT_MAX_DEPTH = 32             # a real package is at most ~10 deep (with a signature)
DEFAULT_MAX_ATTACHMENTS = 100
DEFAULT_MAX_ELEMENTS = 100_000
MAX_FIELD_CHARS = 1_000_000        # any text other than an attachment's
READ_CHUNK = 256 * 1024
SPOOL_MAX = 2**20
ENCODE_CHUNK = 57 * 4096           # a whole number of 76-character base64 lines

STATUS_CODES = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
BUSINESS_DOC_TYPES = (0, 1, 2, 3)  # new, revoke, update, replace
PRIORITIES = range(0, 5)
VIETNAM = datetime.timezone(datetime.timedelta(hours=7))

ORGAN_FIELDS = (("OrganId", "organ_id"), ("OrganName", "organ_name"),
                ("OrganInCharge", "organ_in_charge"), ("OrganAdd", "organ_add"),
                ("Email", "email"), ("Telephone", "telephone"), ("Fax", "fax"),
                ("Website", "website"))
STAFF_FIELDS = (("Department", "department"), ("Staff", "staff"), ("Mobile", "mobile"),
                ("Email", "email"))
RESPONSE_FIELDS = (("OrganId", "organ_id"), ("Code", "code"),
                   ("PromulgationDate", "promulgation_date"), ("DocumentId", "document_id"))

CODE_NUMBER_RE = re.compile(r"^\d{1,10}$")
CODE_NOTATION_RE = re.compile(r"^\w[\w./&()-]{0,99}$")
FULL_CODE_RE = re.compile(r"^\d{1,10}/\w[\w./&()-]{0,99}$")
DOCUMENT_ID_RE = re.compile(r"^[^\s<>&\"']{1,200}$")
CONTENT_TYPE_RE = re.compile(r"^[\w.+-]+/[\w.+-]+(\s*;.{0,200})?$")
XML_DATE_RE = re.compile(r"^(\d{4})([/-])(\d{2})\2(\d{2})$")
ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
OLD_TIMESTAMP_RE = re.compile(r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}(:\d{2})?$")
INT_RE = re.compile(r"^[+-]?\d{1,9}$")
BAD_NAME_RE = re.compile(r"[/\\\x00-\x1f\x7f]")

__all__ = ["EdxmlError", "NS", "STATUS_CODES", "build_document", "parse_document",
           "build_status", "parse_status", "kind"]


class EdxmlError(ServiceError):
    """An edXML package (or the data to build one) that the codec refuses."""

    status = 400


def q(name):
    """The qualified tag of an edXML element."""
    return "{%s}%s" % (NS, name)


def _short(value, limit=60):
    """A hostile value made safe to quote in a message."""
    value = str(value)
    shown = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return shown + ("…" if len(value) > limit else "")


def _required(field):
    return EdxmlError(_("The edXML element ${element} is required and may not be empty."),
                      field=field, element=field)


# --------------------------------------------------------------------------- values

def _xml_date_to_iso(value, field, required=False):
    """``yyyy/MM/dd`` or ``yyyy-MM-dd`` → ISO; "" stays "" unless required."""
    value = (value or "").strip()
    if not value:
        if required:
            raise _required(field)
        return ""
    match = XML_DATE_RE.match(value)
    try:
        if not match:
            raise ValueError(value)
        return datetime.date(int(match[1]), int(match[3]), int(match[4])).isoformat()
    except ValueError:
        raise EdxmlError(_("${element} is not a valid date (yyyy/MM/dd): ${value}."),
                         field=field, element=field, value=_short(value)) from None


def _iso_date(value, field, required=False):
    """A dict-side ISO date checked, for building."""
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise _required(field)
        return ""
    try:
        if not ISO_DATE_RE.match(value):
            raise ValueError(value)
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise EdxmlError(_("${element} is not a valid date (yyyy-mm-dd): ${value}."),
                         field=field, element=field, value=_short(value)) from None


def _date_to_xml(iso):
    return iso.replace("-", "/")


def _timestamp(value, field, required=True):
    """ISO 8601 (offset optional, Vietnam time if absent) or ``yyyy/MM/dd HH:mm:ss`` → ISO."""
    value = "" if value is None else str(value).strip()
    if not value:
        if required:
            raise _required(field)
        return ""
    try:
        if OLD_TIMESTAMP_RE.match(value):
            value = value.replace("/", "-").replace(" ", "T")
        if len(value) > 40:
            raise ValueError(value)
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise EdxmlError(_("${element} is not a valid timestamp: ${value}."),
                         field=field, element=field, value=_short(value)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.isoformat()


def _int(value, field, default=0):
    """An integer element ("" → default); refuses anything else."""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int):
        return value
    value = "" if value is None else str(value).strip()
    if not value:
        return default
    if not INT_RE.match(value):
        raise EdxmlError(_("${element} must be a whole number, not ${value}."),
                         field=field, element=field, value=_short(value))
    return int(value)


def _str(value):
    return "" if value is None else str(value)


def _organ(data):
    data = data or {}
    return {key: _str(data.get(key)).strip() if key == "organ_id" else _str(data.get(key))
            for _name, key in ORGAN_FIELDS}


def _staff(data):
    data = data or {}
    return {key: _str(data.get(key)) for _name, key in STAFF_FIELDS}


def _check_organ_id(value, field, required=True):
    if not value:
        if required:
            raise _required(field)
        return
    if not valid_code(value):
        raise EdxmlError(_("${element} is not a valid unit identifier code: ${value}."),
                         field=field, element=field, value=_short(value))


def _check_nonnegative(value, field):
    if value < 0:
        raise EdxmlError(_("${element} may not be negative."), field=field, element=field)


def _check_response_for(item, base):
    _check_organ_id(item["organ_id"], base + "/OrganId")
    if not item["code"]:
        raise _required(base + "/Code")
    if not FULL_CODE_RE.match(item["code"]):
        raise EdxmlError(_("${element} is not a valid document code (number/notation): ${value}."),
                         field=base + "/Code", element=base + "/Code", value=_short(item["code"]))
    if item["document_id"] and not DOCUMENT_ID_RE.match(item["document_id"]):
        raise EdxmlError(_("${element} is not a valid document identifier."),
                         field=base + "/DocumentId", element=base + "/DocumentId")


def _check_document(meta):
    """The rules every document must meet, built or parsed (dates and ints already checked)."""
    mh = "MessageHeader"
    _check_organ_id(meta["from"]["organ_id"], mh + "/From/OrganId")
    if not meta["to"]:
        raise EdxmlError(_("A document needs at least one recipient (MessageHeader/To)."),
                         field=mh + "/To")
    for recipient in meta["to"]:
        _check_organ_id(recipient["organ_id"], mh + "/To/OrganId")
    if not meta["document_id"]:
        raise _required(mh + "/DocumentId")
    if not DOCUMENT_ID_RE.match(meta["document_id"]):
        raise EdxmlError(_("${element} is not a valid document identifier."),
                         field=mh + "/DocumentId", element=mh + "/DocumentId")
    if not meta["code_number"]:
        raise _required(mh + "/Code/CodeNumber")
    if not CODE_NUMBER_RE.match(meta["code_number"]):
        raise EdxmlError(_("${element} is not a valid document number: ${value}."),
                         field=mh + "/Code/CodeNumber", element=mh + "/Code/CodeNumber",
                         value=_short(meta["code_number"]))
    if not meta["code_notation"]:
        raise _required(mh + "/Code/CodeNotation")
    if not CODE_NOTATION_RE.match(meta["code_notation"]):
        raise EdxmlError(_("${element} is not a valid notation: ${value}."),
                         field=mh + "/Code/CodeNotation", element=mh + "/Code/CodeNotation",
                         value=_short(meta["code_notation"]))
    if not meta["subject"].strip():
        raise _required(mh + "/Subject")
    if meta["priority"] not in PRIORITIES:
        raise EdxmlError(_("The priority must be between 0 and 4, not ${value}."),
                         field=mh + "/OtherInfo/Priority", value=meta["priority"])
    for key, name in (("promulgation_amount", "PromulgationAmount"), ("page_amount", "PageAmount")):
        _check_nonnegative(meta[key], mh + "/OtherInfo/" + name)
    _check_nonnegative(meta["steering_type"], mh + "/SteeringType")
    for item in meta["response_for"]:
        _check_response_for(item, mh + "/ResponseFor")
    for item in meta["trace"]:
        _check_organ_id(item["organ_id"], "TraceHeaderList/TraceHeader/OrganId")
    bus = "TraceHeaderList/Bussiness"
    if meta["business_doc_type"] not in BUSINESS_DOC_TYPES:
        raise EdxmlError(_("Unknown BussinessDocType ${value} (0 new, 1 revoke, 2 update, 3 replace)."),
                         field=bus + "/BussinessDocType", value=meta["business_doc_type"])
    if meta["business_doc_type"] and not meta["business_document_id"]:
        raise EdxmlError(_("A revocation, update or replacement must name the original (${element})."),
                         field=bus + "/DocumentId", element=bus + "/DocumentId")
    for item in meta["replacement_info"]:
        base = bus + "/ReplacementInfoList/ReplacementInfo"
        if not item["document_id"]:
            raise _required(base + "/DocumentId")
        for organ_id in item["organ_id_list"]:
            _check_organ_id(organ_id, base + "/OrganIdList/OrganId")


def _canonical_document(meta):
    """The full metadata dict from a caller's (possibly partial) one, checked for building."""
    mh = "MessageHeader"
    out = {
        "document_id": _str(meta.get("document_id")).strip(),
        "from": _organ(meta.get("from")),
        "to": [_organ(item) for item in meta.get("to") or ()],
        "code_number": _str(meta.get("code_number")).strip(),
        "code_notation": _str(meta.get("code_notation")).strip(),
        "promulgation_place": _str(meta.get("promulgation_place")),
        "promulgation_date": _iso_date(meta.get("promulgation_date"),
                                       mh + "/PromulgationInfo/PromulgationDate", required=True),
        "doc_type": _str(meta.get("doc_type")).strip(),
        "doc_type_name": _str(meta.get("doc_type_name")),
        "subject": _str(meta.get("subject")),
        "content": _str(meta.get("content")),
        "signer_competence": _str(meta.get("signer_competence")),
        "signer_position": _str(meta.get("signer_position")),
        "signer_name": _str(meta.get("signer_name")),
        "due_date": _iso_date(meta.get("due_date"), mh + "/DueDate"),
        "to_places": [_str(place) for place in meta.get("to_places") or ()],
        "priority": _int(meta.get("priority"), mh + "/OtherInfo/Priority"),
        "sphere_of_promulgation": _str(meta.get("sphere_of_promulgation")),
        "promulgation_amount": _int(meta.get("promulgation_amount"), mh + "/OtherInfo/PromulgationAmount"),
        "page_amount": _int(meta.get("page_amount"), mh + "/OtherInfo/PageAmount"),
        "appendixes": [_str(item) for item in meta.get("appendixes") or ()],
        "steering_type": _int(meta.get("steering_type"), mh + "/SteeringType"),
        "response_for": [{
            "organ_id": _str(item.get("organ_id")).strip(),
            "code": _str(item.get("code")).strip(),
            "promulgation_date": _iso_date(item.get("promulgation_date"),
                                           mh + "/ResponseFor/PromulgationDate"),
            "document_id": _str(item.get("document_id")).strip(),
        } for item in meta.get("response_for") or ()],
        "business_doc_type": _int(meta.get("business_doc_type"),
                                  "TraceHeaderList/Bussiness/BussinessDocType"),
        "business_reason": _str(meta.get("business_reason")),
        "business_document_id": _str(meta.get("business_document_id")).strip(),
        "staff_info": _staff(meta.get("staff_info")),
        "replacement_info": [{
            "document_id": _str(item.get("document_id")).strip(),
            "organ_id_list": [_str(code).strip() for code in item.get("organ_id_list") or ()],
        } for item in meta.get("replacement_info") or ()],
        "trace": [{
            "organ_id": _str(item.get("organ_id")).strip(),
            "timestamp": _timestamp(item.get("timestamp"), "TraceHeaderList/TraceHeader/Timestamp"),
        } for item in meta.get("trace") or ()],
    }
    _check_document(out)
    return out


def _check_status(status):
    base = "Status"
    _check_response_for(status["response_for"], base + "/ResponseFor")
    _check_organ_id(status["from"]["organ_id"], base + "/From/OrganId")
    if not status["status_code"]:
        raise _required(base + "/StatusCode")
    if status["status_code"] not in STATUS_CODES:
        raise EdxmlError(_("Unknown status code ${value} (known: ${known})."),
                         field=base + "/StatusCode", value=_short(status["status_code"]),
                         known=", ".join(STATUS_CODES))


def _canonical_status(status):
    base = "Status"
    response = status.get("response_for") or {}
    out = {
        "response_for": {
            "organ_id": _str(response.get("organ_id")).strip(),
            "code": _str(response.get("code")).strip(),
            "promulgation_date": _iso_date(response.get("promulgation_date"),
                                           base + "/ResponseFor/PromulgationDate"),
            "document_id": _str(response.get("document_id")).strip(),
        },
        "from": _organ(status.get("from")),
        "status_code": _str(status.get("status_code")).strip(),
        "description": _str(status.get("description")),
        "timestamp": _timestamp(status.get("timestamp"), base + "/Timestamp"),
        "staff_info": _staff(status.get("staff_info")),
    }
    _check_status(out)
    return out


# --------------------------------------------------------------------------- building

def _sub(parent, name, text=None, field=None):
    element = etree.SubElement(parent, q(name))
    if text is not None:
        try:
            element.text = text
        except ValueError:
            field = field or name
            raise EdxmlError(_("${element} contains characters that XML cannot carry."),
                             field=field, element=field) from None
    return element


def _write_organ(parent, name, organ):
    element = _sub(parent, name)
    for tag, key in ORGAN_FIELDS:
        _sub(element, tag, organ[key], field=f"{name}/{tag}")
    return element


def _write_staff(parent, staff):
    element = _sub(parent, "StaffInfo")
    for tag, key in STAFF_FIELDS:
        _sub(element, tag, staff[key], field="StaffInfo/" + tag)


def _write_response_for(parent, item):
    element = _sub(parent, "ResponseFor")
    _sub(element, "OrganId", item["organ_id"])
    _sub(element, "Code", item["code"])
    _sub(element, "PromulgationDate", _date_to_xml(item["promulgation_date"]))
    _sub(element, "DocumentId", item["document_id"])


def _write_message_header(header, meta):
    mh = _sub(header, "MessageHeader")
    _write_organ(mh, "From", meta["from"])
    for recipient in meta["to"]:
        _write_organ(mh, "To", recipient)
    code = _sub(mh, "Code")
    _sub(code, "CodeNumber", meta["code_number"])
    _sub(code, "CodeNotation", meta["code_notation"])
    info = _sub(mh, "PromulgationInfo")
    _sub(info, "Place", meta["promulgation_place"], field="PromulgationInfo/Place")
    _sub(info, "PromulgationDate", _date_to_xml(meta["promulgation_date"]))
    doc_type = _sub(mh, "DocumentType")
    _sub(doc_type, "Type", meta["doc_type"], field="DocumentType/Type")
    _sub(doc_type, "TypeName", meta["doc_type_name"], field="DocumentType/TypeName")
    _sub(mh, "Subject", meta["subject"], field="MessageHeader/Subject")
    _sub(mh, "Content", meta["content"], field="MessageHeader/Content")
    signer = _sub(mh, "SignerInfo")
    _sub(signer, "Competence", meta["signer_competence"], field="SignerInfo/Competence")
    _sub(signer, "Position", meta["signer_position"], field="SignerInfo/Position")
    _sub(signer, "FullName", meta["signer_name"], field="SignerInfo/FullName")
    _sub(mh, "DueDate", _date_to_xml(meta["due_date"]))
    places = _sub(mh, "ToPlaces")
    for place in meta["to_places"]:
        _sub(places, "Place", place, field="ToPlaces/Place")
    other = _sub(mh, "OtherInfo")
    _sub(other, "Priority", str(meta["priority"]))
    _sub(other, "SphereOfPromulgation", meta["sphere_of_promulgation"],
         field="OtherInfo/SphereOfPromulgation")
    _sub(other, "PromulgationAmount", str(meta["promulgation_amount"]))
    _sub(other, "PageAmount", str(meta["page_amount"]))
    appendixes = _sub(other, "Appendixes")
    for appendix in meta["appendixes"]:
        _sub(appendixes, "Appendix", appendix, field="OtherInfo/Appendixes/Appendix")
    for item in meta["response_for"]:
        _write_response_for(mh, item)
    _sub(mh, "SteeringType", str(meta["steering_type"]))
    _sub(mh, "DocumentId", meta["document_id"])


def _write_trace(header, meta):
    trace_list = _sub(header, "TraceHeaderList")
    for item in meta["trace"]:
        trace = _sub(trace_list, "TraceHeader")
        _sub(trace, "OrganId", item["organ_id"])
        _sub(trace, "Timestamp", item["timestamp"])
    business = _sub(trace_list, "Bussiness")
    _sub(business, "BussinessDocType", str(meta["business_doc_type"]))
    _sub(business, "BussinessDocReason", meta["business_reason"], field="Bussiness/BussinessDocReason")
    _sub(business, "DocumentId", meta["business_document_id"], field="Bussiness/DocumentId")
    _write_staff(business, meta["staff_info"])
    replacements = _sub(business, "ReplacementInfoList")
    for item in meta["replacement_info"]:
        replacement = _sub(replacements, "ReplacementInfo")
        _sub(replacement, "DocumentId", item["document_id"], field="ReplacementInfo/DocumentId")
        organs = _sub(replacement, "OrganIdList")
        for organ_id in item["organ_id_list"]:
            _sub(organs, "OrganId", organ_id)


def _signature_bytes(signature):
    """The caller's Signature (an lxml element or XML bytes) serialized as it is.

    It is spliced into the output rather than appended to the tree, so that pretty printing
    never touches the whitespace inside it (which a signature's digest covers).
    """
    if isinstance(signature, (bytes, bytearray)):
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)
        try:
            tree = etree.fromstring(bytes(signature), parser)
        except etree.XMLSyntaxError as exc:
            raise EdxmlError(_("The signature is not well-formed XML: ${detail}."),
                             field="Signature", detail=_short(exc.msg, 200)) from None
        if tree.getroottree().docinfo.doctype:
            raise EdxmlError(_("The signature may not contain a DOCTYPE."), field="Signature")
        element = tree
    else:
        element = signature
    if etree.QName(element).localname != "Signature":
        raise EdxmlError(_("The signature must be a Signature element."), field="Signature")
    return etree.tostring(element, with_tail=False)


def _encode_attachment(fileobj):
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


def _check_attachment_name(name, field):
    if not name or name in (".", "..") or len(name) > 255 or BAD_NAME_RE.search(name):
        raise EdxmlError(_("The attachment name ${name} is not allowed."),
                         field=field, name=_short(name or ""))


def _check_content_type(content_type, field):
    if not CONTENT_TYPE_RE.match(content_type):
        raise EdxmlError(_("${element} is not a valid content type: ${value}."),
                         field=field, element=field, value=_short(content_type))


def _envelope():
    root = etree.Element(q("edXMLEnvelope"), nsmap={PREFIX: NS})
    return root, _sub(root, "edXMLHeader")


def _serialize(root):
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def build_document(meta, attachments, signature=None):
    """An edXML document package as UTF-8 bytes; the same input always gives the same bytes.

    ``attachments`` is an iterable of ``(info, fileobj)``: ``info`` has ``name``,
    ``content_type`` and ``description``; ``fileobj`` is read once, in chunks, from its
    current position. ``signature`` (an lxml element or XML bytes) goes into the header.
    """
    meta = _canonical_document(meta)
    root, header = _envelope()
    _write_message_header(header, meta)
    _write_trace(header, meta)
    signature_bytes = None
    if signature is not None:
        signature_bytes = _signature_bytes(signature)
        _sub(header, "Signature")
    body = _sub(root, "edXMLBody")
    manifest = _sub(body, "edXMLManifest")
    encoded = []
    names = set()
    for number, (info, fileobj) in enumerate(attachments, 1):
        content_id = f"attachment{number}"
        name = _str(info.get("name"))
        _check_attachment_name(name, "Attachment/AttachmentName")
        if name in names:
            raise EdxmlError(_("Two attachments are named ${name}."),
                             field="Attachment/AttachmentName", name=_short(name))
        names.add(name)
        content_type = _str(info.get("content_type")).strip() or "application/octet-stream"
        _check_content_type(content_type, "Attachment/ContentType")
        parts, size, sha256 = _encode_attachment(fileobj)
        reference = _sub(manifest, "Reference")
        _sub(reference, "ContentId", content_id)
        _sub(reference, "ContentType", content_type)
        _sub(reference, "Description", _str(info.get("description")), field="Reference/Description")
        _sub(reference, "AttachmentName", name, field="Attachment/AttachmentName")
        _sub(reference, "Size", str(size))
        _sub(reference, "Digest", sha256).set("Algorithm", DIGEST_ALGORITHM)
        attachment = _sub(body, "Attachment")
        _sub(attachment, "ContentId", content_id)
        _sub(attachment, "AttachmentName", name)
        _sub(attachment, "ContentType", content_type)
        _sub(attachment, "ContentTransferEncoded", "base64")
        _sub(attachment, "AttachmentText")
        encoded.append(parts)
    # Every empty AttachmentText serializes as this exact tag, and no user text can
    # contain a raw "<", so splitting here splices each attachment's base64 in its place.
    serialized = _serialize(root)
    if signature_bytes is not None:
        serialized = serialized.replace(b"<%s:Signature/>" % PREFIX.encode(), signature_bytes, 1)
    pieces = serialized.split(b"<%s:AttachmentText/>" % PREFIX.encode())
    if len(pieces) != len(encoded) + 1:
        raise EdxmlError(_("The signature may not contain attachment elements."), field="Signature")
    out = [pieces[0]]
    for parts, piece in zip(encoded, pieces[1:]):
        out.append(b"<%s:AttachmentText>\n" % PREFIX.encode())
        out.extend(parts)
        out.append(b"</%s:AttachmentText>" % PREFIX.encode())
        out.append(piece)
    return b"".join(out)


def build_status(status):
    """An edXML status message (a delivery's state for its sender) as UTF-8 bytes."""
    status = _canonical_status(status)
    root, header = _envelope()
    element = _sub(header, "Status")
    _write_response_for(element, status["response_for"])
    _write_organ(element, "From", status["from"])
    _sub(element, "StatusCode", status["status_code"])
    _sub(element, "Description", status["description"], field="Status/Description")
    _sub(element, "Timestamp", status["timestamp"])
    _write_staff(element, status["staff_info"])
    _sub(root, "edXMLBody")
    return _serialize(root)


# --------------------------------------------------------------------------- parsing

class _Base64Sink:
    """Strict base64 decoding of text that arrives in pieces, into a temp file."""

    def __init__(self, spool_dir, label):
        if spool_dir is None:
            self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
        else:
            self.file = tempfile.NamedTemporaryFile(dir=spool_dir, prefix="edxml-")
        self.label = label
        self.pending = b""
        self.padded = False
        self.size = 0
        self.sha = hashlib.sha256()

    def bad(self):
        return EdxmlError(_("The attachment ${name} is not valid base64."),
                          field="Attachment/AttachmentText", name=_short(self.label))

    def feed(self, text):
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError:
            raise self.bad() from None
        raw = raw.translate(None, b" \t\r\n")
        if self.pending:
            raw = self.pending + raw
        cut = len(raw) - len(raw) % 4
        self.pending = raw[cut:]
        if cut:
            self._decode(raw[:cut] if cut < len(raw) else raw)

    def _decode(self, piece):
        if self.padded:
            raise self.bad()
        try:
            data = binascii.a2b_base64(piece, strict_mode=True)
        except binascii.Error:
            raise self.bad() from None
        self.padded = piece.endswith(b"=")
        self.file.write(data)
        self.sha.update(data)
        self.size += len(data)

    def finish(self):
        if self.pending:
            raise self.bad()
        self.file.seek(0)


def _aborting(method):
    """Mark the target as aborted when a callback raises (see ``_Target.close``)."""
    def wrapper(self, *args):
        try:
            return method(self, *args)
        except BaseException:
            self.aborted = True
            raise
    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return wrapper


class _Target:
    """lxml parser target: builds the small tree, streams AttachmentText, enforces limits."""

    BODY, ATTACHMENT, TEXT = q("edXMLBody"), q("Attachment"), q("AttachmentText")

    def __init__(self, *, max_depth, max_attachments, max_elements, spool_dir, expect=None):
        self.builder = etree.TreeBuilder()
        self.stack = []
        self.elements = 0
        self.text_chars = 0
        self.max_depth = max_depth
        self.max_attachments = max_attachments
        self.max_elements = max_elements
        self.spool_dir = spool_dir
        self.expect = expect       # "document", "status", or "kind" to stop once known
        self.sink = None
        self.sinks = {}            # Attachment element → its _Base64Sink
        self.attachments = []      # finished: (element, sink)
        self.aborted = False

    @_aborting
    def doctype(self, name, pubid, system):
        raise EdxmlError(_("The edXML package may not contain a DOCTYPE or entity declarations."))

    @_aborting
    def start(self, tag, attrib, nsmap=None):
        depth = len(self.stack) + 1
        if depth > self.max_depth:
            raise EdxmlError(_("The edXML package is nested deeper than ${limit} levels."),
                             limit=self.max_depth)
        self.elements += 1
        if self.elements > self.max_elements:
            raise EdxmlError(_("The edXML package has more than ${limit} elements."),
                             limit=self.max_elements)
        if depth == 1 and tag != q("edXMLEnvelope"):
            raise EdxmlError(
                _("This is not an edXML package: the root must be edXMLEnvelope in the namespace ${namespace}."),
                namespace=NS)
        if self.sink is not None:
            raise self.sink.bad()
        if self.expect and depth == 3 and self.stack[-1] == q("edXMLHeader") \
                and tag in (q("MessageHeader"), q("Status")):
            found = "status" if tag == q("Status") else "document"
            if self.expect == "kind":
                raise _Kind(found)
            if found == "status" and self.expect == "document":
                raise EdxmlError(_("This edXML package is a status message, not a document."))
            if found == "document" and self.expect == "status":
                raise EdxmlError(_("This edXML package is a document, not a status message."))
        parent = self.stack[-1] if self.stack else None
        element = self.builder.start(tag, attrib, nsmap)
        if tag == self.ATTACHMENT and parent == self.BODY and depth == 3:
            if len(self.sinks) >= self.max_attachments:
                raise EdxmlError(_("The edXML package has more than ${limit} attachments."),
                                 limit=self.max_attachments)
            self.sinks[element] = None
        elif tag == self.TEXT and parent == self.ATTACHMENT and depth == 4:
            owner = element.getparent()
            if self.sinks.get(owner) is not None:
                raise EdxmlError(_("An attachment has more than one AttachmentText."),
                                 field="Attachment/AttachmentText")
            label = (owner.findtext(q("AttachmentName")) or owner.findtext(q("ContentId"))
                     or "#%d" % len(self.sinks))
            self.sink = self.sinks[owner] = _Base64Sink(self.spool_dir, label)
        self.stack.append(tag)
        self.text_chars = 0

    @_aborting
    def data(self, text):
        if self.sink is not None:
            self.sink.feed(text)
            return
        self.text_chars += len(text)
        if self.text_chars > MAX_FIELD_CHARS:
            raise EdxmlError(_("A text in the edXML package is longer than ${limit} characters."),
                             limit=MAX_FIELD_CHARS)
        self.builder.data(text)

    @_aborting
    def end(self, tag):
        if self.sink is not None:
            self.sink.finish()
            self.sink = None
        element = self.builder.end(tag)
        self.stack.pop()
        self.text_chars = 0
        if element in self.sinks:
            self.attachments.append((element, self.sinks[element]))
            # Leave only the small fields in the tree; the bytes are in the sink's file.
            text = element.find(q("AttachmentText"))
            if text is not None:
                element.remove(text)

    def close(self):
        # lxml calls close() also after a callback raised or libxml2 found an error; the
        # builder would then complain of missing end tags and hide the real reason.
        if self.aborted or self.stack:
            return None
        return self.builder.close()

    def discard(self):
        for sink in self.sinks.values():
            if sink is not None:
                sink.file.close()


class _Kind(Exception):
    def __init__(self, kind):
        self.kind = kind


def _source_size(source):
    """Bytes left in a seekable stream (None when it cannot be known without reading it)."""
    try:
        if source.seekable():
            here = source.tell()
            end = source.seek(0, os.SEEK_END)
            source.seek(here)
            return end - here
    except (AttributeError, OSError, ValueError):
        pass
    return None


def _too_big(limit):
    return EdxmlError(_("The edXML package is larger than the limit of ${limit} bytes."), limit=limit)


def _chunks(source, max_bytes):
    """The input in chunks, refusing it as soon as it is known to exceed ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        if view.nbytes > max_bytes:
            raise _too_big(max_bytes)
        for start in range(0, view.nbytes, READ_CHUNK):
            yield bytes(view[start:start + READ_CHUNK])
        return
    if isinstance(source, str):
        raise TypeError("edXML is read from bytes or a binary stream, not str")
    size = _source_size(source)
    if size is not None and size > max_bytes:
        raise _too_big(max_bytes)
    total = 0
    while True:
        chunk = source.read(READ_CHUNK)
        if not chunk:
            return
        total += len(chunk)
        if total > max_bytes:
            raise _too_big(max_bytes)
        yield chunk


def _parse(source, *, max_bytes, max_depth, max_attachments, max_elements, spool_dir, expect):
    """Run the safe parser; the small tree's root and the target (attachments, sinks)."""
    target = _Target(max_depth=max_depth, max_attachments=max_attachments,
                     max_elements=max_elements, spool_dir=spool_dir, expect=expect)
    parser = etree.XMLParser(target=target, resolve_entities=False, no_network=True,
                             load_dtd=False, huge_tree=False)
    fed = False
    try:
        for chunk in _chunks(source, max_bytes):
            fed = fed or bool(chunk.strip())
            parser.feed(chunk)
        if not fed:
            raise EdxmlError(_("The edXML package is empty."))
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        target.discard()
        detail = exc.msg or str(exc)
        if "depth" in detail.lower():
            raise EdxmlError(_("The edXML package is nested deeper than ${limit} levels."),
                             limit=max_depth) from None
        raise EdxmlError(_("The edXML package is not well-formed XML: ${detail}."),
                         detail=_short(detail, 200)) from None
    except BaseException:
        target.discard()
        raise
    return root, target


def _text(parent, *path):
    """The text of a descendant (by edXML local names), "" when absent."""
    if parent is None:
        return ""
    element = parent.find("/".join(q(name) for name in path))
    return "" if element is None or element.text is None else element.text


def _read_organ(element):
    organ = {key: _text(element, tag) for tag, key in ORGAN_FIELDS}
    organ["organ_id"] = organ["organ_id"].strip()
    return organ


def _read_staff(element):
    return {key: _text(element, tag) for tag, key in STAFF_FIELDS}


def _read_response_for(element, base):
    return {
        "organ_id": _text(element, "OrganId").strip(),
        "code": _text(element, "Code").strip(),
        "promulgation_date": _xml_date_to_iso(_text(element, "PromulgationDate"),
                                              base + "/PromulgationDate"),
        "document_id": _text(element, "DocumentId").strip(),
    }


def _read_message_header(mh):
    base = "MessageHeader"
    other = mh.find(q("OtherInfo"))
    return {
        "document_id": _text(mh, "DocumentId").strip(),
        "from": _read_organ(mh.find(q("From"))),
        "to": [_read_organ(element) for element in mh.findall(q("To"))],
        "code_number": _text(mh, "Code", "CodeNumber").strip(),
        "code_notation": _text(mh, "Code", "CodeNotation").strip(),
        "promulgation_place": _text(mh, "PromulgationInfo", "Place"),
        "promulgation_date": _xml_date_to_iso(_text(mh, "PromulgationInfo", "PromulgationDate"),
                                              base + "/PromulgationInfo/PromulgationDate",
                                              required=True),
        "doc_type": _text(mh, "DocumentType", "Type").strip(),
        "doc_type_name": _text(mh, "DocumentType", "TypeName"),
        "subject": _text(mh, "Subject"),
        "content": _text(mh, "Content"),
        "signer_competence": _text(mh, "SignerInfo", "Competence"),
        "signer_position": _text(mh, "SignerInfo", "Position"),
        "signer_name": _text(mh, "SignerInfo", "FullName"),
        "due_date": _xml_date_to_iso(_text(mh, "DueDate"), base + "/DueDate"),
        "to_places": [element.text or "" for element in mh.findall(q("ToPlaces") + "/" + q("Place"))],
        "priority": _int(_text(other, "Priority"), base + "/OtherInfo/Priority"),
        "sphere_of_promulgation": _text(other, "SphereOfPromulgation"),
        "promulgation_amount": _int(_text(other, "PromulgationAmount"),
                                    base + "/OtherInfo/PromulgationAmount"),
        "page_amount": _int(_text(other, "PageAmount"), base + "/OtherInfo/PageAmount"),
        "appendixes": [element.text or "" for element in
                       (other.findall(q("Appendixes") + "/" + q("Appendix")) if other is not None else ())],
        "steering_type": _int(_text(mh, "SteeringType"), base + "/SteeringType"),
        "response_for": [_read_response_for(element, base + "/ResponseFor")
                         for element in mh.findall(q("ResponseFor"))],
    }


def _read_trace(trace_list):
    base = "TraceHeaderList"
    business = trace_list.find(q("Bussiness")) if trace_list is not None else None
    traces = trace_list.findall(q("TraceHeader")) if trace_list is not None else ()
    replacements = (business.findall(q("ReplacementInfoList") + "/" + q("ReplacementInfo"))
                    if business is not None else ())
    return {
        "business_doc_type": _int(_text(business, "BussinessDocType"),
                                  base + "/Bussiness/BussinessDocType"),
        "business_reason": _text(business, "BussinessDocReason"),
        "business_document_id": _text(business, "DocumentId").strip(),
        "staff_info": _read_staff(business.find(q("StaffInfo")) if business is not None else None),
        "replacement_info": [{
            "document_id": _text(element, "DocumentId").strip(),
            "organ_id_list": [(organ.text or "").strip() for organ in
                              element.findall(q("OrganIdList") + "/" + q("OrganId"))],
        } for element in replacements],
        "trace": [{
            "organ_id": _text(element, "OrganId").strip(),
            "timestamp": _timestamp(_text(element, "Timestamp"), base + "/TraceHeader/Timestamp"),
        } for element in traces],
    }


def _header(root):
    header = root.find(q("edXMLHeader"))
    if header is None:
        raise _required("edXMLHeader")
    return header


def _manifest_mismatch(message, field, **mapping):
    return EdxmlError(message, field=field, **mapping)


def _read_attachments(root, target):
    """Match the streamed attachments with the manifest; their dicts in manifest order."""
    body = root.find(q("edXMLBody"))
    references = (body.findall(q("edXMLManifest") + "/" + q("Reference"))
                  if body is not None else [])
    if len(references) > target.max_attachments:
        raise EdxmlError(_("The edXML package has more than ${limit} attachments."),
                         limit=target.max_attachments)
    found = {}
    names = set()
    for element, sink in target.attachments:
        content_id = _text(element, "ContentId").strip()
        if not content_id:
            raise _required("Attachment/ContentId")
        if content_id in found:
            raise EdxmlError(_("Two attachments have the ContentId ${content_id}."),
                             field="Attachment/ContentId", content_id=_short(content_id))
        name = _text(element, "AttachmentName").strip()
        _check_attachment_name(name, "Attachment/AttachmentName")
        if name in names:
            raise EdxmlError(_("Two attachments are named ${name}."),
                             field="Attachment/AttachmentName", name=_short(name))
        names.add(name)
        encoding = _text(element, "ContentTransferEncoded").strip()
        if encoding.lower() != "base64":
            raise EdxmlError(_("Attachment ${name} is encoded as ${value}; only base64 is accepted."),
                             field="Attachment/ContentTransferEncoded", name=_short(name),
                             value=_short(encoding or "(none)"))
        if sink is None:
            raise _required("Attachment/AttachmentText")
        found[content_id] = (element, sink, name)
    result = []
    listed = set()
    for reference in references:
        content_id = _text(reference, "ContentId").strip()
        field = "edXMLManifest/Reference"
        if not content_id:
            raise _required(field + "/ContentId")
        if content_id in listed:
            raise _manifest_mismatch(_("The manifest lists ${content_id} twice."),
                                     field + "/ContentId", content_id=_short(content_id))
        listed.add(content_id)
        if content_id not in found:
            raise _manifest_mismatch(
                _("The manifest lists ${content_id} but the package has no such attachment."),
                field + "/ContentId", content_id=_short(content_id))
        element, sink, name = found[content_id]
        reference_name = _text(reference, "AttachmentName").strip()
        if reference_name and reference_name != name:
            raise _manifest_mismatch(
                _("The manifest names attachment ${content_id} as ${reference} but the attachment is ${name}."),
                field + "/AttachmentName", content_id=_short(content_id),
                reference=_short(reference_name), name=_short(name))
        content_type = (_text(element, "ContentType").strip() or _text(reference, "ContentType").strip()
                        or "application/octet-stream")
        reference_type = _text(reference, "ContentType").strip()
        if reference_type and reference_type != content_type:
            raise _manifest_mismatch(
                _("The manifest and the attachment ${name} disagree on its content type."),
                field + "/ContentType", name=_short(name))
        _check_content_type(content_type, "Attachment/ContentType")
        size = _text(reference, "Size").strip()
        if size and _int(size, field + "/Size") != sink.size:
            raise _manifest_mismatch(
                _("The size of attachment ${name} does not match the manifest."),
                field + "/Size", name=_short(name))
        digest_element = reference.find(q("Digest"))
        if digest_element is not None:
            algorithm = digest_element.get("Algorithm", DIGEST_ALGORITHM)
            if algorithm != DIGEST_ALGORITHM:
                raise _manifest_mismatch(_("Unsupported digest algorithm ${value}."),
                                         field + "/Digest", value=_short(algorithm))
            if (digest_element.text or "").strip().lower() != sink.sha.hexdigest():
                raise _manifest_mismatch(
                    _("The SHA-256 digest of attachment ${name} does not match the manifest."),
                    field + "/Digest", name=_short(name))
        result.append({
            "name": name,
            "content_type": content_type,
            "description": _text(reference, "Description"),
            "size": sink.size,
            "sha256": sink.sha.hexdigest(),
            "file": sink.file,
        })
    for content_id in found:
        if content_id not in listed:
            raise _manifest_mismatch(_("The attachment ${content_id} is not listed in the manifest."),
                                     "Attachment/ContentId", content_id=_short(content_id))
    return result


def parse_document(stream_or_bytes, *, max_bytes=DEFAULT_MAX_BYTES, max_depth=DEFAULT_MAX_DEPTH,
                   max_attachments=DEFAULT_MAX_ATTACHMENTS, max_elements=DEFAULT_MAX_ELEMENTS,
                   spool_dir=None):
    """A document package's metadata dict, with ``attachments`` and ``signature``.

    Each attachment dict has ``name``, ``content_type``, ``description``, ``size``,
    ``sha256`` and ``file``: a temp file at position 0 holding the decoded bytes (a
    SpooledTemporaryFile, or a NamedTemporaryFile in ``spool_dir`` when given); the caller
    closes it. ``signature`` is the header's Signature element serialized (with the
    namespace declarations in scope, as inclusive C14N of its SignedInfo needs), or None.
    Raises EdxmlError on anything it refuses; no temp file is left open then.
    """
    root, target = _parse(stream_or_bytes, max_bytes=max_bytes, max_depth=max_depth,
                          max_attachments=max_attachments, max_elements=max_elements,
                          spool_dir=spool_dir, expect="document")
    try:
        header = _header(root)
        mh = header.find(q("MessageHeader"))
        if mh is None:
            if header.find(q("Status")) is not None:
                raise EdxmlError(_("This edXML package is a status message, not a document."))
            raise _required("edXMLHeader/MessageHeader")
        meta = _read_message_header(mh)
        meta.update(_read_trace(header.find(q("TraceHeaderList"))))
        _check_document(meta)
        meta["attachments"] = _read_attachments(root, target)
        signature = next((element for element in header
                          if isinstance(element.tag, str) and etree.QName(element).localname == "Signature"),
                         None)
        meta["signature"] = (etree.tostring(signature, with_tail=False)
                             if signature is not None else None)
        return meta
    except BaseException:
        target.discard()
        raise


def parse_status(stream_or_bytes, *, max_bytes=DEFAULT_MAX_BYTES, max_depth=DEFAULT_MAX_DEPTH,
                 max_elements=DEFAULT_MAX_ELEMENTS):
    """A status message's dict: response_for, from, status_code, description, timestamp, staff_info."""
    root, target = _parse(stream_or_bytes, max_bytes=max_bytes, max_depth=max_depth,
                          max_attachments=0, max_elements=max_elements, spool_dir=None,
                          expect="status")
    target.discard()
    header = _header(root)
    element = header.find(q("Status"))
    if element is None:
        if header.find(q("MessageHeader")) is not None:
            raise EdxmlError(_("This edXML package is a document, not a status message."))
        raise _required("edXMLHeader/Status")
    status = {
        "response_for": _read_response_for(element.find(q("ResponseFor")), "Status/ResponseFor"),
        "from": _read_organ(element.find(q("From"))),
        "status_code": _text(element, "StatusCode").strip(),
        "description": _text(element, "Description"),
        "timestamp": _timestamp(_text(element, "Timestamp"), "Status/Timestamp"),
        "staff_info": _read_staff(element.find(q("StaffInfo"))),
    }
    _check_status(status)
    return status


def kind(stream_or_bytes, *, max_bytes=DEFAULT_MAX_BYTES, max_depth=DEFAULT_MAX_DEPTH):
    """"document" or "status", reading only as far as the header's first element.

    A seekable stream is put back where it was, so the caller can then parse it.
    """
    start = None
    if not isinstance(stream_or_bytes, (bytes, bytearray, memoryview)):
        try:
            start = stream_or_bytes.tell() if stream_or_bytes.seekable() else None
        except (AttributeError, OSError):
            start = None
    try:
        _parse(stream_or_bytes, max_bytes=max_bytes, max_depth=max_depth, max_attachments=0,
               max_elements=DEFAULT_MAX_ELEMENTS, spool_dir=None, expect="kind")
    except _Kind as found:
        return found.kind
    finally:
        if start is not None:
            stream_or_bytes.seek(start)
    raise EdxmlError(_("This edXML package is neither a document nor a status message."),
                     field="edXMLHeader")


#: the checked, complete header dict the builder writes (the hub stores exactly this at issue)
canonical_document = _canonical_document
