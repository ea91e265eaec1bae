"""The default attachment store: bytes in ZODB blobs, content-addressed by SHA-256.

Identical attachments are stored once. Every read checks the digest, so damaged bytes
are an error, never silently served.
"""

import hashlib

from BTrees.OOBTree import OOBTree
from ZODB.blob import Blob
from ZODB.POSException import POSKeyError
from zope.interface import implementer

from lienthong.core.blobs import BlobMissing, DigestMismatch  # noqa: F401  (DigestMismatch: re-exported)
from lienthong.core.hookspecs import hookimpl
from lienthong.core.interfaces import IBlobStore

CHUNK = 1 << 20


@implementer(IBlobStore)
class ZODBBlobStore:
    name = "zodb"
    title = "ZODB blobs"

    def _index(self, site):
        index = getattr(site, "_blobstore_zodb", None)
        if index is None:
            index = site._blobstore_zodb = OOBTree()
        return index

    def put(self, site, stream):
        blob = Blob()
        digest = hashlib.sha256()
        with blob.open("w") as out:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
        key = digest.hexdigest()
        index = self._index(site)
        if key not in index:
            index[key] = blob
        return key

    def exists(self, site, key):
        return key in self._index(site)

    def open(self, site, key):
        blob = self._index(site).get(key)
        if blob is None:
            raise BlobMissing(key, self.name)
        try:
            f = blob.open("r")
        except (OSError, POSKeyError) as exc:  # the blob file is gone from the blob directory
            raise BlobMissing(
                key,
                self.name,
                f"attachment {key} is missing from the {self.name} store: {type(exc).__name__}",
            ) from exc
        digest = hashlib.sha256()
        try:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
            if digest.hexdigest() != key:
                raise DigestMismatch(key, self.name)
            f.seek(0)
        except BaseException:
            f.close()
            raise
        return f


@hookimpl
def lienthong_blob_stores():
    return [ZODBBlobStore()]
