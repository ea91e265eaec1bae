"""The default attachment store: bytes in ZODB blobs, content-addressed by SHA-256.

Identical attachments are stored once. Every read checks the digest, so damaged bytes
are an error, never silently served.
"""
import hashlib
import shutil

from BTrees.OOBTree import OOBTree
from ZODB.blob import Blob

from zope.interface import implementer

from lienthong.core.interfaces import IBlobStore
from lienthong.core.plugins import hookimpl

CHUNK = 1 << 20


class DigestMismatch(IOError):
    pass


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
        blob = self._index(site)[key]
        digest = hashlib.sha256()
        with blob.open("r") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != key:
            raise DigestMismatch(f"attachment {key} is damaged: its bytes no longer match their digest")
        return blob.open("r")


@hookimpl
def lienthong_blob_stores():
    return [ZODBBlobStore()]
