"""Backups and restores of the site's object database, with ZODB's own copying machinery.

A backup is a directory ``<to>/<UTC timestamp>/`` (e.g. ``20250102T030405.123456Z``) holding

- ``Data.fs`` — a new FileStorage filled by ``dest.copyTransactionsFrom(source)``: every
  transaction of the source, with its tid, user and description (history included);
- ``blobs/`` — that FileStorage's blob directory; ``copyTransactionsFrom`` of a FileStorage
  opened with a blob directory is ``ZODB.blob.copyTransactionsFromTo``, which carries each
  blob record's file over through ``restoreBlob`` (``BaseStorage.copy`` alone would not);
- ``manifest.json`` — when, from which storage (URI without password), the site's schema
  generation, the number of objects and transactions, the SHA-256 and size of ``Data.fs``
  and of every file under ``blobs/``, and the total size.

The source is the ini's ``zodbconn.uri``. A ``file://`` FileStorage is opened read-only:
``FileStorage(read_only=True)`` takes no lock file and never writes (no index, no temp
file), so a backup runs while ``lienthong serve`` holds the database. It copies up to the
last transaction committed when the backup started (FileStorage marks a transaction being
written with status ``c`` and the iterator stops there anyway). ZEO and RelStorage sources
are opened as ordinary clients through zodburi.

Longer than 600 lines because backup and restore are one contract (the manifest one writes
is what the other verifies, step by step); kept together so the two cannot drift apart.

A backup is written under a temporary name (``.partial-…``) and renamed only after it was
reopened read-only and verified (site present, every digest, the counts), so a half-made
backup never looks complete: ``list_backups`` and ``restore`` ignore or refuse such names.

``restore`` checks the manifest and every digest before anything else, refuses a target
database that is not empty (it never overwrites data), copies with the target storage's
own ``copyTransactionsFrom`` (FileStorage through zodburi's BlobStorage, RelStorage's
copier — which turns history into current records on a history-free schema), verifies the
restored site (generation, object count, every current blob's bytes) and then appends a
``system.restore`` entry to the restored site's audit log. A ZEO client is refused as a
restore target: ZEO's ``ClientStorage.copyTransactionsFrom`` is ``BaseStorage.copy``, which
restores blob records without their files; restore into the ZEO server's own FileStorage.

The audit: a backup writes nothing into the database it copies (it cannot: with
FileStorage the running server holds the only writable handle), so the manifest is the
record of a backup; a restore records itself in the restored site once it is verified.
The digests detect damage and truncation, not a forger who rewrites the manifest too.

No click and no request here: the CLI (and, later, the worker's scheduled job) call these.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
from datetime import UTC, datetime

from ..files import fsync_dir

FORMAT = "lienthong-backup/1"
MANIFEST = "manifest.json"
DATA = "Data.fs"
BLOBS = "blobs"
PARTIAL_PREFIX = ".partial-"
DELETING_PREFIX = ".deleting-"
DEFAULT_DIR = os.path.join("var", "backups")
#: the name of a complete backup: its UTC creation time
NAME_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")
CHUNK = 1 << 20
_SECRET_PARAMS = ("password", "passwd", "pwd", "secret", "token")


class BackupError(RuntimeError):
    """A backup or restore could not be done; the message says why in one line."""


# --------------------------------------------------------------------------- small helpers


def public_uri(uri):
    """``uri`` without any password: ``user:secret@`` loses the secret, query parameters
    such as ``password=`` are dropped, ``password=…`` inside another value (a ``dsn``)
    becomes ``password=***``. Everything else is kept as written."""
    uri = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]*://)([^/@?#:]*):[^/@?#]*@", r"\1\2@", uri)
    base, sep, query = uri.partition("?")
    if not sep:
        return uri
    kept = [pair for pair in query.split("&") if pair.split("=", 1)[0].lower() not in _SECRET_PARAMS]
    query = re.sub(
        r"(password|passwd|pwd)(\s*=\s*|%3D)('[^']*'|[^&\s']+)", r"\1\2***", "&".join(kept), flags=re.I
    )
    return f"{base}?{query}" if query else base


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _blob_files(backup_dir):
    """Relative paths (``blobs/…``, forward slashes) of the files of a backup's blob
    directory; ``blobs/tmp`` is ZODB's scratch directory, not data."""
    base = os.path.join(backup_dir, BLOBS)
    found = []
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base and "tmp" in dirnames:
            dirnames.remove("tmp")
        for name in filenames:
            path = os.path.join(dirpath, name)
            found.append(os.path.relpath(path, backup_dir).replace(os.sep, "/"))
    return sorted(found)


