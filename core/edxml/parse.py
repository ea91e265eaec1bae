"""edXML parsing: a streaming, bounded reader of document packages and status messages.

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
- The resulting metadata is validated by the same checks the builder applies
  (``values.check_document``, ``values.check_status``).

Longer than 600 lines because the streaming reader is one state machine: the target
callbacks, the bounded base64 decoding and the manifest check share its state, and the
safety design above reads as one piece only if its code does too.
"""

import binascii
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, TypeVar, cast

from lxml import etree

from ..i18n import _
from .values import (
    DIGEST_ALGORITHM,
    NS,
    ORGAN_FIELDS,
    STAFF_FIELDS,
    EdxmlError,
    Meta,
    check_attachment_name,
    check_content_type,
    check_document,
    check_status,
    excerpt,
    q,
    required_error,
    timestamp_to_iso,
    whole_number,
    xml_date_to_iso,
)

DEFAULT_MAX_BYTES = 300 * 2**20  # the 200 MB per-document default, grown by base64's 4/3
DEFAULT_MAX_DEPTH = 32  # a real package is at most ~10 deep (with a signature)
DEFAULT_MAX_ATTACHMENTS = 100
DEFAULT_MAX_ELEMENTS = 100_000
MAX_FIELD_CHARS = 1_000_000  # any text other than an attachment's
READ_CHUNK = 256 * 1024
SPOOL_MAX = 2**20

#: what the parser reads: bytes, or a binary stream (read in chunks, never whole)
Source = bytes | bytearray | memoryview | IO[bytes]
#: where attachments are spooled (None: in memory, rolling to a temp file past SPOOL_MAX)
SpoolDir = str | os.PathLike[str] | None
#: an lxml element (lxml ships no type hints)
Element = Any
Callback = TypeVar("Callback", bound=Callable[..., Any])


class _Base64Sink:
    """Strict base64 decoding of text that arrives in pieces, into a temp file."""

    file: IO[bytes]

    def __init__(self, spool_dir: SpoolDir, label: str) -> None:
        if spool_dir is None:
            self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
        else:
            self.file = tempfile.NamedTemporaryFile(dir=spool_dir, prefix="edxml-")
        self.label = label
        self.pending = b""
        self.padded = False
        self.size = 0
        self.sha = hashlib.sha256()

    def bad(self) -> EdxmlError:
        return EdxmlError(
            _("The attachment ${name} is not valid base64."),
            field="Attachment/AttachmentText",
            name=excerpt(self.label),
        )

    def feed(self, text: str) -> None:
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

    def _decode(self, piece: bytes) -> None:
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

    def finish(self) -> None:
        if self.pending:
            raise self.bad()
        self.file.seek(0)


def _aborting(method: Callback) -> Callback:
    """Mark the target as aborted when a callback raises (see ``_Target.close``)."""

    def wrapper(self: "_Target", *args: Any) -> Any:
        try:
            return method(self, *args)
        except BaseException:
            self.aborted = True
            raise

    wrapper.__name__ = method.__name__
    wrapper.__doc__ = method.__doc__
    return cast(Callback, wrapper)


