"""Choosing the attachment store among those the plugins offer (``lienthong.blob_store``)."""


class BlobStoreError(RuntimeError):
    pass


def get_blob_store(registry):
    return registry.lienthong_blob_store


def includeme(config):
    pm = config.registry.lienthong_plugins
    stores = {}
    for group in pm.hook.lienthong_blob_stores():
        for store in group or ():
            stores[store.name] = store
    config.registry.lienthong_blob_stores = stores
    wanted = config.get_settings()["lienthong.blob_store"]
    if wanted not in stores:
        raise BlobStoreError(
            f"lienthong.blob_store = {wanted}, but no enabled plugin provides it "
            f"(available: {', '.join(sorted(stores)) or 'none'})")
    config.registry.lienthong_blob_store = stores[wanted]
