"""Attachment checks: size limits, a safe name, and a type judged by content, not by name.

The rules (issue #5): configurable limits, 50 MiB per file and 200 MiB per document by default;
only the kinds of file that official documents use; a name whose extension contradicts the
content is refused, so ``report.pdf`` that is really a program never reaches a recipient.

Decisions:

- Text is UTF-8 (BOM or not) or UTF-16 with a BOM, given its charset. Other 8-bit text
  (Latin-1 and the legacy Vietnamese encodings TCVN3/VNI/Windows-1258, which old government
  files still use) is accepted as ``text/plain`` without a charset. In every case NUL or a
  control character other than tab, newlines and form feed in the first 8 KiB makes the file
  unknown binary, refused. Only the first 8 KiB are looked at, for text as for every kind.
- Text that starts like an HTML page, an SVG image or a ``#!`` script is refused: a browser
  or a shell would run it.
- doc, xls and ppt share one container (OLE2); the extension decides among those three. An OLE2
  file named otherwise (an .msi installer, an .msg mail) is refused.
- OOXML with macros (a ``vbaProject.bin`` part) is docm/xlsm/pptm, not allowed by default.
- A name without an extension is accepted (nothing contradicts the content); with one, the
  extension must be one of the kind's (``.jpg``/``.jpeg`` for JPEG, ``.doc`` also for RTF...).
- Archives are not opened beyond the names of their members: no virus scan here.
- A file *received* from another system in an edXML package (``received=True``) keeps the
  name its sender gave it, even where that contradicts the content (the field's packages
  name an inner edXML ``….doc``), and bytes of no known kind are kept as opaque binary:
  the hub must not lose what an agency sent. It is stored under its real type and always
  served as a download; a kind the policy refuses (a program, a page, a script) is still
  refused.
"""

import hashlib
import re
import unicodedata
import zipfile
from dataclasses import dataclass

import filetype

from .errors import ServiceError
from .i18n import _
from .text import xml_carries

MiB = 1024 * 1024
HEAD = 8192
CHUNK = 64 * 1024

DEFAULT_ALLOWED = "pdf doc docx xls xlsx ppt pptx odt ods odp rtf txt xml png jpeg tiff gif zip 7z rar p7s"


@dataclass(frozen=True)
class Kind:
    """A kind of file: ``name`` as in ``lienthong.attachments.allowed``, the canonical
    ``extension``, the ``mime`` type and every extension a file of this kind may carry."""

    name: str
    extension: str
    mime: str
    extensions: tuple = ()

    def fits(self, ext):
        return ext in (self.extensions or (self.extension,))


def _kind(name, mime, *extensions, ext=None):
    return Kind(name, ext or (extensions[0] if extensions else name), mime, extensions or ((ext or name),))


_OOXML = "application/vnd.openxmlformats-officedocument."
_ODF = "application/vnd.oasis.opendocument."
KINDS = {
    k.name: k
    for k in (
        _kind("pdf", "application/pdf"),
        _kind("doc", "application/msword"),
        _kind("xls", "application/vnd.ms-excel"),
        _kind("ppt", "application/vnd.ms-powerpoint", "ppt", "pps"),
        _kind("docx", _OOXML + "wordprocessingml.document"),
        _kind("xlsx", _OOXML + "spreadsheetml.sheet"),
        _kind("pptx", _OOXML + "presentationml.presentation", "pptx", "ppsx"),
        _kind("docm", "application/vnd.ms-word.document.macroEnabled.12"),
        _kind("xlsm", "application/vnd.ms-excel.sheet.macroEnabled.12"),
        _kind("pptm", "application/vnd.ms-powerpoint.presentation.macroEnabled.12"),
        _kind("odt", _ODF + "text"),
        _kind("ods", _ODF + "spreadsheet"),
        _kind("odp", _ODF + "presentation"),
        _kind("rtf", "application/rtf", "rtf", "doc"),
        _kind("txt", "text/plain; charset=utf-8", "txt", "csv", "log", "text"),
        _kind("xml", "application/xml"),
        _kind("png", "image/png"),
        _kind("jpeg", "image/jpeg", "jpg", "jpeg", "jpe", "jfif"),
        _kind("tiff", "image/tiff", "tif", "tiff"),
        _kind("gif", "image/gif"),
        _kind("bmp", "image/bmp"),
        _kind("webp", "image/webp"),
        _kind("zip", "application/zip"),
        _kind("7z", "application/x-7z-compressed"),
        _kind("rar", "application/vnd.rar"),
        _kind("p7s", "application/pkcs7-signature", "p7s", "p7m"),
        # Kinds we recognise only to refuse them by default.
        _kind("ole", "application/x-ole-storage", "ole", "msi", "msg"),
        _kind("html", "text/html", "html", "htm", "xhtml"),
        _kind("svg", "image/svg+xml"),
        _kind("script", "text/x-script", "sh"),
        _kind("exe", "application/vnd.microsoft.portable-executable", "exe", "dll", "scr", "com"),
        _kind("elf", "application/x-executable", ext="elf"),
        _kind("binary", "application/octet-stream", ext="bin"),
    )
}

