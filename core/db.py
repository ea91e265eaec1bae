"""Opening the object database from the ``zodbconn.uri`` setting (with errors a person can act on),
and working on its site in a transaction of its own."""

import contextlib
import os
from urllib.parse import parse_qs, urlsplit

import transaction
import zodburi
from ZODB import DB


class StorageError(RuntimeError):
    """The database could not be opened; the message says why in one line."""


def file_storage_path(uri):
    """The Data.fs path of a ``file://`` URI, else None."""
    if not uri.startswith("file://"):
        return None
    return uri[len("file://") :].split("?", 1)[0]


def explain(exc, uri):
    """Turn a storage exception into one clear sentence."""
    name = type(exc).__name__
    if name == "LockError":
        return (
            f"the database {file_storage_path(uri) or uri} is locked by another process "
            f"(is `lienthong serve` or a worker already running?)"
        )
    if isinstance(exc, KeyError) or "scheme" in str(exc).lower():
        scheme = urlsplit(uri).scheme or uri
        return f"unknown storage URI scheme {scheme!r} in zodbconn.uri = {uri}"
    if isinstance(exc, (PermissionError, IsADirectoryError, FileNotFoundError, NotADirectoryError)):
        return f"cannot open the database at {uri}: {exc.strerror or exc} ({getattr(exc, 'filename', '')})"
    return f"cannot open the database at {uri}: {name}: {exc}"


def check_var_writable(uri):
    """For FileStorage, make sure its directory exists and is writable."""
    path = file_storage_path(uri)
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise StorageError(f"the data directory {directory} is a file, not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create the data directory {directory}: {exc.strerror}") from exc
    if not os.access(directory, os.W_OK):
        raise StorageError(f"the data directory {directory} is not writable")


def resolve_uri(uri):
    """zodburi's (storage factory, DB keywords) for ``uri``, with blobs kept safe on FileStorage.

    For ``file://…?blobstorage_dir=…`` zodburi wraps the FileStorage in ZODB's
    ``BlobStorage`` proxy. Under concurrent commits where one transaction aborts on a
    conflict, that proxy deletes blob files of another transaction that commits (measured:
    143 of 315 blobs lost in a plain-ZODB script, none with the storage's own blob support;
    ``tests/test_storage.py::test_concurrent_conflicting_blob_commits_lose_no_blob``). So a
    FileStorage is opened with its own ``blob_dir`` instead; the directory layout is the same.
    """
    factory, dbkw = zodburi.resolve_uri(uri)
    query = parse_qs(urlsplit(uri).query)
    blob_dir = query.get("blobstorage_dir", [None])[0]
    path = file_storage_path(uri)
    if path is None or not blob_dir:
        return factory, dbkw
    from ZODB.FileStorage import FileStorage

    options = {
        name: query[name][0].lower() in ("1", "true", "yes", "on")
        for name in ("read_only", "create", "pack_gc")
        if name in query
    }

    def open_file_storage():
        return FileStorage(path, blob_dir=blob_dir, **options)

    return open_file_storage, dbkw


def db_from_uri(uri, dbname, dbmap):
    """pyramid_zodbconn's database opener, through ``resolve_uri`` above."""
    import pyramid_zodbconn

    return pyramid_zodbconn.db_from_uri(uri, dbname, dbmap, resolve_uri=resolve_uri)


def resolve(uri):
    """Parse ``uri`` (no connection is made): (storage factory, DB keywords)."""
    try:
        return resolve_uri(uri)
    except Exception as exc:
        raise StorageError(explain(exc, uri)) from exc


def open_database(uri):
    storage_factory, dbkw = resolve(uri)
    check_var_writable(uri)
    try:
        storage = storage_factory()
    except Exception as exc:
        raise StorageError(explain(exc, uri)) from exc
    return DB(storage, **dbkw)


def get_database(registry):
    """The primary database of a configured application (opened by pyramid_zodbconn), or None.

    pyramid_zodbconn keeps its databases on the registry; this is the one place that knows.
    """
    return getattr(registry, "_zodb_databases", {}).get("")


def close_databases(registry):
    for db in getattr(registry, "_zodb_databases", {}).values():
        db.close()


@contextlib.contextmanager
def open_transaction(db, connection=None):
    """A fresh transaction on a connection of ``db``: yields (its root, its transaction manager).

    The connection is a new one with a transaction manager of its own (closed afterwards),
    or ``connection``, an open one kept open. The transaction is aborted when the block
    ends: a block that wants its changes kept commits them.
    """
    if connection is None:
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
    else:
        conn, tm = connection, connection.transaction_manager
    try:
        tm.begin()
        yield conn.root(), tm
    finally:
        tm.abort()
        if connection is None:
            conn.close()


def run_in_site(db, fn, attempts=3, commit=True, connection=None, on_conflict=None):
    """``fn(site)`` in a transaction of its own on ``db``, committed; retried on a conflict.

    The one way to work on the site outside a request (the CLI, the worker, the digest,
    what must be on the record although the caller's transaction will be aborted, tests).
    ``fn`` must be repeatable when ``attempts`` > 1; the last ``ConflictError`` is raised.
    ``commit``: true, false (nothing is written) or a function of ``fn``'s result that says
    whether to commit. ``connection``: see ``open_transaction``. ``on_conflict(attempt)``
    runs before each retry (default: ``retry.pause``, a growing pause with jitter). Returns
    what ``fn`` returned.
    """
    from ZODB.POSException import ConflictError

    from .resources.site import find_site
    from .retry import pause

    on_conflict = pause if on_conflict is None else on_conflict

    for attempt in range(attempts):
        with open_transaction(db, connection) as (root, tm):
            try:
                result = fn(find_site(root))
                if commit(result) if callable(commit) else commit:
                    tm.commit()
                return result
            except ConflictError:
                if attempt == attempts - 1:
                    raise
        on_conflict(attempt)
