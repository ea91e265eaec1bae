"""Adapter "hotfolder": packages exchanged as files with the product (atomic, checksummed).

For eOffice products that read and write files. Each unit has an ``out_dir`` (the hub
writes there, the product reads) and an ``in_dir`` (the product writes, the hub reads).

Writing (the hub, and what the product must do in ``in_dir``):

1. write the package to a temporary name starting with ``.`` in the same directory,
   flush and fsync it;
2. write the checksum sidecar ``<name>.edxml.sha256`` (``<hex SHA-256>  <name>.edxml``,
   the ``sha256sum`` format) the same way, and rename it into place;
3. rename the package to ``<name>.edxml`` (``os.replace``: atomic on one file system) and
   fsync the directory.

A reader never acts on a file whose sidecar is missing or whose digest does not match:
it is a file still being written (or replaced), so it waits for the next round; after
``stale_rounds`` rounds it is moved to ``rejected/`` with the reason.

Names: a document is ``<DocumentId>.edxml``, a status message
``<DocumentId>.status-<code>-<queue key>.edxml`` (characters other than letters, digits,
``.``, ``_`` and ``-`` become ``_``). Writing the same message again finds the identical
file and counts it delivered; a different file under the same name (a re-signed package
after a crash) replaces it atomically: the product may then read a document twice and
deduplicates by DocumentId, as at-least-once delivery requires.

Reading ``in_dir`` (the worker's ``poll``): every ``*.edxml`` not starting with ``.``,
oldest first; the kind (document or status message) is read from the content. Once the
hub has taken or refused it, the file and its sidecar move to ``in_dir/processed/`` or
``in_dir/rejected/`` (then with ``<name>.reason.txt`` saying why). A file that is not
edXML is rejected at once; the others are unaffected.
"""

import hashlib
import logging
import os
import re
import secrets
import threading
import time

from lienthong.core.files import fsync_dir
from lienthong.core.hookspecs import hookimpl
from lienthong.core.i18n import _
from lienthong.core.transports import Adapter, InboundMessage, PermanentError, Setting, TransportError

log = logging.getLogger(__name__)

SUFFIX = ".edxml"
SIDECAR = ".sha256"
PROCESSED = "processed"
REJECTED = "rejected"
CHUNK = 1 << 20
DEFAULT_STALE_ROUNDS = 10
MAX_PER_POLL = 50
SAFE = re.compile(r"[^A-Za-z0-9._-]")


def safe_name(text):
    """``text`` as a file name: unsafe characters become ``_``; a changed name gets a short digest so
    two DocumentIds never share a file."""
    cleaned = SAFE.sub("_", text or "").strip(".") or "message"
    if cleaned != text:
        cleaned = f"{cleaned[:150]}-{hashlib.sha256((text or '').encode()).hexdigest()[:10]}"
    return cleaned[:200]


