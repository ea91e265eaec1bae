"""Choosing the attachment store among those the plugins offer (``lienthong.blob_store``)."""

from .app_objects import app_objects
from .interfaces import IBlobStore, misfit


class BlobStoreError(RuntimeError):
    pass


class DigestMismatch(IOError):
    """Stored bytes no longer match their SHA-256 key: an error, never served.

    Every store raises it from ``open`` (and ``BlobMissing`` when the bytes are gone), so the
    services, ``lienthong blobs verify`` and the migration treat all stores alike.
    """

    reason = "damaged"

    def __init__(self, key, store, message=None):
        self.key = key
        self.store = store
        super().__init__(
            message
            or f"attachment {key} in the {store} store is damaged: its bytes no longer match their digest"
        )


class BlobMissing(DigestMismatch):
    """The store has no bytes (or no file) for the key an attachment names."""

    reason = "missing"

    def __init__(self, key, store, message=None):
        super().__init__(key, store, message or f"attachment {key} is missing from the {store} store")


def includeme(config):
    objects = app_objects(config.registry)
    pm = objects.plugins
    stores = {}
    for impl in pm.hook.lienthong_blob_stores.get_hookimpls():
        for store in impl.function() or ():
            problem = misfit(IBlobStore, store)
            if problem:
                what = f"{type(store).__module__}.{type(store).__qualname__}"
                raise BlobStoreError(
                    f"the attachment store {what} (plugin {impl.plugin_name}) does not fit "
                    f"IBlobStore: {problem}"
                )
            stores[store.name] = store
    objects.blob_stores = stores
    wanted = config.get_settings()["lienthong.blob_store"]
    if wanted not in stores:
        raise BlobStoreError(
            f"lienthong.blob_store = {wanted}, but no enabled plugin provides it "
            f"(available: {', '.join(sorted(stores)) or 'none'})"
        )
    objects.blob_store = stores[wanted]