def _describe_files(backup_dir):
    files = {}
    for rel in [DATA] + _blob_files(backup_dir):
        path = os.path.join(backup_dir, *rel.split("/"))
        files[rel] = {"sha256": _sha256(path), "size": os.path.getsize(path)}
    return files


def _current_records(storage):
    """(oid, tid, data) of every current object, through IStorageCurrentRecordIteration
    (FileStorage and RelStorage have it; the iteration is always consumed to the end)."""
    cursor = None
    while True:
        oid, tid, data, cursor = storage.record_iternext(cursor)
        yield oid, tid, data
        if cursor is None:
            return


def _with_query(uri, **params):
    """``uri`` with these query parameters set (the others kept as written)."""
    base, _, query = uri.partition("?")
    pairs = [pair for pair in query.split("&") if pair and pair.split("=", 1)[0] not in params]
    pairs += [f"{key}={value}" for key, value in params.items()]
    return base + "?" + "&".join(pairs)


def _open_storage(uri, read_only=False):
    """The storage of ``uri`` through zodburi (no DB yet); a FileStorage read-only on demand."""
    from ..db import StorageError, explain, resolve

    if read_only and uri.startswith("file://"):
        uri = _with_query(uri, read_only=1)
    try:
        factory, _dbkw = resolve(uri)
    except StorageError as exc:
        raise BackupError(str(exc)) from exc
    try:
        return factory()
    except Exception as exc:
        raise BackupError(explain(exc, uri)) from exc


def _close(storage):
    try:
        storage.close()
    except Exception:  # closing after an error must not hide that error
        pass


def _is_empty(storage):
    from ZODB.utils import z64

    return storage.lastTransaction() == z64


def _find_site_in(storage):
    """(site generation or None, DB) for a storage that holds a root object.

    The DB must be closed by the caller (that closes the storage too)."""
    from ZODB import DB

    from ..db import open_transaction
    from ..resources.site import find_site

    db = DB(storage, pool_size=1, cache_size=1000)
    with open_transaction(db) as (root, _tm):
        site = find_site(root)
        return (None if site is None else site.generation), db


class _Snapshot:
    """The source as of one transaction: what ``copyTransactionsFrom`` reads.

    It needs only ``iterator()`` and ``loadBlob()``. The iterator stops right after the
    transaction that was the last one when the backup started, without reading further
    (a FileStorage being written to by the server may have a transaction half-written
    after it)."""

    def __init__(self, storage, stop):
        self._storage = storage
        self._stop = stop

    def iterator(self):
        it = self._storage.iterator(None, self._stop)
        try:
            for txn in it:
                if txn.tid > self._stop:
                    break
                yield txn
                if txn.tid == self._stop:
                    break
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def loadBlob(self, oid, serial):  # noqa: N802 - the ZODB storage API
        return self._storage.loadBlob(oid, serial)


def _open_backup_storage(backup_dir):
    from ZODB.FileStorage import FileStorage

    return FileStorage(
        os.path.join(backup_dir, DATA), read_only=True, blob_dir=os.path.join(backup_dir, BLOBS)
    )


