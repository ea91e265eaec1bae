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
import pyexpat
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, Any, Literal, TypeVar, cast

from lxml import etree

from ..filetypes import sniff
from ..i18n import _
from . import unwrap
from .values import (
    CONTENT_TYPE_RE,
    DIGEST_ALGORITHM,
    NS,
    ORGAN_FIELDS,
    STAFF_FIELDS,
    EdxmlError,
    EdxmlWarning,
    Meta,
    check_attachment_name,
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


#: what a ContentTransferEncoded may say when it names the encoding instead of holding the data
ENCODING_NAMES = frozenset({"base64", "7bit", "8bit", "binary", "quoted-printable", "uuencode", "x-uuencode"})
MARKER_CHARS = 32  # a ContentTransferEncoded this short may be an encoding's name
#: attributes the format uses (our Digest's, the manifest's version, XML-DSig's): any other
#: unqualified attribute may be one whose undeclared prefix libxml2 dropped
PLAIN_ATTRIBUTES = frozenset({"Algorithm", "version", "Id", "URI", "Type", "Target"})
EDXML_ATTRIBUTES = frozenset({"Algorithm", "version"})  # on edXML's own elements


def spool(spool_dir: SpoolDir) -> IO[bytes]:
    """A temp file for decoded bytes: in memory up to SPOOL_MAX, or in ``spool_dir``."""
    if spool_dir is None:
        return tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX)
    return tempfile.NamedTemporaryFile(dir=spool_dir, prefix="edxml-")


