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

``Size`` (decoded bytes) and ``Digest`` (hex SHA-256, ``Algorithm`` = the XML-Enc sha256 URI)
in a manifest Reference are our additions: always written, verified when present, so
packages from products that do not write them still import.

Three modules, one job each: ``values`` (constants, value checks and the canonical dicts),
``build`` (dicts to bytes), ``parse`` (bytes to dicts, streamed and bounded). Import the
names below from ``lienthong.core.edxml``: that is the codec's public API for the core and
for plugins; the modules' layout may change.

Every refusal is an ``EdxmlError`` (a 400 ``ServiceError``) with a translatable reason and,
where one element is at fault, ``field`` naming it (e.g. ``MessageHeader/Subject``).
"""

from ..timezones import VIETNAM
from .build import ENCODE_CHUNK, build_document, build_status
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
    canonical_document,
    canonical_status,
    q,
    valid_code,
)

__all__ = [
    # errors and the dicts' one true form
    "EdxmlError",
    "canonical_document",
    "canonical_status",
    # bytes out, bytes in
    "build_document",
    "build_status",
    "parse_document",
    "parse_status",
    "kind",
    # names, codes and values of the format
    "NS",
    "PREFIX",
    "DIGEST_ALGORITHM",
    "q",
    "valid_code",
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