def _inspect_backup(backup_dir):
    """Open a backup read-only: (generation, objects, transactions, blob records).

    Raises BackupError when the site is missing or a blob record has no file."""
    from ZODB.blob import is_blob_record
    from ZODB.POSException import POSKeyError
    from ZODB.utils import oid_repr, tid_repr

    storage = _open_backup_storage(backup_dir)
    db = None
    try:
        objects = len(storage)
        transactions = blob_records = 0
        for txn in storage.iterator():
            transactions += 1
            for record in txn:
                if record.data and is_blob_record(record.data):
                    blob_records += 1
                    try:
                        storage.loadBlob(record.oid, record.tid)
                    except POSKeyError:
                        raise BackupError(
                            f"{backup_dir}: the blob of object {oid_repr(record.oid)} at transaction "
                            f"{tid_repr(record.tid)} is missing (was the source packed during the "
                            f"backup, or is its blob directory damaged?)"
                        ) from None
        if transactions == 0:
            raise BackupError(f"{backup_dir}: {DATA} holds no transaction")
        generation, db = _find_site_in(storage)
        if generation is None:
            raise BackupError(f"{backup_dir}: the copied database holds no LienThong site")
        return generation, objects, transactions, blob_records
    finally:
        if db is not None:
            db.close()
        else:
            _close(storage)


# --------------------------------------------------------------------------- listing


def is_complete(path):
    """A complete backup: a directory whose name is not a temporary one, with a manifest
    (written last, before the rename that gives the backup its final name)."""
    name = os.path.basename(os.path.normpath(path))
    return (
        os.path.isdir(path)
        and not name.startswith((PARTIAL_PREFIX, DELETING_PREFIX))
        and os.path.isfile(os.path.join(path, MANIFEST))
    )


def list_backups(directory):
    """Paths of the complete backups in ``directory``, oldest first (their names are their
    UTC creation times); half-made ones (temporary names, no manifest) are not listed."""
    if not os.path.isdir(directory):
        return []
    return [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if NAME_RE.match(name) and is_complete(os.path.join(directory, name))
    ]


def prune(directory, keep):
    """Delete the oldest complete backups beyond the ``keep`` newest; return their paths.

    A backup is first renamed to a temporary name, so a deletion cut short never leaves
    something that looks like a complete backup."""
    if keep is None or keep < 1:
        raise BackupError("--keep must be at least 1")
    removed = []
    for path in list_backups(directory)[:-keep]:
        doomed = os.path.join(directory, DELETING_PREFIX + os.path.basename(path))
        try:
            os.rename(path, doomed)
            shutil.rmtree(doomed)
        except OSError as exc:
            raise BackupError(f"cannot delete the old backup {path}: {exc.strerror or exc}") from exc
        removed.append(path)
    return removed


# --------------------------------------------------------------------------- verify


def read_manifest(backup_dir):
    path = os.path.join(backup_dir, MANIFEST)
    if not os.path.isdir(backup_dir):
        raise BackupError(f"{backup_dir} is not a directory")
    if not os.path.isfile(path):
        raise BackupError(f"{backup_dir} is not a complete backup: it has no {MANIFEST}")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise BackupError(f"{path} cannot be read: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a LienThong backup manifest (format {FORMAT} expected)")
    for key in ("name", "created", "generation", "objects", "transactions", "files"):
        if key not in manifest:
            raise BackupError(f"{path} lacks {key!r}")
    if DATA not in manifest["files"]:
        raise BackupError(f"{path} does not list {DATA}")
    return manifest


def check_files(backup_dir, manifest):
    """Every file the manifest names is there with its size and SHA-256; nothing else is."""
    files = manifest["files"]
    for rel, expected in files.items():
        path = os.path.join(backup_dir, *rel.split("/"))
        if rel.startswith("/") or ".." in rel.split("/"):
            raise BackupError(f"{backup_dir}: the manifest names a path outside the backup: {rel}")
        if not os.path.isfile(path):
            raise BackupError(f"{path} is missing from the backup")
        size = os.path.getsize(path)
        if size != expected["size"]:
            raise BackupError(f"{path} is damaged: {size} bytes instead of {expected['size']} (truncated?)")
        if _sha256(path) != expected["sha256"]:
            raise BackupError(f"{path} is damaged: its SHA-256 differs from the manifest")
    extra = [rel for rel in _blob_files(backup_dir) if rel not in files]
    if extra:
        raise BackupError(f"{os.path.join(backup_dir, extra[0])} is not in the manifest of the backup")


