"""Moving attachments between stores and checking them all (R5.4, R6.6).

``migrate`` copies every attachment whose ``store`` is not the target into the target,
checks the digest of the bytes read from the source and of the copy written, then
switches ``attachment.store``, committing one transaction per batch. An interrupted run
is resumed by running it again: moved attachments already name the target, and a copy a
killed run left in the target is reused once its digest checks out.

``verify`` reads every attachment from its store and checks its digest.

Both walk ``site["documents"]`` by key in chunks and minimise the connection cache as
they go, so memory stays bounded on a site of 100,000 documents.
"""

import hashlib
import itertools
from dataclasses import dataclass, field

from ZODB.POSException import ConflictError

from ..blobs import BlobMissing, DigestMismatch
from ..errors import ServiceError
from ..i18n import _
from . import audit

CHUNK = 1 << 20
KEYS_PER_CHUNK = 1000
MAX_KEPT = 1000  # problems kept in a report (all are counted and passed to the callback)


class UnknownStore(ServiceError):
    pass


@dataclass
class Problem:
    """One attachment that could not be read, moved or verified."""

    document_id: str
    notation: str
    name: str
    store: str
    sha256: str
    reason: str  # "damaged", "missing", "unavailable", "copy damaged"
    detail: str = ""

    def line(self):
        return (
            f"document {self.document_id} ({self.notation or '-'}), attachment {self.name}: {self.reason} "
            f"in the {self.store} store" + (f" ({self.detail})" if self.detail else "")
        )


@dataclass
class Report:
    documents: int = 0  # documents looked at
    total: int = 0  # documents on the site
    attachments: int = 0  # moved (migrate) or checked (verify)
    bytes: int = 0
    skipped: int = 0  # migrate: already in the target
    reused: int = 0  # migrate: a verified copy was already in the target
    batches: int = 0
    problems: list = field(default_factory=list)
    problem_count: int = 0
    orphans: dict = field(default_factory=dict)  # verify: store -> files no attachment names
    reasons: dict = field(default_factory=dict)  # problem reason -> count

    def add_problem(self, problem):
        self.problem_count += 1
        self.reasons[problem.reason] = self.reasons.get(problem.reason, 0) + 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(problem)

    @property
    def ok(self):
        return self.problem_count == 0


def store_named(env, name):
    """The store called ``name``; ``UnknownStore`` lists the available ones."""
    store = env.blob_stores.get(name)
    if store is None:
        raise UnknownStore(
            _("There is no attachment store named ${name} (available: ${available})."),
            field="store",
            name=name,
            available=", ".join(sorted(env.blob_stores)) or "none",
        )
    return store


def check_digest(store, site, key):
    """Read ``key`` from ``store`` to its end and check its SHA-256 ourselves (a vendor's store
    may not); return the size. Raises ``DigestMismatch`` / ``BlobMissing``."""
    try:
        stream = store.open(site, key)
    except (FileNotFoundError, KeyError) as exc:
        raise BlobMissing(key, store.name) from exc
    digest, size = hashlib.sha256(), 0
    with stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    if digest.hexdigest() != key:
        raise DigestMismatch(key, store.name)
    return size


def document_keys(site, after=None):
    """Keys of ``site["documents"]`` after ``after``, fetched a chunk at a time (never all at once)."""
    tree = site["documents"].data
    while True:
        keys = tree.keys() if after is None else tree.keys(min=after, excludemin=True)
        chunk = list(itertools.islice(keys, KEYS_PER_CHUNK))
        if not chunk:
            return
        yield from chunk
        after = chunk[-1]


def _problem(document, attachment, reason, detail="", store=None):
    return Problem(
        document.id,
        document.notation,
        attachment.name,
        store or attachment.store,
        attachment.sha256,
        reason,
        detail,
    )


def _minimise(site):
    jar = getattr(site, "_p_jar", None)
    if jar is not None:
        jar.cacheMinimize()


# -- migrate ------------------------------------------------------------------------------
def _move(site, env, document, attachment, target, report):
    """Copy one attachment into ``target``; return the Problem or None (then ``store`` is switched)."""
    key = attachment.sha256
    source = env.blob_stores.get(attachment.store)
    if source is None:
        return _problem(document, attachment, "unavailable", "no enabled plugin provides this store")
    if target.exists(site, key):
        try:
            check_digest(target, site, key)
            attachment.store = target.name
            report.reused += 1
            return None
        except DigestMismatch:
            pass  # a damaged copy in the target: written again from the source
    try:
        # the source store checks the digest on open; put hashes what it reads, and we compare
        with source.open(site, key) as stream:
            written = target.put(site, stream)
    except (FileNotFoundError, KeyError) as exc:
        return _problem(document, attachment, "missing", repr(exc))
    except DigestMismatch as exc:
        return _problem(document, attachment, exc.reason, str(exc))
    if written != key:
        return _problem(document, attachment, "damaged", f"the source gave bytes whose digest is {written}")
    try:
        check_digest(target, site, key)
    except DigestMismatch as exc:
        return _problem(document, attachment, "copy damaged", str(exc), store=target.name)
    attachment.store = target.name
    return None