class _Base64Sink:
    """Strict base64 decoding of text that arrives in pieces, into a temp file.

    ``marker_first``: the text may instead be an encoding's name (the legacy shape wrote
    ``ContentTransferEncoded`` = "base64" and the data in ``AttachmentText``; the field
    writes the data in ``ContentTransferEncoded``): the first characters are held back
    until they can only be data, and ``marker`` is the name when they were one.
    """

    file: IO[bytes]

    def __init__(self, spool_dir: SpoolDir, label: str, marker_first: bool = False) -> None:
        self.spool_dir = spool_dir
        self.file = spool(spool_dir)
        self.label = label
        self.pending = b""
        self.padded = False
        self.size = 0
        self.sha = hashlib.sha256()
        self.marker_first = marker_first
        self.held: str | None = "" if marker_first else None
        self.marker: str | None = None

    def bad(self) -> EdxmlError:
        return EdxmlError(
            _("The attachment ${name} is not valid base64."),
            field="Attachment/ContentTransferEncoded" if self.marker_first else "Attachment/AttachmentText",
            name=excerpt(self.label),
        )

    def feed(self, text: str) -> None:
        if self.held is not None:
            self.held += text
            if len(self.held.strip()) <= MARKER_CHARS:
                return
            text, self.held = self.held, None
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
        if self.held is not None:
            held, self.held = self.held.strip(), None
            if not held or held.lower() in ENCODING_NAMES:
                self.marker = held
                self.file.seek(0)
                return
            self.feed(held)
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
    """lxml parser target: builds the small tree, streams attachment data, enforces limits.

    Two shapes are read. The field's (what the hub writes): root ``edXML`` holding the
    ``edXMLEnvelope`` and, after it, ``AttachmentEncoded/Attachment*`` with the base64 in
    ``ContentTransferEncoded``. The legacy one (what this codec wrote before): root
    ``edXMLEnvelope`` with ``edXMLBody/Attachment*`` and the base64 in ``AttachmentText``.
    An attachment is an ``Attachment`` under ``edXMLBody`` or ``AttachmentEncoded``
    wherever those sit; its data goes to a sink, never into the tree.
    """

    ROOTS = (q("edXML"), q("edXMLEnvelope"))
    CONTAINERS = (q("edXMLBody"), q("AttachmentEncoded"))
    ATTACHMENT, TEXT, ENCODED = q("Attachment"), q("AttachmentText"), q("ContentTransferEncoded")
    HEADER, MESSAGE_HEADER, STATUS = q("edXMLHeader"), q("MessageHeader"), q("Status")

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
        #: Attachment element → its sinks by carrier tag (AttachmentText, ContentTransferEncoded)
        self.sinks: dict[Element, dict[str, _Base64Sink]] = {}
        self.attachments: list[tuple[Element, dict[str, _Base64Sink]]] = []  # finished, in order
        self.aborted = False
        #: the first element that may carry an undeclared prefix: libxml2 tells a parser
        #: target nothing of those (it drops the prefix), so ``_parse`` then asks expat
        self.suspect: str | None = None

    @_aborting
    def doctype(self, name: str, pubid: str, system: str) -> None:
        raise EdxmlError(_("The edXML package may not contain a DOCTYPE or entity declarations."))

    def _found(self, found: Literal["document", "status"]) -> None:
        """The package's kind is known: stop for ``kind()``, refuse the wrong one."""
        if self.expect == "kind":
            raise _Kind(found)
        if found == "status" and self.expect == "document":
            raise EdxmlError(_("This edXML package is a status message, not a document."))
        if found == "document" and self.expect == "status":
            raise EdxmlError(_("This edXML package is a document, not a status message."))

    def start_ns(self, prefix: str, uri: str) -> None:
        """Nothing to do; its presence makes lxml (6.2 and later) pass each element's
        declarations to ``start`` as ``nsmap``, so a kept element (the signature) keeps its
        prefixes instead of ``ns0:``."""

    def end_ns(self, prefix: str) -> None:
        """The pair of ``start_ns``."""

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
        if depth == 1 and tag not in self.ROOTS:
            raise EdxmlError(
                _(
                    "This is not an edXML package: the root must be edXML (or edXMLEnvelope) in the "
                    "namespace ${namespace}."
                ),
                namespace=NS,
            )
        if self.sink is not None:
            raise self.sink.bad()
        if self.suspect is None and (
            not tag.startswith("{")
            or any(
                not key.startswith("{")
                and key not in (EDXML_ATTRIBUTES if tag.startswith("{%s}" % NS) else PLAIN_ATTRIBUTES)
                for key in attrib
            )
        ):
            self.suspect = tag  # maybe an undeclared prefix: checked once the parse is over
        parent = self.stack[-1] if self.stack else None
        if self.expect and tag == self.STATUS and parent == self.HEADER:
            self._found("status")  # the legacy shape's Status
        if nsmap and "" in nsmap:  # the default namespace, as the target is given it
            nsmap = cast(dict[str, str], {prefix or None: uri for prefix, uri in nsmap.items()})
        element = self.builder.start(tag, attrib, nsmap)
        if tag == self.ATTACHMENT and parent in self.CONTAINERS:
            if len(self.sinks) >= self.max_attachments:
                raise EdxmlError(
                    _("The edXML package has more than ${limit} attachments."), limit=self.max_attachments
                )
            self.sinks[element] = {}
        elif tag in (self.TEXT, self.ENCODED) and parent == self.ATTACHMENT:
            owner = element.getparent()
            carriers = self.sinks.get(owner)
            if carriers is not None:
                if tag in carriers:
                    raise EdxmlError(
                        _("An attachment has more than one ${element}."),
                        field="Attachment/" + etree.QName(tag).localname,
                        element=etree.QName(tag).localname,
                    )
                label = (
                    owner.findtext(q("AttachmentName"))
                    or owner.findtext(q("ContentId"))
                    or "#%d" % len(self.sinks)
                )
                self.sink = carriers[tag] = _Base64Sink(
                    self.spool_dir, label, marker_first=tag == self.ENCODED
                )
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
            sink, self.sink = self.sink, None
            sink.finish()
            if sink.marker and sink.marker.lower() != "base64":  # refused before its data is read
                raise EdxmlError(
                    _("Attachment ${name} is encoded as ${value}; only base64 is accepted."),
                    field="Attachment/ContentTransferEncoded",
                    name=excerpt(sink.label),
                    value=excerpt(sink.marker),
                )
        element = self.builder.end(tag)
        self.stack.pop()
        self.text_chars = 0
        if self.expect and tag == self.MESSAGE_HEADER and self.stack and self.stack[-1] == self.HEADER:
            # the field's status message is a MessageHeader with a StatusCode
            self._found("status" if element.find(q("StatusCode")) is not None else "document")
        if element in self.sinks:
            self.attachments.append((element, self.sinks[element]))
            # Leave only the small fields in the tree; the bytes are in the sinks' files.
            for carrier in (self.TEXT, self.ENCODED):
                child = element.find(carrier)
                if child is not None and carrier in self.sinks[element]:
                    child.text = None

    def close(self) -> Element | None:
        # lxml calls close() also after a callback raised or libxml2 found an error; the
        # builder would then complain of missing end tags and hide the real reason.
        if self.aborted or self.stack:
            return None
        return self.builder.close()

    def discard(self) -> None:
        for carriers in self.sinks.values():
            for sink in carriers.values():
                sink.file.close()