class _Target:
    """lxml parser target: builds the small tree, streams AttachmentText, enforces limits."""

    BODY, ATTACHMENT, TEXT = q("edXMLBody"), q("Attachment"), q("AttachmentText")

    def __init__(
        self,
        *,
        max_depth: int,
        max_attachments: int,
        max_elements: int,
        spool_dir: SpoolDir,
        expect: str | None = None,
    ) -> None:
        self.builder = etree.TreeBuilder()
        self.stack: list[str] = []
        self.elements = 0
        self.text_chars = 0
        self.max_depth = max_depth
        self.max_attachments = max_attachments
        self.max_elements = max_elements
        self.spool_dir = spool_dir
        self.expect = expect  # "document", "status", or "kind" to stop once known
        self.sink: _Base64Sink | None = None
        self.sinks: dict[Element, _Base64Sink | None] = {}  # Attachment element → its sink
        self.attachments: list[tuple[Element, _Base64Sink | None]] = []  # finished: (element, sink)
        self.aborted = False

    @_aborting
    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise EdxmlError(_("The edXML package may not contain a DOCTYPE or entity declarations."))

    @_aborting
    def start(self, tag: str, attrib: dict[str, str], nsmap: dict[str, str] | None = None) -> None:
        depth = len(self.stack) + 1
        if depth > self.max_depth:
            raise EdxmlError(
                _("The edXML package is nested deeper than ${limit} levels."), limit=self.max_depth
            )
        self.elements += 1
        if self.elements > self.max_elements:
            raise EdxmlError(_("The edXML package has more than ${limit} elements."), limit=self.max_elements)
        if depth == 1 and tag != q("edXMLEnvelope"):
            raise EdxmlError(
                _(
                    "This is not an edXML package: the root must be edXMLEnvelope in the namespace ${namespace}."
                ),
                namespace=NS,
            )
        if self.sink is not None:
            raise self.sink.bad()
        if (
            self.expect
            and depth == 3
            and self.stack[-1] == q("edXMLHeader")
            and tag in (q("MessageHeader"), q("Status"))
        ):
            found: Literal["document", "status"] = "status" if tag == q("Status") else "document"
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
                raise EdxmlError(
                    _("The edXML package has more than ${limit} attachments."), limit=self.max_attachments
                )
            self.sinks[element] = None
        elif tag == self.TEXT and parent == self.ATTACHMENT and depth == 4:
            owner = element.getparent()
            if self.sinks.get(owner) is not None:
                raise EdxmlError(
                    _("An attachment has more than one AttachmentText."), field="Attachment/AttachmentText"
                )
            label = (
                owner.findtext(q("AttachmentName"))
                or owner.findtext(q("ContentId"))
                or "#%d" % len(self.sinks)
            )
            self.sink = self.sinks[owner] = _Base64Sink(self.spool_dir, label)
        self.stack.append(tag)
        self.text_chars = 0

    @_aborting
    def data(self, text: str) -> None:
        if self.sink is not None:
            self.sink.feed(text)
            return
        self.text_chars += len(text)
        if self.text_chars > MAX_FIELD_CHARS:
            raise EdxmlError(
                _("A text in the edXML package is longer than ${limit} characters."), limit=MAX_FIELD_CHARS
            )
        self.builder.data(text)

    @_aborting
    def end(self, tag: str) -> None:
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

    def close(self) -> Element | None:
        # lxml calls close() also after a callback raised or libxml2 found an error; the
        # builder would then complain of missing end tags and hide the real reason.
        if self.aborted or self.stack:
            return None
        return self.builder.close()

    def discard(self) -> None:
        for sink in self.sinks.values():
            if sink is not None:
                sink.file.close()


class _Kind(Exception):
    def __init__(self, kind: Literal["document", "status"]) -> None:
        self.kind = kind


def _source_size(source: IO[bytes]) -> int | None:
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


def _too_big(limit: int) -> EdxmlError:
    return EdxmlError(_("The edXML package is larger than the limit of ${limit} bytes."), limit=limit)