def verify_backup(backup_dir, manifest=None):
    """Check a backup: manifest, every digest, and the copied database reopened read-only
    (site present, generation and counts as recorded). Returns the manifest."""
    name = os.path.basename(os.path.normpath(backup_dir))
    manifest = manifest or read_manifest(backup_dir)
    check_files(backup_dir, manifest)
    try:
        generation, objects, transactions, _blobs = _inspect_backup(backup_dir)
    except BackupError:
        raise
    except Exception as exc:
        raise BackupError(
            f"{os.path.join(backup_dir, DATA)} cannot be read as a FileStorage: {type(exc).__name__}: {exc}"
        ) from exc
    recorded = (manifest["generation"], manifest["objects"], manifest["transactions"])
    if (generation, objects, transactions) != recorded:
        raise BackupError(
            f"{name}: the copied database has generation {generation}, {objects} objects, "
            f"{transactions} transactions; the manifest says {recorded[0]}, {recorded[1]}, "
            f"{recorded[2]}"
        )
    return manifest


# --------------------------------------------------------------------------- backup


def _open_source(uri):
    """The database to back up, checked to hold a site: (storage, DB, generation)."""
    from ..db import file_storage_path

    path = file_storage_path(uri)
    if path is not None and not os.path.isfile(path):
        raise BackupError(
            f"the database file {path} does not exist: nothing to back up (run `lienthong init` first?)"
        )
    storage = _open_storage(uri, read_only=True)
    if _is_empty(storage):
        _close(storage)
        raise BackupError(f"the database at {public_uri(uri)} is empty: run `lienthong init` first")
    try:
        generation, db = _find_site_in(storage)
    except Exception as exc:
        _close(storage)
        raise BackupError(
            f"cannot read the database at {public_uri(uri)}: {type(exc).__name__}: {exc}"
        ) from exc
    if generation is None:
        db.close()
        raise BackupError(
            f"the database at {public_uri(uri)} holds no LienThong site: run `lienthong init` first"
        )
    return storage, db, generation


def _make_dir(directory):
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create the backup directory {directory}: {exc.strerror or exc}") from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise BackupError(f"the backup directory {directory} is not writable")