def _ill_formed(detail: str, line: int | None = None, column: int | None = None) -> EdxmlError:
    if line:
        return EdxmlError(
            _("The edXML package is not well-formed XML (line ${line}, column ${column}): ${detail}."),
            line=line,
            column=column or 0,
            detail=excerpt(detail, 200),
        )
    return EdxmlError(_("The edXML package is not well-formed XML: ${detail}."), detail=excerpt(detail, 200))


def _check_namespaces(source: Source, start: int | None) -> None:
    """Refuse a package with an undeclared namespace prefix, naming its line and column.

    A second pass, by expat (namespace-aware, streaming, no handler but the DOCTYPE refusal
    of the first pass already made), run only when the first pass saw a name that may have
    lost its prefix. A stream that cannot be read again is let through.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        chunks: Iterator[bytes] = (
            bytes(source[i : i + READ_CHUNK]) for i in range(0, len(source), READ_CHUNK)
        )
    elif start is not None:
        source.seek(start)
        chunks = iter(lambda: source.read(READ_CHUNK), b"")
    else:
        return
    parser = pyexpat.ParserCreate(namespace_separator=" ")
    try:
        for chunk in chunks:
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except pyexpat.ExpatError as exc:
        raise _ill_formed(pyexpat.ErrorString(exc.code), exc.lineno, exc.offset) from None
    finally:
        if start is not None and not isinstance(source, (bytes, bytearray, memoryview)):
            source.seek(start)


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
    start = None
    if not isinstance(source, (bytes, bytearray, memoryview)):
        try:
            start = source.tell() if source.seekable() else None
        except (AttributeError, OSError):
            start = None
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
        line, column = exc.position if exc.position else (None, None)
        raise _ill_formed(detail, line, column) from None
    except BaseException:
        target.discard()
        raise
    if target.suspect is not None:
        try:
            _check_namespaces(source, start)
        except EdxmlError:
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
    if not organ["organ_in_charge"]:  # the name this codec wrote before the field's
        organ["organ_in_charge"] = _text(element, "OrganInCharge")
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
        "type_detail": _text(mh, "DocumentType", "TypeDetail").strip(),
        "subject": _text(mh, "Subject"),
        "content": _text(mh, "Content"),
        "signer_competence": _text(mh, "SignerInfo", "Competence"),
        "signer_position": _text(mh, "SignerInfo", "Position"),
        "signer_name": _text(mh, "SignerInfo", "FullName"),
        "due_date": xml_date_to_iso(_text(mh, "DueDate"), base + "/DueDate"),
        "to_places": [element.text or "" for element in mh.findall(q("ToPlaces") + "/" + q("Place"))],
        "priority": whole_number(_text(other, "Priority"), base + "/OtherInfo/Priority"),
        "sphere_of_promulgation": _text(other, "SphereOfPromulgation"),
        "typer_notation": _text(other, "TyperNotation"),
        "direction": _text(other, "Direction").strip(),
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


def _read_business_info(business: Element | None) -> Meta:
    info = business.find(q("BussinessDocumentInfo")) if business is not None else None
    return {
        "document_info": _text(info, "DocumentInfo").strip(),
        "document_receiver": _text(info, "DocumentReceiver").strip(),
        "receivers": [
            {
                "organ_id": _text(element, "OrganId").strip(),
                "receiver_type": _text(element, "ReceiverType").strip(),
            }
            for element in (info.findall(q("ReceiverList") + "/" + q("Receiver")) if info is not None else ())
        ],
    }


def _read_trace(trace_list: Element | None) -> Meta:
    """The trace hops in order and the Bussiness block (absent: a new document)."""
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
        "paper": whole_number(_text(business, "Paper"), base + "/Bussiness/Paper"),
        "business_info": _read_business_info(business),
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
                "timestamp": timestamp_to_iso(
                    _text(element, "Timestamp"), base + "/TraceHeader/Timestamp", required=False
                ),
            }
            for element in traces
        ],
    }


def _envelope(root: Element) -> Element:
    """The edXMLEnvelope: the root itself (legacy shape) or the root's child (the field's)."""
    if root.tag == q("edXMLEnvelope"):
        return root
    envelope = root.find(q("edXMLEnvelope"))
    if envelope is None:
        raise required_error("edXML/edXMLEnvelope")
    return envelope


def _header(envelope: Element) -> Element:
    header = envelope.find(q("edXMLHeader"))
    if header is None:
        raise required_error("edXMLHeader")
    return header


def bare_content_id(value: str) -> str:
    """A ContentId as the manifest and the attachment are matched: without ``cid:``."""
    value = value.strip()
    return value[4:].strip() if value[:4].lower() == "cid:" else value


def _base_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _carrier(element: Element, carriers: dict[str, _Base64Sink], name: str) -> tuple[_Base64Sink, str]:
    """The sink holding an attachment's data and the encoding it was declared in.

    The field writes the base64 in ``ContentTransferEncoded``; the legacy shape wrote
    "base64" there and the data in ``AttachmentText``.
    """
    encoded = carriers.get(q("ContentTransferEncoded"))
    text = carriers.get(q("AttachmentText"))
    if encoded is not None and encoded.marker is None:
        if text is not None:
            raise EdxmlError(
                _("Attachment ${name} carries its data twice."),
                field="Attachment/AttachmentText",
                name=excerpt(name),
            )
        return encoded, "base64"
    encoding = encoded.marker if encoded is not None else "base64"
    if encoded is not None:
        encoded.file.close()
    if (encoding or "").lower() != "base64":
        raise EdxmlError(
            _("Attachment ${name} is encoded as ${value}; only base64 is accepted."),
            field="Attachment/ContentTransferEncoded",
            name=excerpt(name),
            value=excerpt(encoding or "(none)"),
        )
    if text is None:
        raise required_error("Attachment/ContentTransferEncoded")
    return text, encoding or "base64"


def _check_reference(reference: Element, sink: _Base64Sink, name: str) -> None:
    """Our manifest additions, when present: the transferred bytes' Size and SHA-256 Digest."""
    field = "edXMLManifest/Reference"
    size = _text(reference, "Size").strip()
    if size and whole_number(size, field + "/Size") != sink.size:
        raise EdxmlError(
            _("The size of attachment ${name} does not match the manifest."),
            field=field + "/Size",
            name=excerpt(name),
        )
    digest_element = reference.find(q("Digest"))
    if digest_element is None:
        return
    algorithm = digest_element.get("Algorithm", DIGEST_ALGORITHM)
    if algorithm != DIGEST_ALGORITHM:
        raise EdxmlError(
            _("Unsupported digest algorithm ${value}."), field=field + "/Digest", value=excerpt(algorithm)
        )
    if (digest_element.text or "").strip().lower() != sink.sha.hexdigest():
        raise EdxmlError(
            _("The SHA-256 digest of attachment ${name} does not match the manifest."),
            field=field + "/Digest",
            name=excerpt(name),
        )