def _chunks(source: Source, max_bytes: int) -> Iterator[bytes]:
    """The input in chunks, refusing it as soon as it is known to exceed ``max_bytes``."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source)
        if view.nbytes > max_bytes:
            raise _too_big(max_bytes)
        for start in range(0, view.nbytes, READ_CHUNK):
            yield bytes(view[start : start + READ_CHUNK])
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


def _parse(
    source: Source,
    *,
    max_bytes: int,
    max_depth: int,
    max_attachments: int,
    max_elements: int,
    spool_dir: SpoolDir,
    expect: str,
) -> tuple[Element, _Target]:
    """Run the safe parser; the small tree's root and the target (attachments, sinks)."""
    target = _Target(
        max_depth=max_depth,
        max_attachments=max_attachments,
        max_elements=max_elements,
        spool_dir=spool_dir,
        expect=expect,
    )
    parser = etree.XMLParser(
        target=target, resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
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
            raise EdxmlError(
                _("The edXML package is nested deeper than ${limit} levels."), limit=max_depth
            ) from None
        raise EdxmlError(
            _("The edXML package is not well-formed XML: ${detail}."), detail=excerpt(detail, 200)
        ) from None
    except BaseException:
        target.discard()
        raise
    return root, target


def _text(parent: Element | None, *path: str) -> str:
    """The text of a descendant (by edXML local names), "" when absent."""
    if parent is None:
        return ""
    element = parent.find("/".join(q(name) for name in path))
    return "" if element is None or element.text is None else element.text


def _read_organ(element: Element | None) -> dict[str, str]:
    organ = {key: _text(element, tag) for tag, key in ORGAN_FIELDS}
    organ["organ_id"] = organ["organ_id"].strip()
    return organ


def _read_staff(element: Element | None) -> dict[str, str]:
    return {key: _text(element, tag) for tag, key in STAFF_FIELDS}


def _read_response_for(element: Element | None, base: str) -> dict[str, str]:
    return {
        "organ_id": _text(element, "OrganId").strip(),
        "code": _text(element, "Code").strip(),
        "promulgation_date": xml_date_to_iso(_text(element, "PromulgationDate"), base + "/PromulgationDate"),
        "document_id": _text(element, "DocumentId").strip(),
    }


def _read_message_header(mh: Element) -> Meta:
    base = "MessageHeader"
    other = mh.find(q("OtherInfo"))
    return {
        "document_id": _text(mh, "DocumentId").strip(),
        "from": _read_organ(mh.find(q("From"))),
        "to": [_read_organ(element) for element in mh.findall(q("To"))],
        "code_number": _text(mh, "Code", "CodeNumber").strip(),
        "code_notation": _text(mh, "Code", "CodeNotation").strip(),
        "promulgation_place": _text(mh, "PromulgationInfo", "Place"),
        "promulgation_date": xml_date_to_iso(
            _text(mh, "PromulgationInfo", "PromulgationDate"),
            base + "/PromulgationInfo/PromulgationDate",
            required=True,
        ),
        "doc_type": _text(mh, "DocumentType", "Type").strip(),
        "doc_type_name": _text(mh, "DocumentType", "TypeName"),
        "subject": _text(mh, "Subject"),
        "content": _text(mh, "Content"),
        "signer_competence": _text(mh, "SignerInfo", "Competence"),
        "signer_position": _text(mh, "SignerInfo", "Position"),
        "signer_name": _text(mh, "SignerInfo", "FullName"),
        "due_date": xml_date_to_iso(_text(mh, "DueDate"), base + "/DueDate"),
        "to_places": [element.text or "" for element in mh.findall(q("ToPlaces") + "/" + q("Place"))],
        "priority": whole_number(_text(other, "Priority"), base + "/OtherInfo/Priority"),
        "sphere_of_promulgation": _text(other, "SphereOfPromulgation"),
        "promulgation_amount": whole_number(
            _text(other, "PromulgationAmount"), base + "/OtherInfo/PromulgationAmount"
        ),
        "page_amount": whole_number(_text(other, "PageAmount"), base + "/OtherInfo/PageAmount"),
        "appendixes": [
            element.text or ""
            for element in (other.findall(q("Appendixes") + "/" + q("Appendix")) if other is not None else ())
        ],
        "steering_type": whole_number(_text(mh, "SteeringType"), base + "/SteeringType"),
        "response_for": [
            _read_response_for(element, base + "/ResponseFor") for element in mh.findall(q("ResponseFor"))
        ],
    }


def _read_trace(trace_list: Element | None) -> Meta:
    base = "TraceHeaderList"
    business = trace_list.find(q("Bussiness")) if trace_list is not None else None
    traces = trace_list.findall(q("TraceHeader")) if trace_list is not None else ()
    replacements = (
        business.findall(q("ReplacementInfoList") + "/" + q("ReplacementInfo"))
        if business is not None
        else ()
    )
    return {
        "business_doc_type": whole_number(
            _text(business, "BussinessDocType"), base + "/Bussiness/BussinessDocType"
        ),
        "business_reason": _text(business, "BussinessDocReason"),
        "business_document_id": _text(business, "DocumentId").strip(),
        "staff_info": _read_staff(business.find(q("StaffInfo")) if business is not None else None),
        "replacement_info": [
            {
                "document_id": _text(element, "DocumentId").strip(),
                "organ_id_list": [
                    (organ.text or "").strip()
                    for organ in element.findall(q("OrganIdList") + "/" + q("OrganId"))
                ],
            }
            for element in replacements
        ],
        "trace": [
            {
                "organ_id": _text(element, "OrganId").strip(),
                "timestamp": timestamp_to_iso(_text(element, "Timestamp"), base + "/TraceHeader/Timestamp"),
            }
            for element in traces
        ],
    }


def _header(root: Element) -> Element:
    header = root.find(q("edXMLHeader"))
    if header is None:
        raise required_error("edXMLHeader")
    return header


def _manifest_mismatch(message: str, field: str, **mapping: Any) -> EdxmlError:
    return EdxmlError(message, field=field, **mapping)


def _read_attachments(root: Element, target: _Target) -> list[dict[str, Any]]:
    """Match the streamed attachments with the manifest; their dicts in manifest order."""
    body = root.find(q("edXMLBody"))
    references = body.findall(q("edXMLManifest") + "/" + q("Reference")) if body is not None else []
    if len(references) > target.max_attachments:
        raise EdxmlError(
            _("The edXML package has more than ${limit} attachments."), limit=target.max_attachments
        )
    found = {}
    names = set()
    for element, sink in target.attachments:
        content_id = _text(element, "ContentId").strip()
        if not content_id:
            raise required_error("Attachment/ContentId")
        if content_id in found:
            raise EdxmlError(
                _("Two attachments have the ContentId ${content_id}."),
                field="Attachment/ContentId",
                content_id=excerpt(content_id),
            )
        name = _text(element, "AttachmentName").strip()
        check_attachment_name(name, "Attachment/AttachmentName")
        if name in names:
            raise EdxmlError(
                _("Two attachments are named ${name}."), field="Attachment/AttachmentName", name=excerpt(name)
            )
        names.add(name)
        encoding = _text(element, "ContentTransferEncoded").strip()
        if encoding.lower() != "base64":
            raise EdxmlError(
                _("Attachment ${name} is encoded as ${value}; only base64 is accepted."),
                field="Attachment/ContentTransferEncoded",
                name=excerpt(name),
                value=excerpt(encoding or "(none)"),
            )
        if sink is None:
            raise required_error("Attachment/AttachmentText")
        found[content_id] = (element, sink, name)
    result = []
    listed = set()
    for reference in references:
        content_id = _text(reference, "ContentId").strip()
        field = "edXMLManifest/Reference"
        if not content_id:
            raise required_error(field + "/ContentId")
        if content_id in listed:
            raise _manifest_mismatch(
                _("The manifest lists ${content_id} twice."),
                field + "/ContentId",
                content_id=excerpt(content_id),
            )
        listed.add(content_id)
        if content_id not in found:
            raise _manifest_mismatch(
                _("The manifest lists ${content_id} but the package has no such attachment."),
                field + "/ContentId",
                content_id=excerpt(content_id),
            )
        element, sink, name = found[content_id]
        reference_name = _text(reference, "AttachmentName").strip()
        if reference_name and reference_name != name:
            raise _manifest_mismatch(
                _(
                    "The manifest names attachment ${content_id} as ${reference} but the attachment is ${name}."
                ),
                field + "/AttachmentName",
                content_id=excerpt(content_id),
                reference=excerpt(reference_name),
                name=excerpt(name),
            )
        content_type = (
            _text(element, "ContentType").strip()
            or _text(reference, "ContentType").strip()
            or "application/octet-stream"
        )
        reference_type = _text(reference, "ContentType").strip()
        if reference_type and reference_type != content_type:
            raise _manifest_mismatch(
                _("The manifest and the attachment ${name} disagree on its content type."),
                field + "/ContentType",
                name=excerpt(name),
            )
        check_content_type(content_type, "Attachment/ContentType")
        size = _text(reference, "Size").strip()
        if size and whole_number(size, field + "/Size") != sink.size:
            raise _manifest_mismatch(
                _("The size of attachment ${name} does not match the manifest."),
                field + "/Size",
                name=excerpt(name),
            )
        digest_element = reference.find(q("Digest"))
        if digest_element is not None:
            algorithm = digest_element.get("Algorithm", DIGEST_ALGORITHM)
            if algorithm != DIGEST_ALGORITHM:
                raise _manifest_mismatch(
                    _("Unsupported digest algorithm ${value}."), field + "/Digest", value=excerpt(algorithm)
                )
            if (digest_element.text or "").strip().lower() != sink.sha.hexdigest():
                raise _manifest_mismatch(
                    _("The SHA-256 digest of attachment ${name} does not match the manifest."),
                    field + "/Digest",
                    name=excerpt(name),
                )
        result.append(
            {
                "name": name,
                "content_type": content_type,
                "description": _text(reference, "Description"),
                "size": sink.size,
                "sha256": sink.sha.hexdigest(),
                "file": sink.file,
            }
        )
    for content_id in found:
        if content_id not in listed:
            raise _manifest_mismatch(
                _("The attachment ${content_id} is not listed in the manifest."),
                "Attachment/ContentId",
                content_id=excerpt(content_id),
            )
    return result


def parse_document(
    stream_or_bytes: Source,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    spool_dir: SpoolDir = None,
) -> Meta:
    """A document package's metadata dict, with ``attachments`` and ``signature``.

    Each attachment dict has ``name``, ``content_type``, ``description``, ``size``,
    ``sha256`` and ``file``: a temp file at position 0 holding the decoded bytes (a
    SpooledTemporaryFile, or a NamedTemporaryFile in ``spool_dir`` when given); the caller
    closes it. ``signature`` is the header's Signature element serialized (with the
    namespace declarations in scope, as inclusive C14N of its SignedInfo needs), or None.
    Raises EdxmlError on anything it refuses; no temp file is left open then.
    """
    root, target = _parse(
        stream_or_bytes,
        max_bytes=max_bytes,
        max_depth=max_depth,
        max_attachments=max_attachments,
        max_elements=max_elements,
        spool_dir=spool_dir,
        expect="document",
    )
    try:
        header = _header(root)
        mh = header.find(q("MessageHeader"))
        if mh is None:
            if header.find(q("Status")) is not None:
                raise EdxmlError(_("This edXML package is a status message, not a document."))
            raise required_error("edXMLHeader/MessageHeader")
        meta = _read_message_header(mh)
        meta.update(_read_trace(header.find(q("TraceHeaderList"))))
        check_document(meta)
        meta["attachments"] = _read_attachments(root, target)
        signature = next(
            (
                element
                for element in header
                if isinstance(element.tag, str) and etree.QName(element).localname == "Signature"
            ),
            None,
        )
        meta["signature"] = etree.tostring(signature, with_tail=False) if signature is not None else None
        return meta
    except BaseException:
        target.discard()
        raise


def parse_status(
    stream_or_bytes: Source,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
) -> Meta:
    """A status message's dict: response_for, from, status_code, description, timestamp, staff_info."""
    root, target = _parse(
        stream_or_bytes,
        max_bytes=max_bytes,
        max_depth=max_depth,
        max_attachments=0,
        max_elements=max_elements,
        spool_dir=None,
        expect="status",
    )
    target.discard()
    header = _header(root)
    element = header.find(q("Status"))
    if element is None:
        if header.find(q("MessageHeader")) is not None:
            raise EdxmlError(_("This edXML package is a document, not a status message."))
        raise required_error("edXMLHeader/Status")
    status = {
        "response_for": _read_response_for(element.find(q("ResponseFor")), "Status/ResponseFor"),
        "from": _read_organ(element.find(q("From"))),
        "status_code": _text(element, "StatusCode").strip(),
        "description": _text(element, "Description"),
        "timestamp": timestamp_to_iso(_text(element, "Timestamp"), "Status/Timestamp"),
        "staff_info": _read_staff(element.find(q("StaffInfo"))),
    }
    check_status(status)
    return status


def kind(
    stream_or_bytes: Source, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH
) -> Literal["document", "status"]:
    """ "document" or "status", reading only as far as the header's first element.

    A seekable stream is put back where it was, so the caller can then parse it.
    """
    rewind: IO[bytes] | None = None
    start = 0
    if not isinstance(stream_or_bytes, (bytes, bytearray, memoryview)):
        try:
            if stream_or_bytes.seekable():
                start, rewind = stream_or_bytes.tell(), stream_or_bytes
        except (AttributeError, OSError):
            pass
    try:
        _parse(
            stream_or_bytes,
            max_bytes=max_bytes,
            max_depth=max_depth,
            max_attachments=0,
            max_elements=DEFAULT_MAX_ELEMENTS,
            spool_dir=None,
            expect="kind",
        )
    except _Kind as found:
        return found.kind
    finally:
        if rewind is not None:
            rewind.seek(start)
    raise EdxmlError(_("This edXML package is neither a document nor a status message."), field="edXMLHeader")
