"""Zip-wrapped attachments: the field's common library base64-encodes a zip of one entry.

The vendors' library puts each file into a zip holding one entry ``<uuid>.<ext>`` and
names the real file in ``AttachmentName``; some senders put the raw file in. So the bytes
decide, not ``ContentType``: a plain zip (not an Office or OpenDocument file, which are zips
too) under a name that does not itself end in ``.zip`` is a wrapper and is unwrapped, within
limits, because every zip is hostile until read:

- at most ``MAX_ENTRIES`` entries (one is the norm; a few are taken, each kept as a file);
- no entry named with a path, ``..``, a drive or a control character, no directory, no
  symbolic link, no encrypted entry;
- the unwrapped bytes counted as they are read (never trusting the sizes the zip claims):
  at most ``max_bytes`` in all, and past ``RATIO_FLOOR`` at most ``MAX_RATIO`` times the
  compressed size (a zip bomb stops at its first megabytes);
- a damaged zip (bad CRC, truncated stream) is refused.

The refusal names the attachment. ``wrap`` is the writer's side: the same shape, with the
same bytes for the same file (a name derived from the content, a fixed time).
"""

import hashlib
import io
import uuid
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO

from ..filetypes import extension_of, sniff
from ..i18n import _
from .values import BAD_NAME_RE, EdxmlError, EdxmlTooLarge, excerpt

MAX_ENTRIES = 16
MAX_RATIO = 100
RATIO_FLOOR = 2**20
CHUNK = 256 * 1024
HEAD = 8192
ZIP_SIGNATURE = b"PK\x03\x04"
#: the time every entry the hub wraps carries, so the same file always gives the same bytes
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_S_IFMT, _S_IFLNK, _S_IFDIR = 0o170000, 0o120000, 0o040000


@dataclass
class Entry:
    """One unwrapped file: its entry name, the decoded bytes in ``file`` (at 0), size and SHA-256."""

    name: str
    file: IO[bytes]
    size: int = 0
    sha256: str = ""


@dataclass
class Unwrapped:
    """The entries of a wrapper zip, each in a file of its own."""

    entries: list[Entry] = field(default_factory=list)

    def close(self) -> None:
        for entry in self.entries:
            entry.file.close()


def head_of(fileobj: IO[bytes]) -> bytes:
    """The first bytes of a seekable file, which is left at 0."""
    fileobj.seek(0)
    head = fileobj.read(HEAD)
    fileobj.seek(0)
    return head


def is_wrapper(head: bytes, name: str, fileobj: IO[bytes]) -> bool:
    """Whether a file named ``name`` starting with ``head`` is a zip that only wraps a file."""
    if not head.startswith(ZIP_SIGNATURE):
        return False
    kind = sniff(head, name, fileobj)
    fileobj.seek(0)
    return kind.name == "zip" and extension_of(name) != "zip"


def _refuse(message: str, label: str, **mapping: object) -> EdxmlError:
    return EdxmlError(message, field="Attachment/ContentTransferEncoded", name=excerpt(label), **mapping)


def _refuse_large(message: str, label: str, **mapping: object) -> EdxmlTooLarge:
    return EdxmlTooLarge(message, field="Attachment/ContentTransferEncoded", name=excerpt(label), **mapping)


def _check_entry(info: zipfile.ZipInfo, label: str) -> None:
    name = info.filename
    mode = (info.external_attr >> 16) & _S_IFMT
    if (
        not name
        or name in (".", "..")
        or ".." in name.split("/")
        or BAD_NAME_RE.search(name)
        or ":" in name
        or info.is_dir()
        or mode in (_S_IFLNK, _S_IFDIR)
    ):
        raise _refuse(
            _("The attachment ${name} is a zip with an entry named ${entry}, which is not allowed."),
            label,
            entry=excerpt(name),
        )
    if info.flag_bits & 0x1:
        raise _refuse(_("The attachment ${name} is an encrypted zip."), label)


def unwrap(fileobj: IO[bytes], label: str, *, max_bytes: int, new_file: Callable[[], IO[bytes]]) -> Unwrapped:
    """The entries of the wrapper zip in ``fileobj`` (seekable), each in a file from ``new_file``."""
    fileobj.seek(0, io.SEEK_END)
    compressed = fileobj.tell()
    fileobj.seek(0)
    out = Unwrapped()
    try:
        with zipfile.ZipFile(fileobj) as archive:
            infos = archive.infolist()
            if not infos:
                raise _refuse(_("The attachment ${name} is an empty zip."), label)
            if len(infos) > MAX_ENTRIES:
                raise _refuse(
                    _("The attachment ${name} is a zip of ${count} files; at most ${limit} are unwrapped."),
                    label,
                    count=len(infos),
                    limit=MAX_ENTRIES,
                )
            for info in infos:
                _check_entry(info, label)
            total = 0
            for info in infos:
                entry = Entry(info.filename, new_file())
                out.entries.append(entry)
                digest = hashlib.sha256()
                with archive.open(info) as member:
                    while chunk := member.read(CHUNK):
                        total += len(chunk)
                        if total > max_bytes:
                            raise _refuse_large(
                                _("The attachment ${name} unzips to more than ${limit} bytes."),
                                label,
                                limit=max_bytes,
                            )
                        if total > RATIO_FLOOR and total > MAX_RATIO * max(compressed, 1):
                            raise _refuse(
                                _(
                                    "The attachment ${name} is a zip bomb: it unzips to over ${ratio} times its size."
                                ),
                                label,
                                ratio=MAX_RATIO,
                            )
                        entry.file.write(chunk)
                        digest.update(chunk)
                        entry.size += len(chunk)
                entry.sha256 = digest.hexdigest()
                entry.file.seek(0)
    except EdxmlError:
        out.close()
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, ValueError, OSError):
        out.close()
        raise _refuse(_("The attachment ${name} is a damaged zip."), label) from None
    finally:
        fileobj.seek(0)
    return out


def wrap(fileobj: IO[bytes], name: str, sha256: str, out: IO[bytes]) -> None:
    """Zip ``fileobj`` (read in chunks) into ``out`` as the common library does: one entry
    ``<uuid>.<ext>``, the uuid derived from the content's SHA-256 so the bytes are stable."""
    ext = extension_of(name)
    entry = str(uuid.UUID(sha256[:32])) + (f".{ext}" if ext else "")
    info = zipfile.ZipInfo(entry, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(out, "w") as archive, archive.open(info, "w") as member:
        while chunk := fileobj.read(CHUNK):
            member.write(chunk)
    out.seek(0)


def sha256_of(fileobj: IO[bytes]) -> str:
    """The SHA-256 of a seekable file, read in chunks; the file is left at 0."""
    digest = hashlib.sha256()
    fileobj.seek(0)
    while chunk := fileobj.read(CHUNK):
        digest.update(chunk)
    fileobj.seek(0)
    return digest.hexdigest()
