"""Attachment store "fs": content-addressed files (SHA-256) on a directory.

The directory may be shared by several machines (NFS, CIFS, a cluster file system):

* a file's name is its SHA-256, under a two-level fan-out (``ab/cd/abcd…``), so identical
  attachments are stored once, whoever writes them;
* a write goes to a private temporary file under ``tmp/`` on the same file system, is
  flushed and fsync'ed, then ``os.replace``\\ d onto its final name and the directory is
  fsync'ed: a reader sees the whole file or none. Two writers of the same bytes on two
  machines both succeed (the second rename replaces identical bytes); nothing relies on
  in-process locks;
* every ``open`` reads the file through once and compares its digest before handing it
  out: damaged or missing bytes raise ``DigestMismatch`` / ``BlobMissing``, never served.

Files are never deleted by the hub: a write whose transaction aborts leaves a harmless
orphan that ``lienthong blobs verify`` counts.

Configuration: ``lienthong.blob_store.fs.path`` (see docs/storage.md). The store object
comes from ``lienthong_blob_stores`` (one per application) and is configured by this
plugin's ``lienthong_configure`` from the application's settings.
"""

import hashlib
import os
import re
import socket
import tempfile
import time

from zope.interface import implementer

from lienthong.core.app_objects import app_objects
from lienthong.core.blobs import BlobMissing, BlobStoreError, DigestMismatch
from lienthong.core.db import file_storage_path
from lienthong.core.files import fsync_dir
from lienthong.core.hookspecs import hookimpl
from lienthong.core.interfaces import IBlobStore

CHUNK = 1 << 20
KEY = re.compile(r"^[0-9a-f]{64}$")
PATH_SETTING = "lienthong.blob_store.fs.path"
TMP = "tmp"
STALE_AFTER = 24 * 3600
#: the default directory, next to a FileStorage's Data.fs when no path is set
DEFAULT_DIRNAME = "fs-blobs"


def default_path(settings):
    """``fs-blobs`` next to the Data.fs of a ``file://`` database; None for ZEO/RelStorage."""
    data_fs = file_storage_path(settings.get("zodbconn.uri", ""))
    return os.path.join(os.path.dirname(os.path.abspath(data_fs)), DEFAULT_DIRNAME) if data_fs else None


@implementer(IBlobStore)
class FilesystemBlobStore:
    name = "fs"
    title = "Files on a (shared) directory"

    def __init__(self, path=None):
        self.path = os.path.abspath(path) if path else None

    # -- configuration -----------------------------------------------------------------
    def configure(self, settings):
        path = (settings.get(PATH_SETTING) or "").strip() or default_path(settings)
        self.path = os.path.abspath(path) if path else None
        if settings.get("lienthong.blob_store") == self.name:
            self.root()  # chosen for new attachments: a missing or unwritable directory stops the start
            self.remove_stale_temporaries()

    def remove_stale_temporaries(self, older_than=STALE_AFTER):
        """Delete temporary files a killed writer left (older than a day: no live write takes that long,
        and another machine may be writing the young ones right now); return how many."""
        directory = os.path.join(self.path, TMP)
        removed, limit = 0, time.time() - older_than
        for entry in os.scandir(directory) if os.path.isdir(directory) else ():
            try:
                if entry.name.endswith(".part") and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:  # another machine removed it first
                pass
        return removed

    def root(self):
        """The directory, created if needed; a clear error when it cannot be used."""
        if not self.path:
            raise BlobStoreError(f"the fs attachment store has no directory: set {PATH_SETTING} in the ini")
        try:
            os.makedirs(os.path.join(self.path, TMP), exist_ok=True)
        except OSError as exc:
            raise BlobStoreError(
                f"cannot create the fs attachment store directory {self.path}: {exc.strerror or exc}"
            ) from exc
        if not os.access(self.path, os.W_OK | os.X_OK):
            raise BlobStoreError(f"the fs attachment store directory {self.path} is not writable")
        return self.path

    def path_for(self, key):
        if not isinstance(key, str) or not KEY.match(key):
            raise ValueError(f"not a SHA-256 key: {key!r}")
        if not self.path:
            raise BlobStoreError(f"the fs attachment store has no directory: set {PATH_SETTING} in the ini")
        return os.path.join(self.path, key[:2], key[2:4], key)

    # -- IBlobStore --------------------------------------------------------------------
    def put(self, site, stream):
        root = self.root()
        digest = hashlib.sha256()
        # unique across processes and machines sharing the directory
        fd, tmp = tempfile.mkstemp(
            prefix=f"{socket.gethostname()}-{os.getpid()}-", suffix=".part", dir=os.path.join(root, TMP)
        )
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            key = digest.hexdigest()
            final = self.path_for(key)
            if self._intact(final, key):  # identical bytes are already there: stored once
                os.unlink(tmp)
                return key
            os.chmod(tmp, 0o440)  # content-addressed files never change
            directory = os.path.dirname(final)
            created = not os.path.isdir(directory)
            os.makedirs(directory, exist_ok=True)
            os.replace(tmp, final)  # atomic; a concurrent writer of the same key replaces equal bytes
            fsync_dir(directory)
            if created:
                fsync_dir(os.path.dirname(directory))
                fsync_dir(root)
            return key
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def exists(self, site, key):
        return os.path.isfile(self.path_for(key))

    def open(self, site, key):
        path = self.path_for(key)
        try:
            f = open(path, "rb")
        except FileNotFoundError:
            raise BlobMissing(
                key, self.name, f"attachment {key} is missing from the fs store ({path})"
            ) from None
        try:
            if self._digest(f) != key:
                raise DigestMismatch(
                    key,
                    self.name,
                    f"attachment {key} in the fs store is damaged: the bytes "
                    f"of {path} no longer match their digest",
                )
            f.seek(0)  # the same open file is served: a rename meanwhile cannot swap what was checked
        except BaseException:
            f.close()
            raise
        return f

    # -- for verify and the operator -----------------------------------------------------
    def keys(self):
        """Every stored key (walks the directory; for counting orphans)."""
        if not self.path or not os.path.isdir(self.path):
            return
        for first in sorted(os.listdir(self.path)):
            if len(first) != 2 or not os.path.isdir(os.path.join(self.path, first)):
                continue
            for second in sorted(os.listdir(os.path.join(self.path, first))):
                directory = os.path.join(self.path, first, second)
                if not os.path.isdir(directory):
                    continue
                for name in sorted(os.listdir(directory)):
                    if KEY.match(name) and name.startswith(first + second):
                        yield name

    @staticmethod
    def _digest(f):
        digest = hashlib.sha256()
        while chunk := f.read(CHUNK):
            digest.update(chunk)
        return digest.hexdigest()

    def _intact(self, path, key):
        try:
            with open(path, "rb") as f:
                return self._digest(f) == key
        except FileNotFoundError:
            return False


@hookimpl
def lienthong_blob_stores():
    return [FilesystemBlobStore()]


@hookimpl
def lienthong_configure(config):
    """Point this application's fs store at its directory (a fresh store per application)."""
    store = (app_objects(config.registry).blob_stores or {}).get(FilesystemBlobStore.name)
    if isinstance(store, FilesystemBlobStore):
        store.configure(config.get_settings())