def file_name(message):
    base = safe_name(message.document_id)
    if message.kind == "status":
        code = safe_name(str(message.extra.get("status") or "status"))
        return f"{base}.status-{code}-{safe_name(message.key)}{SUFFIX}"
    return base + SUFFIX


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _write_temp(directory, data):
    """``data`` in a fresh ``.``-named temporary file of ``directory``, fsync'ed; its path."""
    path = os.path.join(directory, f".tmp-{secrets.token_hex(8)}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        _remove(path)
        raise
    return path


def _remove(path):
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def write_atomically(directory, name, data):
    """Write ``name`` and its sidecar into ``directory`` so a reader sees a whole, checked file or none.

    Returns False when an identical file (and its sidecar) was already there.
    """
    target = os.path.join(directory, name)
    sidecar = target + SIDECAR
    digest = hashlib.sha256(data).hexdigest()
    if os.path.exists(target) and sha256_of(target) == digest:
        if not _sidecar_digest(sidecar) == digest:
            _replace(_write_temp(directory, f"{digest}  {name}\n".encode()), sidecar)
            fsync_dir(directory)
        return False
    temp = _write_temp(directory, data)
    try:
        _replace(_write_temp(directory, f"{digest}  {name}\n".encode()), sidecar)
        _replace(temp, target)
    finally:
        _remove(temp)
    fsync_dir(directory)
    return True


def _replace(src, dst):
    try:
        os.replace(src, dst)
    except BaseException:
        _remove(src)
        raise


def _sidecar_digest(path):
    """The hex digest a sidecar names, or None (missing, empty, not a digest)."""
    try:
        with open(path, "rb") as f:
            text = f.read(4096).decode("ascii", "replace")
    except OSError:
        return None
    parts = text.split()
    if parts and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
        return parts[0].lower()
    return None


def _unique(path):
    """``path``, or ``path`` with a time suffix when it is taken (a second file of the same name)."""
    if not os.path.exists(path) and not os.path.exists(path + SIDECAR):
        return path
    stem, ext = os.path.splitext(path)
    return f"{stem}.{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(3)}{ext}"


def move_away(in_dir, name, where, reason=""):
    """Move ``name`` (and its sidecar) from ``in_dir`` to ``in_dir/where/``; a reason goes next to it.

    A file another worker moved first is left alone.
    """
    folder = os.path.join(in_dir, where)
    os.makedirs(folder, exist_ok=True)
    target = _unique(os.path.join(folder, name))
    source = os.path.join(in_dir, name)
    try:
        os.replace(source, target)
    except FileNotFoundError:
        return None
    try:
        os.replace(source + SIDECAR, target + SIDECAR)
    except FileNotFoundError:
        pass
    if reason:
        with open(os.path.splitext(target)[0] + ".reason.txt", "w", encoding="utf-8") as f:
            f.write(str(reason).rstrip() + "\n")
    fsync_dir(folder)
    return target


class HotFolder(Adapter):
    name = "hotfolder"
    title = "Hot folder (files in shared directories)"
    settings = (
        Setting("out_dir", _("Directory the hub writes to (the product reads it)"), required=True),
        Setting("in_dir", _("Directory the hub reads from (the product writes it)"), required=True),
        Setting(
            "stale_rounds",
            _("Polls a file may stay unchecked before it is rejected"),
            default=str(DEFAULT_STALE_ROUNDS),
        ),
    )
    batch_size = 50

    def __init__(self):
        self.lock = threading.Lock()
        self.waiting = {}  # path -> (rounds seen unready, (size, mtime) last seen)

    def check_settings(self, values):
        reasons = super().check_settings(values)
        for name in ("out_dir", "in_dir"):
            if values.get(name) and not os.path.isabs(values[name]):
                reasons.append(f"{name} must be an absolute path")
        if values.get("out_dir") and values.get("out_dir") == values.get("in_dir"):
            reasons.append("out_dir and in_dir must be different directories")
        rounds = values.get("stale_rounds")
        if rounds not in (None, ""):
            if not str(rounds).isdigit() or int(rounds) < 1:
                reasons.append("stale_rounds must be a whole number of at least 1")
        return reasons

    # -- outbound ------------------------------------------------------------------------
    def deliver(self, message, env):
        settings = message.settings or {}
        problems = self.check_settings(settings)
        if problems:
            raise PermanentError(
                f"the unit's hotfolder settings cannot work: {'; '.join(map(str, problems))}"
            )
        out_dir = settings["out_dir"]
        if not os.path.isdir(out_dir):
            raise TransportError(f"the out directory {out_dir} does not exist (or is not mounted)")
        try:
            write_atomically(out_dir, file_name(message), message.payload)
        except OSError as exc:
            raise TransportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None

    # -- inbound -------------------------------------------------------------------------
    def poll(self, unit_code, settings, env):
        in_dir = (settings or {}).get("in_dir")
        if not in_dir or not os.path.isabs(in_dir) or not os.path.isdir(in_dir):
            if in_dir:
                log.warning("hotfolder: the in directory %s of %s is missing", in_dir, unit_code)
            return []
        try:
            rounds = max(1, int((settings or {}).get("stale_rounds") or DEFAULT_STALE_ROUNDS))
        except ValueError:
            rounds = DEFAULT_STALE_ROUNDS
        found = []
        for name in self.candidates(in_dir):
            if len(found) >= MAX_PER_POLL:
                break
            message = self.read(unit_code, in_dir, name, rounds, env)
            if message is not None:
                found.append(message)
        return found

    @staticmethod
    def candidates(in_dir):
        """Names of the complete-looking packages in ``in_dir``, oldest first."""
        entries = []
        try:
            scan = os.scandir(in_dir)
        except OSError:
            return []
        with scan:
            for entry in scan:
                if entry.name.startswith(".") or not entry.name.endswith(SUFFIX):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    entries.append((entry.stat().st_mtime_ns, entry.name))
                except OSError:
                    continue
        return [name for _mtime, name in sorted(entries)]

    def _not_ready(self, path, rounds, in_dir, name, why):
        """Count one more round for an unready file; after ``rounds`` rounds reject it."""
        try:
            stat = os.stat(path)
            shape = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            return
        with self.lock:
            seen, last = self.waiting.get(path, (0, None))
            seen = seen + 1 if last == shape else 1  # a file that still grows starts over
            self.waiting[path] = (seen, shape)
        if seen >= rounds:
            with self.lock:
                self.waiting.pop(path, None)
            reason = (
                f"{why} after {seen} polls; write the file under a name starting with '.', "
                f"then its {SIDECAR} sidecar, then rename the file"
            )
            move_away(in_dir, name, REJECTED, reason)
            log.warning("hotfolder: %s rejected: %s", path, reason)

    def read(self, unit_code, in_dir, name, rounds, env):
        from lienthong.core import edxml

        path = os.path.join(in_dir, name)
        expected = _sidecar_digest(path + SIDECAR)
        if expected is None:
            self._not_ready(path, rounds, in_dir, name, "no checksum sidecar")
            return None
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        if hashlib.sha256(data).hexdigest() != expected:
            self._not_ready(path, rounds, in_dir, name, "the checksum does not match the file")
            return None
        with self.lock:
            self.waiting.pop(path, None)
        try:
            kind = edxml.kind(data)
        except edxml.EdxmlError as exc:
            reason = f"not an edXML package or status message: {_reason_text(exc)}"
            move_away(in_dir, name, REJECTED, reason)
            log.warning("hotfolder: %s rejected: %s", path, reason)
            return None

        def done(result):
            if result.ok:
                move_away(in_dir, name, PROCESSED)
            else:
                move_away(in_dir, name, REJECTED, result.reason or "refused by the hub")

        return InboundMessage(unit=unit_code, kind=kind, payload=data, source=path, done=done)


def _reason_text(exc):
    """A ``ServiceError``'s message in English with its values filled in."""
    return exc.text() if hasattr(exc, "text") else str(exc)


@hookimpl
def lienthong_transports():
    return [HotFolder()]  # a new adapter for each application (its sessions and state are its own)