def migrate(
    site, env, tm, actor, target_name, batch=100, progress=None, on_commit=None, on_problem=None, attempts=5
):
    """Move every attachment not in ``target_name`` into it; one transaction per ``batch`` moved.

    ``tm`` is the transaction manager of ``site``'s connection. ``progress(report, pending)`` is
    called after each document (``pending``: the counts of the batch not yet committed),
    ``on_commit(report)`` after each committed batch,
    ``on_problem(problem)`` for each attachment left where it was. Returns the Report.
    """
    target = store_named(env, target_name)
    batch = max(1, int(batch))
    report = Report(total=len(site["documents"]))
    committed_after = None  # the last document key whose batch is committed
    pending = Report()  # counts of the open batch
    pending_ids = []
    conflicts = 0

    def commit(last_key):
        nonlocal pending, pending_ids, committed_after
        changed = bool(pending.attachments or pending.problem_count)
        if changed:
            audit.record(
                site,
                actor,
                "blobs.migrate",
                "/documents",
                to=target.name,
                moved=pending.attachments,
                bytes=pending.bytes,
                reused=pending.reused,
                first=pending_ids[0] if pending_ids else "",
                last=pending_ids[-1] if pending_ids else "",
                failed=[f"{p.document_id}/{p.name}" for p in pending.problems[:50]],
            )
        tm.commit()
        for name in ("attachments", "bytes", "reused", "skipped", "documents"):
            setattr(report, name, getattr(report, name) + getattr(pending, name))
        for problem in pending.problems:
            report.add_problem(problem)
            if on_problem is not None:
                on_problem(problem)
        report.problem_count += pending.problem_count - len(pending.problems)
        for reason, n in pending.reasons.items():  # those beyond MAX_KEPT, not added above
            report.reasons[reason] = (
                report.reasons.get(reason, 0) + n - sum(1 for p in pending.problems if p.reason == reason)
            )
        if pending.attachments:
            report.batches += 1
        committed_after = last_key
        pending, pending_ids = Report(), []
        _minimise(site)
        if on_commit is not None and changed:
            on_commit(report)

    while True:
        try:
            last_key, seen = committed_after, 0
            for key in document_keys(site, committed_after):
                document = site["documents"][key]
                last_key = key
                moved_here = False
                for attachment in document.attachments.values():
                    if attachment.store == target.name:
                        pending.skipped += 1
                        continue
                    problem = _move(site, env, document, attachment, target, pending)
                    if problem is not None:
                        pending.add_problem(problem)
                        continue
                    pending.attachments += 1
                    pending.bytes += attachment.size or 0
                    moved_here = True
                if moved_here:
                    pending_ids.append(document.id)
                pending.documents += 1
                seen += 1
                if progress is not None:
                    progress(report, pending)
                if pending.attachments >= batch:
                    commit(key)
                elif seen % KEYS_PER_CHUNK == 0:
                    _minimise(site)
            commit(last_key)
            return report
        except ConflictError:
            # someone changed a document of this batch meanwhile: redo the batch from its start
            tm.abort()
            pending, pending_ids = Report(), []
            conflicts += 1
            if conflicts >= attempts:
                raise
        except BaseException:
            tm.abort()
            raise


# -- verify -------------------------------------------------------------------------------
def verify(site, env, store_name=None, progress=None, on_problem=None):
    """Read every attachment (of ``store_name``, or all) and check its digest; count orphan files.

    Orphans are files a store holds that no attachment names (a write whose transaction
    aborted): harmless, counted for stores that can list their keys (``keys()``).
    """
    stores = env.blob_stores
    if store_name is not None:
        store_named(env, store_name)
    listable = {
        name: s
        for name, s in stores.items()
        if callable(getattr(s, "keys", None)) and store_name in (None, name)
    }
    referenced = {name: set() for name in listable}
    report = Report(total=len(site["documents"]))
    for n, key in enumerate(document_keys(site), 1):
        document = site["documents"][key]
        for attachment in document.attachments.values():
            if store_name is not None and attachment.store != store_name:
                continue
            if attachment.store in referenced:
                referenced[attachment.store].add(attachment.sha256)
            store = stores.get(attachment.store)
            if store is None:
                problem = _problem(
                    document, attachment, "unavailable", "no enabled plugin provides this store"
                )
            else:
                try:
                    report.bytes += check_digest(store, site, attachment.sha256)
                    report.attachments += 1
                    continue
                except DigestMismatch as exc:
                    problem = _problem(document, attachment, exc.reason, str(exc))
            report.add_problem(problem)
            if on_problem is not None:
                on_problem(problem)
        report.documents = n
        if progress is not None:
            progress(report, None)
        if n % KEYS_PER_CHUNK == 0:
            _minimise(site)
    for name, store in listable.items():
        report.orphans[name] = sum(1 for k in store.keys() if k not in referenced[name])
    return report
