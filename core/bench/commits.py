"""Commit figures: an audited service call against a raw ZODB commit, alone and with 4 writers.

* ``audit_append`` — a service call that appends one hash-chained audit entry and
  commits, against a raw ZODB commit of one small change (``zodb_commit``);
* ``audit_append_4_writers`` — 4 writers at once, all appending to the one log (merged by
  conflict resolution), against 4 writers committing to objects of their own.
"""

import time

import transaction
from persistent import Persistent

from .harness import in_threads, rate


class _Counter(Persistent):
    value = 0


def bench_commits(directory, seconds):
    from ..db import open_database
    from ..services import audit
    from ..services.setup import ensure_site

    db = open_database(f"file://{directory}/Bench.fs?blobstorage_dir={directory}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        root = conn.root()
        root["counter"] = _Counter()
        site, _ = ensure_site(root, tm)
        tm.commit()
        counter = root["counter"]

        def raw():
            counter.value += 1
            tm.commit()

        actor = audit.Actor.system("bench")

        def audited():
            audit.record(site, actor, "bench.tick", "/bench")
            tm.commit()

        figures = {"zodb_commit": rate(raw, seconds), "audit_append": rate(audited, seconds)}
    finally:
        tm.abort()
        conn.close()
    try:
        figures.update(_concurrent_commits(db, seconds))
    finally:
        db.close()
    return figures


def _concurrent_commits(db, seconds, writers=4):
    """``writers`` threads, each on its own connection: raw commits of one object per writer
    (no conflicts possible) against audit appends that all go to the one log."""
    from ZODB.POSException import ConflictError

    from ..resources.site import find_site
    from ..services import audit

    def run(work):
        counts = [0] * writers
        deadline = time.perf_counter() + seconds

        def writer(i):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            try:
                while time.perf_counter() < deadline:
                    try:
                        work(i, conn.root())
                        tm.commit()
                        counts[i] += 1
                    except ConflictError:
                        tm.abort()
            finally:
                conn.close()

        elapsed = in_threads(writer, writers)
        return sum(counts) / elapsed

    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    for i in range(writers):
        conn.root()[f"counter{i}"] = _Counter()
    tm.commit()
    conn.close()

    def raw(i, root):
        root[f"counter{i}"].value += 1

    def audited(i, root):
        audit.record(find_site(root), audit.Actor.system(f"bench{i}"), "bench.tick", "/bench")

    return {f"zodb_commit_{writers}_writers": run(raw), f"audit_append_{writers}_writers": run(audited)}
