"""Durable files: what the attachment store, hot folders and backups need from the file system."""

import os


def fsync_dir(directory):
    """Make a rename in ``directory`` durable, where the platform allows it.

    Some network file systems refuse ``fsync`` on a directory (and some platforms cannot
    open one); the rename itself is still atomic, so that is not an error.
    """
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