def _match_manifest(
    envelope: Element, target: _Target, warnings: list[EdxmlWarning]
) -> list[tuple[Element, Element | None, _Base64Sink, str]]:
    """(attachment, its manifest Reference, data sink, name), in the manifest's order."""
    body = envelope.find(q("edXMLBody"))
    manifest = body.find(q("edXMLManifest")) if body is not None else None
    references = manifest.findall(q("Reference")) if manifest is not None else []
    if len(references) > target.max_attachments:
        raise EdxmlError(
            _("The edXML package has more than ${limit} attachments."), limit=target.max_attachments
        )
    found: dict[str, tuple[Element, _Base64Sink, str]] = {}
    names: set[str] = set()
    for element, carriers in target.attachments:
        content_id = bare_content_id(_text(element, "ContentId"))
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
        sink, _encoding = _carrier(element, carriers, name)
        found[content_id] = (element, sink, name)
    if manifest is None:
        if found:
            warnings.append(
                EdxmlWarning(
                    _("The package has no edXMLManifest; its attachments are taken as they come."),
                    "edXMLManifest",
                )
            )
        return [(element, None, sink, name) for element, sink, name in found.values()]
    result = []
    listed: set[str] = set()
    for reference in references:
        field = "edXMLManifest/Reference"
        content_id = bare_content_id(_text(reference, "ContentId"))
        if not content_id:
            raise required_error(field + "/ContentId")
        if content_id in listed:
            raise EdxmlError(
                _("The manifest lists ${content_id} twice."),
                field=field + "/ContentId",
                content_id=excerpt(content_id),
            )
        listed.add(content_id)
        if content_id not in found:
            raise EdxmlError(
                _("The manifest lists ${content_id} but the package has no such attachment."),
                field=field + "/ContentId",
                content_id=excerpt(content_id),
            )
        element, sink, name = found[content_id]
        reference_name = _text(reference, "AttachmentName").strip()
        if reference_name and reference_name != name:
            raise EdxmlError(
                _(
                    "The manifest names attachment ${content_id} as ${reference} but the attachment is ${name}."
                ),
                field=field + "/AttachmentName",
                content_id=excerpt(content_id),
                reference=excerpt(reference_name),
                name=excerpt(name),
            )
        _check_reference(reference, sink, name)
        result.append((element, reference, sink, name))
    for content_id in found:
        if content_id not in listed:
            raise EdxmlError(
                _("The attachment ${content_id} is not listed in the manifest."),
                field="Attachment/ContentId",
                content_id=excerpt(content_id),
            )
    return result