# filetype's names for what it finds, where they differ from ours.
_FILETYPE_NAMES = {"jpg": "jpeg", "tif": "tiff"}
_SIGNED_DATA_OID = b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"  # 1.2.840.113549.1.7.2
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HTML_MARKERS = (
    "<!doctype html",
    "<html",
    "<head",
    "<body",
    "<script",
    "<iframe",
    "<frameset",
    "<meta",
    "<object",
    "<embed",
)
_XHTML_NS = "http://www.w3.org/1999/xhtml"
#: the root element's local name after an XML declaration, comments and a DOCTYPE
_XML_ROOT = re.compile(r"<(?![?!])(?:[\w.-]+:)?([\w.-]+)")
_SVG_NS = "http://www.w3.org/2000/svg"
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_BIDI_AND_FORMAT = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", re.IGNORECASE)
_FORBIDDEN_IN_NAME = set('/\\:*?"<>|')


class AttachmentError(ServiceError):
    """An attachment the rules refuse; ``field`` is "attachments"."""

    def __init__(self, message, **mapping):
        super().__init__(message, field="attachments", **mapping)


class AttachmentTooLarge(AttachmentError):
    status = 413


def extension_of(name):
    """The lower-case extension of ``name`` without the dot, "" when it has none."""
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def _split(value):
    return [part for part in re.split(r"[\s,;]+", value or "") if part]


@dataclass(frozen=True)
class AttachmentPolicy:
    max_file_bytes: int = 50 * MiB
    max_document_bytes: int = 200 * MiB
    max_count: int = 50
    allowed: frozenset = frozenset(_split(DEFAULT_ALLOWED))

    @classmethod
    def from_settings(cls, settings):
        """``lienthong.attachments.*``; a malformed value raises ValueError naming the setting."""

        def size(key, default):
            raw = settings.get(key)
            if raw in (None, ""):
                return default
            try:
                value = int(str(raw).strip())
            except ValueError:
                raise ValueError(f"{key}: {raw!r} is not a number of bytes") from None
            if value <= 0:
                raise ValueError(f"{key}: must be positive")
            return value

        allowed = frozenset(
            k.lower() for k in _split(settings.get("lienthong.attachments.allowed") or DEFAULT_ALLOWED)
        )
        unknown = sorted(allowed - set(KINDS))
        if unknown:
            raise ValueError(
                f"lienthong.attachments.allowed: unknown kind(s) {' '.join(unknown)} "
                f"(known: {' '.join(sorted(KINDS))})"
            )
        return cls(
            max_file_bytes=size("lienthong.attachments.max_file_bytes", 50 * MiB),
            max_document_bytes=size("lienthong.attachments.max_document_bytes", 200 * MiB),
            max_count=size("lienthong.attachments.max_count", 50),
            allowed=allowed,
        )


_BY_MIME = {k.mime.split(";")[0]: k for k in KINDS.values()}


def type_label(mime):
    """What people call a file of type ``mime``: "PDF", "DOCX", "JPEG" (the kind's name); "—"
    for a type the hub does not name."""
    kind = _BY_MIME.get(str(mime or "").split(";")[0].strip().lower())
    return kind.name.upper() if kind is not None and kind.name not in ("binary", "ole", "script") else "—"


def human_size(n):
    """50 MB, 1.5 MB, 300 bytes: binary units, as the limits are set."""
    if n >= MiB:
        value = n / MiB
        return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"
    if n >= 1024:
        value = n / 1024
        return f"{value:.0f} KB" if value == int(value) else f"{value:.1f} KB"
    return f"{n} bytes"


# -- sniffing -------------------------------------------------------------------------------


def _zip_names(head, fileobj):
    """Member names from the central directory, or from the local headers in ``head``."""
    if fileobj is not None:
        try:
            fileobj.seek(0)
            with zipfile.ZipFile(fileobj) as zf:
                return zf.namelist()
        except Exception:  # hostile or broken: whatever zipfile trips on, it is no zip we take
            return None
    names, pos = [], 0
    while True:
        pos = head.find(b"PK\x03\x04", pos)
        if pos < 0 or pos + 30 > len(head):
            return names
        length = int.from_bytes(head[pos + 26 : pos + 28], "little")
        names.append(head[pos + 30 : pos + 30 + length].decode("utf-8", "replace"))
        pos += 30