def backup(uri, to_dir=DEFAULT_DIR, keep=None, now=None):
    """Copy the database of ``uri`` into a new backup under ``to_dir`` and verify it.

    Returns ``(path, manifest, removed)``: the backup's directory, its manifest and the
    old backups ``keep`` deleted."""
    from ZODB.FileStorage import FileStorage

    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1")
    to_dir = os.path.abspath(to_dir)
    storage, db, _generation = _open_source(uri)
    created = now or datetime.now(UTC)
    name = created.strftime("%Y%m%dT%H%M%S.%fZ")
    final = os.path.join(to_dir, name)
    partial = os.path.join(to_dir, f"{PARTIAL_PREFIX}{name}-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        _make_dir(to_dir)
        if os.path.exists(final):
            raise BackupError(f"{final} already exists")
        try:
            os.mkdir(partial)
        except OSError as exc:
            raise BackupError(
                f"cannot write in the backup directory {to_dir}: {exc.strerror or exc}"
            ) from exc
        try:
            dest = FileStorage(
                os.path.join(partial, DATA), create=True, blob_dir=os.path.join(partial, BLOBS)
            )
            try:
                dest.copyTransactionsFrom(_Snapshot(storage, storage.lastTransaction()))
            finally:
                dest.close()
        except OSError as exc:
            raise BackupError(f"cannot write the backup in {to_dir}: {exc.strerror or exc}") from exc
        except BackupError:
            raise
        except Exception as exc:
            raise BackupError(f"copying from {public_uri(uri)} failed: {type(exc).__name__}: {exc}") from exc
    except BaseException:
        db.close()
        shutil.rmtree(partial, ignore_errors=True)
        raise
    db.close()
    try:
        # what FileStorage derives or leaves behind is not part of the backup: the index is
        # rebuilt by reading Data.fs (which the digest covers), the lock and temp files are empty
        for suffix in (".index", ".lock", ".tmp"):
            leftover = os.path.join(partial, DATA + suffix)
            if os.path.exists(leftover):
                os.remove(leftover)
        generation, objects, transactions, blob_records = _inspect_backup(partial)
        files = _describe_files(partial)
        manifest = {
            "format": FORMAT,
            "name": name,
            "created": created.isoformat(timespec="microseconds"),
            "source": public_uri(uri),
            "generation": generation,
            "objects": objects,
            "transactions": transactions,
            "blob_records": blob_records,
            "blob_files": sum(1 for rel in files if rel.endswith(".blob")),
            "total_size": sum(f["size"] for f in files.values()),
            "files": files,
        }
        with open(os.path.join(partial, MANIFEST + ".tmp"), "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(os.path.join(partial, MANIFEST + ".tmp"), os.path.join(partial, MANIFEST))
        verify_backup(partial, read_manifest(partial))
        os.rename(partial, final)
        fsync_dir(to_dir)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)  # a half-made backup never stays behind
        if isinstance(exc, OSError):
            raise BackupError(f"cannot write the backup in {to_dir}: {exc.strerror or exc}") from exc
        if isinstance(exc, BackupError) or not isinstance(exc, Exception):
            raise
        raise BackupError(f"the new backup cannot be read back: {type(exc).__name__}: {exc}") from exc
    removed = prune(to_dir, keep) if keep is not None else []
    return final, manifest, removed


# --------------------------------------------------------------------------- restore


def _refuse_non_empty(uri, storage):
    """Raise when ``storage`` holds anything; closes it in that case."""
    if _is_empty(storage):
        return
    try:
        generation, db = _find_site_in(storage)
        db.close()
    except Exception:
        generation = None
        _close(storage)
    what = "already holds a LienThong site" if generation is not None else "is not empty"
    raise BackupError(
        f"the target database {public_uri(uri)} {what}: restore never overwrites data; "
        f"point zodbconn.uri in the ini at an empty database"
    )


def _open_target(uri):
    """The empty, writable storage to restore into."""
    from ZODB.interfaces import IBlobStorageRestoreable

    from ..db import StorageError, check_var_writable, file_storage_path

    path = file_storage_path(uri)
    if path is not None and os.path.exists(path):
        # look first without writing anything (no lock, no index): a refusal changes nothing
        _refuse_non_empty(uri, _open_storage(uri, read_only=True))
    try:
        check_var_writable(uri)
    except StorageError as exc:
        raise BackupError(str(exc)) from exc
    storage = _open_storage(uri)
    if type(storage).__name__ == "ClientStorage":
        _close(storage)
        raise BackupError(
            "restore cannot go through a ZEO client (ZEO's copyTransactionsFrom drops blobs): stop "
            "the ZEO server, restore into its FileStorage with an ini whose zodbconn.uri is "
            "file://<server Data.fs>?blobstorage_dir=<server blob-dir>, then start runzeo again"
        )
    _refuse_non_empty(uri, storage)
    if not IBlobStorageRestoreable.providedBy(storage):
        _close(storage)
        raise BackupError(
            f"the target storage {public_uri(uri)} cannot restore blobs: give it a blob "
            f"directory (e.g. ?blobstorage_dir=… for file://)"
        )
    return storage


def check_restorable(backup_dir):
    """Everything that can be checked without the target: name, manifest, digests, the
    copied database (see ``verify_backup``), and that this code can run its generation."""
    from .. import evolve

    name = os.path.basename(os.path.normpath(backup_dir))
    if name.startswith((PARTIAL_PREFIX, DELETING_PREFIX)):
        raise BackupError(f"{backup_dir} is an unfinished backup (temporary name): it is never restored")
    manifest = verify_backup(backup_dir)
    if manifest["generation"] > evolve.current_generation():
        raise BackupError(
            f"the backup is at schema generation {manifest['generation']} but this version of "
            f"LienThong knows only up to {evolve.current_generation()}: upgrade LienThong first"
        )
    return manifest


def _count_and_check_blobs(storage, expected_blob):
    """(current objects, blobs, problem or None) of a restored storage: every current blob
    must have the bytes the backup's manifest recorded for that object and revision."""
    from ZODB.blob import is_blob_record
    from ZODB.POSException import POSKeyError

    objects = blobs = 0
    problem = None
    for oid, tid, data in _current_records(storage):
        objects += 1
        if not (data and is_blob_record(data)):
            continue
        blobs += 1
        digest = hashlib.sha256()
        try:
            with storage.openCommittedBlobFile(oid, tid) as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
        except POSKeyError:
            problem = problem or f"the blob of object {int.from_bytes(oid, 'big'):#x} is missing"
            continue
        if expected_blob.get((oid, tid)) != digest.hexdigest():
            problem = problem or f"the blob of object {int.from_bytes(oid, 'big'):#x} differs from the backup"
    return objects, blobs, problem


def restore(uri, backup_dir, actor, confirm=None):
    """Copy the backup in ``backup_dir`` into the empty database of ``uri``.

    ``confirm(manifest, target)`` (optional) is asked after every check and before the
    first write; a false answer stops with nothing written. Returns a dict for the summary.
    """
    from ZODB import DB

    from ..db import open_transaction
    from ..resources.site import find_site
    from . import audit

    backup_dir = os.path.abspath(backup_dir)
    manifest = check_restorable(backup_dir)
    target = _open_target(uri)
    try:
        go_ahead = confirm is None or confirm(manifest, public_uri(uri))
    except BaseException:
        _close(target)
        raise
    if not go_ahead:
        _close(target)
        return None
    source = _open_backup_storage(backup_dir)
    try:
        target.copyTransactionsFrom(source)
        expected_blob = {}  # (oid, tid) -> sha256, for the check of the restored blobs
        for rel, info in manifest["files"].items():
            if rel.endswith(".blob"):
                oid, tid = source.fshelper.splitBlobFilename(os.path.join(backup_dir, *rel.split("/")))
                expected_blob[(oid, tid)] = info["sha256"]
    except Exception as exc:
        _close(target)
        raise BackupError(
            f"copying into {public_uri(uri)} failed: {type(exc).__name__}: {exc}; the target "
            f"now holds part of the backup: empty it before trying again"
        ) from exc
    finally:
        _close(source)

    def mismatch(problem):
        return BackupError(
            f"the restored database {public_uri(uri)} does not match the backup: {problem} "
            f"(empty it before trying again)"
        )

    try:
        db = DB(target)
    except Exception as exc:
        _close(target)
        raise mismatch(f"it cannot be opened: {type(exc).__name__}: {exc}") from exc
    try:
        with open_transaction(db) as (root, tm):
            site = find_site(root)
            if site is None:
                raise mismatch("it holds no site")
            if site.generation != manifest["generation"]:
                raise mismatch(f"its generation is {site.generation}, the backup's {manifest['generation']}")
            objects, blobs, problem = _count_and_check_blobs(db.storage, expected_blob)
            if problem is None and objects != manifest["objects"]:
                problem = f"it has {objects} objects, the backup {manifest['objects']}"
            if problem:
                raise mismatch(problem)
            audit.record(
                site,
                actor,
                "system.restore",
                manifest["name"],
                backup=manifest["name"],
                created=manifest["created"],
                data_fs_sha256=manifest["files"][DATA]["sha256"],
                source=manifest["source"],
                generation=manifest["generation"],
                objects=objects,
            )
            tm.get().note(f"lienthong restore of backup {manifest['name']}")
            tm.commit()
            entries = len(site["audit"])
    except BackupError:
        raise
    except Exception as exc:
        raise mismatch(f"{type(exc).__name__}: {exc}") from exc
    finally:
        db.close()
    return {
        "name": manifest["name"],
        "target": public_uri(uri),
        "generation": manifest["generation"],
        "objects": objects,
        "blobs": blobs,
        "audit_entries": entries,
        "manifest": manifest,
    }