def _declared_type(
    element: Element, reference: Element | None, name: str, warnings: list[EdxmlWarning]
) -> str:
    """The ContentType the package claims (the attachment's, else the manifest's); "" if unusable."""
    own = _text(element, "ContentType").strip()
    listed = _text(reference, "ContentType").strip()
    if own and listed and _base_type(own) != _base_type(listed):
        warnings.append(
            EdxmlWarning(
                _("The manifest says ${listed} for attachment ${name} but the attachment says ${own}."),
                "edXMLManifest/Reference/ContentType",
                name=excerpt(name),
                listed=excerpt(listed),
                own=excerpt(own),
            )
        )
    declared = own or listed
    if declared and not CONTENT_TYPE_RE.match(declared):
        warnings.append(
            EdxmlWarning(
                _("The ContentType of attachment ${name} is not a content type: ${value}."),
                "Attachment/ContentType",
                name=excerpt(name),
                value=excerpt(declared),
            )
        )
        return ""
    return declared


def _file_dict(
    name: str,
    declared: str,
    description: str,
    content_id: str,
    file: IO[bytes],
    size: int,
    sha256: str,
    warnings: list[EdxmlWarning],
    wrapped: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An attachment as the codec returns it, its real type sniffed from its bytes."""
    head = unwrap.head_of(file)
    kind = sniff(head, name, file)
    file.seek(0)
    real = kind.mime
    lied = declared and _base_type(declared) != _base_type(real)
    if lied and not (wrapped is not None and _base_type(declared) == "application/zip"):
        warnings.append(
            EdxmlWarning(
                _("Attachment ${name} says it is ${declared} but its bytes are ${real}."),
                "Attachment/ContentType",
                name=excerpt(name),
                declared=excerpt(declared),
                real=real,
            )
        )
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<") and b"QCVN_102_2016" in head:
        warnings.append(
            EdxmlWarning(
                _("Attachment ${name} is itself an edXML package: it is kept as a file, never imported."),
                "Attachment",
                name=excerpt(name),
            )
        )
    return {
        "name": name,
        "content_type": real,
        "declared_type": declared,
        "kind": kind.name,
        "description": description,
        "content_id": content_id,
        "size": size,
        "sha256": sha256,
        "file": file,
        "wrapped": wrapped,
    }


def _read_attachments(
    envelope: Element, target: _Target, warnings: list[EdxmlWarning], max_bytes: int
) -> list[dict[str, Any]]:
    """The attachments matched with the manifest, unwrapped when zip-wrapped, in manifest order."""
    result = []
    try:
        for element, reference, sink, name in _match_manifest(envelope, target, warnings):
            declared = _declared_type(element, reference, name, warnings)
            description = _text(reference, "Description") or _text(element, "Description")
            content_id = _text(element, "ContentId").strip()
            head = unwrap.head_of(sink.file)
            if not unwrap.is_wrapper(head, name, sink.file):
                result.append(
                    _file_dict(
                        name,
                        declared,
                        description,
                        content_id,
                        sink.file,
                        sink.size,
                        sink.sha.hexdigest(),
                        warnings,
                    )
                )
                continue
            unwrapped = unwrap.unwrap(
                sink.file, name, max_bytes=max_bytes, new_file=lambda: spool(target.spool_dir)
            )
            wrapped = {
                "size": sink.size,
                "sha256": sink.sha.hexdigest(),
                "entries": [[entry.name, entry.size] for entry in unwrapped.entries],
            }
            sink.file.close()
            single = len(unwrapped.entries) == 1
            for entry in unwrapped.entries:
                entry_name = name if single else entry.name.rsplit("/", 1)[-1]
                if not single:
                    check_attachment_name(entry_name, "Attachment/AttachmentName")
                result.append(
                    _file_dict(
                        entry_name,
                        declared,
                        description,
                        content_id,
                        entry.file,
                        entry.size,
                        entry.sha256,
                        warnings,
                        wrapped,
                    )
                )
            if not single:
                warnings.append(
                    EdxmlWarning(
                        _(
                            "Attachment ${name} is a zip of ${count} files; each is kept as a file of its own."
                        ),
                        "Attachment",
                        name=excerpt(name),
                        count=len(unwrapped.entries),
                    )
                )
    except BaseException:
        for item in result:
            item["file"].close()
        raise
    names = [item["name"] for item in result]
    if len(set(names)) != len(names):
        for item in result:
            item["file"].close()
        raise EdxmlError(
            _("Two attachments are named ${name}."),
            field="Attachment/AttachmentName",
            name=excerpt(next(n for n in names if names.count(n) > 1)),
        )
    return result


def _signature(header: Element) -> Element | None:
    return next(
        (
            element
            for element in header
            if isinstance(element.tag, str) and etree.QName(element).localname == "Signature"
        ),
        None,
    )


def parse_document(
    stream_or_bytes: Source,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_depth: int = DEFAULT_MAX_DEPTH,
    max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    spool_dir: SpoolDir = None,
) -> Meta:
    """A document package's metadata dict, with ``attachments``, ``signature`` and ``warnings``.

    Each attachment dict has ``name``, ``content_type`` (the real type, sniffed from the
    bytes), ``declared_type`` (what the package said), ``kind``, ``description``,
    ``content_id``, ``size``, ``sha256``, ``file`` — a temp file at position 0 holding the
    decoded (and unwrapped) bytes, a SpooledTemporaryFile or a NamedTemporaryFile in
    ``spool_dir``; the caller closes it — and ``wrapped``: None for a raw file, else the
    transferred zip's ``size``, ``sha256`` and ``entries`` ([name, size]). ``signature``
    is the header's Signature element serialized (with the namespace declarations in
    scope, as inclusive C14N of its SignedInfo needs), or None; ``signature_namespace`` its
    namespace (XML-DSig's, or the edXML one of the field's placeholders). ``warnings``:
    ``EdxmlWarning``s. Raises EdxmlError on anything it refuses; no temp file is left open then.
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
        header = _header(_envelope(root))
        mh = header.find(q("MessageHeader"))
        if mh is None:
            if header.find(q("Status")) is not None:
                raise EdxmlError(_("This edXML package is a status message, not a document."))
            raise required_error("edXMLHeader/MessageHeader")
        meta = _read_message_header(mh)
        meta.update(_read_trace(header.find(q("TraceHeaderList"))))
        check_document(meta)
        warnings: list[EdxmlWarning] = []
        meta["attachments"] = _read_attachments(_envelope(root), target, warnings, max_bytes)
        signature = _signature(header)
        meta["signature"] = etree.tostring(signature, with_tail=False) if signature is not None else None
        meta["signature_namespace"] = etree.QName(signature).namespace if signature is not None else None
        meta["warnings"] = warnings
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
    """A status message's dict: response_for, from, status_code, description, timestamp, staff_info.

    The field's shape has them in ``MessageHeader``; the legacy one in ``edXMLHeader/Status``.
    """
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
    header = _header(_envelope(root))
    element = header.find(q("Status"))
    if element is None:
        element = header.find(q("MessageHeader"))
        if element is None:
            raise required_error("edXMLHeader/MessageHeader")
        if element.find(q("StatusCode")) is None:
            raise EdxmlError(_("This edXML package is a document, not a status message."))
    base = "MessageHeader"
    status = {
        "response_for": _read_response_for(element.find(q("ResponseFor")), base + "/ResponseFor"),
        "from": _read_organ(element.find(q("From"))),
        "status_code": _text(element, "StatusCode").strip(),
        "description": _text(element, "Description"),
        "timestamp": timestamp_to_iso(_text(element, "Timestamp"), base + "/Timestamp"),
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