def _sniff_zip(head, fileobj):
    if head[30:38] == b"mimetype":  # ODF: an uncompressed first member naming the type
        mime = head[38 : 38 + 80].split(b"PK", 1)[0].decode("ascii", "replace").strip()
        for kind in ("odt", "ods", "odp"):
            if mime == KINDS[kind].mime:
                return KINDS[kind]
    names = _zip_names(head, fileobj)
    if names is None:
        return KINDS["binary"]  # a zip signature but no readable directory
    if "[Content_Types].xml" in names or any(n.startswith(("word/", "xl/", "ppt/")) for n in names):
        macros = any(n.endswith("vbaProject.bin") for n in names)
        for prefix, kind in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
            if any(n.startswith(prefix) for n in names):
                if macros:
                    kind = kind[:-1] + "m"
                return KINDS[kind]
    return KINDS["zip"]


def _sniff_ole(head, ext):
    if ext in ("doc", "xls", "ppt", "pps"):
        return KINDS["ppt" if ext == "pps" else ext]
    # Without a telling extension, look for the main stream's name in the directory.
    for stream, kind in (
        ("WordDocument", "doc"),
        ("Workbook", "xls"),
        ("Book", "xls"),
        ("PowerPoint Document", "ppt"),
    ):
        if stream.encode("utf-16-le") + b"\x00\x00" in head:
            return KINDS[kind]
    return KINDS["ole"]


