"""edXML (QCVN 102:2016) codec: documents and status messages to and from bytes.

The shape is the field's (``../shared/interop/README.md``; docs/interop.md), in the
namespace ``NS``: root ``edXML`` (default namespace) holding the envelope (prefix
``edXML``) and, after it, the attachments::

    edXML
      edXMLEnvelope
        edXMLHeader
          MessageHeader    From, To*, DocumentId, Code, PromulgationInfo, DocumentType,
                           Subject, Content, SignerInfo, DueDate, OtherInfo, ResponseFor*,
                           SteeringType, ToPlaces
          TraceHeaderList  TraceHeader* (OrganId, Timestamp), Bussiness
          Signature        (optional; XML-DSig added by a signer plugin, or the field's
                           placeholder in the edXML namespace; kept as bytes here)
        edXMLBody
          edXMLManifest    Reference* (ContentId, ContentType, Description, AttachmentName,
                           Size, Digest)
      AttachmentEncoded
        Attachment*        ContentId, AttachmentName, Description, ContentType,
                           ContentTransferEncoded (the base64; usually of a zip of one entry)

A status message has the same frame; its MessageHeader holds From, ResponseFor, StaffInfo,
StatusCode, Description, Timestamp, and there is no body.

The reader also takes the shape this codec wrote before (root ``edXMLEnvelope``,
``edXMLBody/Attachment`` with the base64 in ``AttachmentText``, ``edXMLHeader/Status``), any
prefix, any element order, and ignores elements it does not know. ``Size`` (bytes on the
wire) and ``Digest`` (hex SHA-256, ``Algorithm`` = the XML-Enc sha256 URI) in a manifest
Reference are our additions: written, verified when present, ignored by other readers.

Four modules, one job each: ``values`` (constants, value checks and the canonical dicts),
``build`` (dicts to bytes), ``parse`` (bytes to dicts, streamed and bounded), ``unwrap``
(zip-wrapped attachments, both ways). Import the names below from ``lienthong.core.edxml``:
that is the codec's public API for the core and for plugins; the modules' layout may change.

Every refusal is an ``EdxmlError`` (a 400 ``ServiceError``) with a translatable reason and,
where one element is at fault, ``field`` naming it (e.g. ``MessageHeader/Subject``); what
is read but worth a person's attention is an ``EdxmlWarning`` in ``meta["warnings"]``.
"""

from ..timezones import VIETNAM
from .build import ATTACHMENT_WRAPPINGS, ENCODE_CHUNK, WRAP_RAW, WRAP_ZIP, build_document, build_status
from .parse import (
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_DEPTH,
    DEFAULT_MAX_ELEMENTS,
    MAX_FIELD_CHARS,
    READ_CHUNK,
    SPOOL_MAX,
    kind,
    parse_document,
    parse_status,
)
from .values import (
    ACCEPTED,
    ARRIVED,
    ASSIGNED,
    BAD_NAME_RE,
    BUSINESS_DOC_TYPES,
    CODE_NOTATION_RE,
    CODE_NUMBER_RE,
    COMPLETED,
    CONTENT_TYPE_RE,
    DIGEST_ALGORITHM,
    DOCUMENT_ID_RE,
    FULL_CODE_RE,
    IN_PROGRESS,
    INT_RE,
    ISO_DATE_RE,
    NS,
    OLD_TIMESTAMP_RE,
    ORGAN_FIELDS,
    PREFIX,
    PRIORITIES,
    RECALL_AGREED,
    RECALL_ASKED,
    RECALL_REFUSED,
    REFUSED,
    STAFF_FIELDS,
    STATUS_CODES,
    UNIT_CODE_RE,
    XML_DATE_RE,
    EdxmlError,
    EdxmlTooLarge,
    EdxmlWarning,
    canonical_document,
    canonical_status,
    q,
    remote_code,
    valid_code,
)

__all__ = [
    # errors and the dicts' one true form
    "EdxmlError",
    "EdxmlTooLarge",
    "EdxmlWarning",
    "canonical_document",
    "canonical_status",
    # bytes out, bytes in
    "build_document",
    "build_status",
    "WRAP_ZIP",
    "WRAP_RAW",
    "ATTACHMENT_WRAPPINGS",
    "parse_document",
    "parse_status",
    "kind",
    # names, codes and values of the format
    "NS",
    "PREFIX",
    "DIGEST_ALGORITHM",
    "q",
    "valid_code",
    "remote_code",
    "UNIT_CODE_RE",
    "STATUS_CODES",
    "ARRIVED",
    "REFUSED",
    "ACCEPTED",
    "ASSIGNED",
    "IN_PROGRESS",
    "COMPLETED",
    "RECALL_ASKED",
    "RECALL_AGREED",
    "RECALL_REFUSED",
    "BUSINESS_DOC_TYPES",
    "PRIORITIES",
    "VIETNAM",
    "ORGAN_FIELDS",
    "STAFF_FIELDS",
    "CODE_NUMBER_RE",
    "CODE_NOTATION_RE",
    "FULL_CODE_RE",
    "DOCUMENT_ID_RE",
    "CONTENT_TYPE_RE",
    "XML_DATE_RE",
    "ISO_DATE_RE",
    "OLD_TIMESTAMP_RE",
    "INT_RE",
    "BAD_NAME_RE",
    # limits of the parser and the builder
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ATTACHMENTS",
    "DEFAULT_MAX_ELEMENTS",
    "MAX_FIELD_CHARS",
    "READ_CHUNK",
    "SPOOL_MAX",
    "ENCODE_CHUNK",
]
