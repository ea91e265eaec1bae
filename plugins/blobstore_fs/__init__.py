"""Plugin blobstore_fs (being built)."""