def _decode_text(head):
    """(text, charset) when ``head`` reads as text, else None; charset None means 8-bit.

    UTF-8 (BOM or not) and UTF-16 with a BOM are Unicode; other bytes are read as 8-bit text.
    Either way NUL and control characters other than tab, newlines and form feed mean binary.
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        codec = "utf-16-le" if head[0] == 0xFF else "utf-16-be"
        body = head[2 : len(head) - (len(head) % 2)]
        try:  # a surrogate pair cut by the end of a full head is not an error
            text, charset = body.decode(codec, "strict" if len(head) < HEAD else "ignore"), "utf-16"
        except UnicodeDecodeError:
            return None
    elif b"\x00" in head:
        return None
    else:
        try:
            text, charset = head.decode("utf-8-sig"), "utf-8"
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the end of a full head is still UTF-8.
            if len(head) >= HEAD and exc.reason == "unexpected end of data" and exc.start >= len(head) - 3:
                text, charset = head[: exc.start].decode("utf-8-sig"), "utf-8"
            else:
                text, charset = head.decode("latin-1"), None
    if _TEXT_CONTROLS.search(text):
        return None
    return text, charset


def _sniff_text(decoded, ext):
    text, charset = decoded
    start = text.lstrip("\ufeff \t\r\n\f").lower()
    if start.startswith("#!"):
        return KINDS["script"]
    if start.startswith("{\\rtf"):
        return KINDS["rtf"]
    if start.startswith("<"):
        # Anything a browser would run as a page, even under a namespace prefix, is refused.
        # A document that declares itself XML is a page only by its root or the XHTML
        # namespace: its elements named like HTML's (XML-DSig's <Object>) run nothing.
        root = _XML_ROOT.search(start) if start.startswith("<?xml") else None
        markers = (f"<{root[1]}",) if root else _HTML_MARKERS
        if any(marker in start for marker in markers if marker in _HTML_MARKERS) or _XHTML_NS in start:
            return KINDS["html"]
        if "<svg" in start or _SVG_NS in start:
            return KINDS["svg"]
        return KINDS["xml"]
    kind = KINDS["txt"]
    mime = "text/csv" if ext == "csv" else "text/plain"
    if charset:
        mime += "; charset=" + charset
    return Kind(kind.name, kind.extension, mime, kind.extensions)


def sniff(head, name="", fileobj=None):
    """The :class:`Kind` of a file from its first bytes (8 KiB is plenty).

    ``name`` only decides among doc/xls/ppt, which share a container, and gives CSV its type.
    ``fileobj``, when given, must be seekable: a zip's central directory is read from it to
    tell docx/xlsx/pptx from a plain zip (without it the local headers in ``head`` are used).
    """
    ext = extension_of(name)
    if not head:
        return KINDS["binary"]
    if head.startswith(_OLE2):
        return _sniff_ole(head, ext)
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _sniff_zip(head, fileobj)
    if head[:1] == b"\x30" and _SIGNED_DATA_OID in head[:32]:
        return KINDS["p7s"]
    if head.startswith(b"%PDF-"):
        return KINDS["pdf"]
    # Text before filetype: some of its signatures are two letters ("BM", "MZ") that plain
    # text can start with, while real binaries of those kinds always hold NUL or control bytes.
    decoded = _decode_text(head)
    if decoded is not None:
        return _sniff_text(decoded, ext)
    found = filetype.guess(head)
    if found is not None:
        name = _FILETYPE_NAMES.get(found.extension, found.extension)
        if name in KINDS:
            return KINDS[name]
        return Kind(name, found.extension, found.mime, (found.extension,))
    return KINDS["binary"]


# -- checks ---------------------------------------------------------------------------------


def _shown(name):
    """The name as a message may show it: control and format characters escaped, kept short."""
    shown = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c for c in name)
    return shown if len(shown) <= 120 else shown[:117] + "..."


def check_name(name):
    """The name in NFC (as Vietnamese names should be stored), or AttachmentError saying why.

    Refused: empty; over 255 bytes of UTF-8; path separators and the other characters Windows
    forbids; control or bidirectional-format characters (``\\u202e`` can make ``exe.pdf`` of
    ``fdp.exe``); a leading dot (``..``, hidden files); a trailing dot or space; device names.
    """
    if not isinstance(name, str) or not name.strip():
        raise AttachmentError(_("An attachment has no file name."))
    name = unicodedata.normalize("NFC", name)
    if len(name.encode("utf-8")) > 255:
        raise AttachmentError(_("The file name ${name} is too long: at most 255 bytes."), name=_shown(name))
    if (
        any(c in _FORBIDDEN_IN_NAME for c in name)
        or _BIDI_AND_FORMAT.search(name)
        or any(unicodedata.category(c) == "Cc" for c in name)
        or not xml_carries(name)  # a lone surrogate, U+FFFE: the manifest could not carry it
    ):
        raise AttachmentError(
            _(
                "The file name ${name} contains characters that are not allowed "
                '(path separators, control characters or any of : * ? " < > |).'
            ),
            name=_shown(name),
        )
    if name.startswith(".") or name.endswith((".", " ")) or name != name.lstrip():
        raise AttachmentError(
            _("The file name ${name} may not start with a dot or a space, nor end with one."),
            name=_shown(name),
        )
    if _WINDOWS_RESERVED.match(name):
        raise AttachmentError(_("The file name ${name} is reserved by Windows."), name=_shown(name))
    return name


def check_attachment(name, fileobj, policy, received=False):
    """Check one attachment; return ``dict(name, content_type, size, sha256)``.

    ``received``: the file came in another system's edXML package (see the module doc).

    ``fileobj`` is a seekable binary file; it is read from its start in chunks (never whole),
    stopping as soon as the per-file limit is passed, and rewound to 0 afterwards.
    """
    name = check_name(name)
    limit = policy.max_file_bytes
    digest = hashlib.sha256()
    head = b""
    size = 0
    fileobj.seek(0)
    try:
        while True:
            chunk = fileobj.read(CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise AttachmentTooLarge(
                    _("The file ${name} is larger than the limit of ${limit}."),
                    name=_shown(name),
                    limit=human_size(limit),
                )
            if len(head) < HEAD:
                head += chunk[: HEAD - len(head)]
            digest.update(chunk)
        if size == 0:
            raise AttachmentError(_("The file ${name} is empty."), name=_shown(name))
        kind = sniff(head, name, fileobj)
    finally:
        fileobj.seek(0)
    opaque = received and kind.name == "binary"
    if kind.name not in policy.allowed and not opaque:
        if kind.name == "binary":
            raise AttachmentError(
                _("The content of ${name} is of an unknown type, which is not accepted."), name=_shown(name)
            )
        raise AttachmentError(
            _("The file ${name} is not accepted: its content is of type ${kind}."),
            name=_shown(name),
            kind=kind.name.upper(),
        )
    ext = extension_of(name)
    if ext and not kind.fits(ext) and not received:
        raise AttachmentError(
            _(
                "The content of ${name} is of type ${kind} but its name ends in "
                ".${ext}: rename it to end in .${expected}."
            ),
            name=_shown(name),
            kind=kind.name.upper(),
            ext=ext,
            expected=kind.extension,
        )
    return {"name": name, "content_type": kind.mime, "size": size, "sha256": digest.hexdigest()}


def check_total(sizes, policy, names=None):
    """The per-document limits: the number of attachments and their total size.

    With ``names``, also refuse two attachments of the same name (ignoring case), since an
    attachment is addressed by its name.
    """
    sizes = list(sizes)
    if len(sizes) > policy.max_count:
        raise AttachmentError(
            _("A document may have at most ${limit} attachments, not ${count}."),
            limit=policy.max_count,
            count=len(sizes),
        )
    total = sum(sizes)
    if total > policy.max_document_bytes:
        raise AttachmentTooLarge(
            _("The attachments total ${size}, more than the limit of ${limit} per document."),
            size=human_size(total),
            limit=human_size(policy.max_document_bytes),
        )
    if names is not None:
        seen = set()
        for name in names:
            key = unicodedata.normalize("NFC", name).casefold()
            if key in seen:
                raise AttachmentError(_("Two attachments are named ${name}."), name=_shown(name))
            seen.add(key)
    return total
