"""/audit: the append-only, hash-chained audit log, written by many transactions at once.

Each entry carries the SHA-256 of its predecessor and its own hash over its content, so
any change, removal or reordering breaks the chain at a point ``verify`` reports. There
is no API to change or delete an entry.

Every request that reads or changes something appends here, so the log must not make
concurrent requests conflict. The newest entries are kept in a short ``tail`` list in the
log's own state, and ``_p_resolveConflict`` merges two transactions that appended at the
same time: the entries of the later commit are re-chained (sequence number, previous
hash, own hash) on top of the earlier one's. A full tail is sealed into an
``AuditChunk`` in the ``archive`` BTree; only two transactions sealing at the same moment
conflict, and pyramid_retry runs one of them again. (With ZEO the resolution runs on the
server, which must be able to import ``lienthong``: run ``runzeo`` from LienThong's venv.)

Each entry is stored as one JSON text (``encode``): a single string per entry keeps the
pickles that conflict resolution reads and writes small and quick.

Consequence: the ``seq`` and ``hash`` an append returns are final only once its
transaction has committed without a concurrent append; nothing may store them earlier.
"""

import hashlib
import json
from typing import NamedTuple

from BTrees.LOBTree import LOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from ZODB.POSException import ConflictError
from zope.interface import implementer

from .. import permissions as sec
from ..interfaces import IAuditLog

GENESIS = "0" * 64
FIELDS = ("seq", "time", "actor", "on_behalf_of", "action", "target", "client", "details", "prev")


class Break(NamedTuple):
    """Where and why the chain is broken."""

    seq: int
    reason: str
    kind: str  # missing, not_linked, changed, chunk, missing_end, head


def entry_hash(entry):
    body = {k: entry.get(k) for k in FIELDS}
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def encode(entry):
    """The stored form of an entry: one JSON text."""
    return json.dumps(entry, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def decode(text):
    return json.loads(text)


def chained(entry, seq, prev):
    """``entry`` placed at ``seq`` after the entry whose hash is ``prev``."""
    entry = dict(entry, seq=seq, prev=prev)
    entry["hash"] = entry_hash(entry)
    return entry


class AuditChunk(Persistent):
    """A sealed run of consecutive entries (JSON texts) moved out of the log's tail; never changed."""

    def __init__(self, entries):
        self.entries = tuple(entries)


@implementer(IAuditLog)
class AuditLog(Persistent):
    content_type = "AuditLog"
    __name__ = None
    __parent__ = None
    __acl__ = [
        (Allow, f"role:{sec.SYSTEM_ADMIN}", (sec.VIEW, sec.VIEW_AUDIT)),
        (Allow, f"role:{sec.AUDITOR}", (sec.VIEW, sec.VIEW_AUDIT)),
        (Deny, Everyone, ALL_PERMISSIONS),
    ]
    #: entries kept in the log's own state before they are sealed into a chunk
    tail_size = 64

    def __init__(self):
        self.archive = LOBTree()  # seq of a chunk's first entry -> AuditChunk
        self.tail = []  # the newest entries, JSON texts (see _p_resolveConflict)
        self.next_seq = 1
        self.head = GENESIS

    def append(self, *, time, actor, on_behalf_of, action, target, client, details):
        # The stored details are a private JSON copy: exactly what the hash covers, and out of
        # reach of the caller (a later change to its dict or list would otherwise be pickled at
        # commit and break the chain).
        details = json.loads(json.dumps(details or {}, ensure_ascii=False))
        if len(self.tail) >= self.tail_size:
            self.archive[decode(self.tail[0])["seq"]] = AuditChunk(self.tail)
            self.tail = []
        entry = chained(
            {
                "time": time,
                "actor": actor,
                "on_behalf_of": on_behalf_of,
                "action": action,
                "target": target,
                "client": client,
                "details": details,
            },
            self.next_seq,
            self.head,
        )
        self.tail = self.tail + [encode(entry)]  # a new list: the log's state changes as a whole
        self.next_seq += 1
        self.head = entry["hash"]
        return entry

    def _p_resolveConflict(self, old, committed, new):
        """Merge two transactions that both appended: re-chain ``new``'s entries after ``committed``'s.

        Anything else (both sealed a chunk, or the state changed otherwise) stays a conflict.
        """
        old_tail, new_tail = old.get("tail", []), new.get("tail", [])
        added = new_tail[len(old_tail) :]
        if (
            new_tail[: len(old_tail)] != old_tail
            or not added
            or new["next_seq"] - old["next_seq"] != len(added)
            or set(new) != set(old)
            or set(committed) != set(old)
        ):
            raise ConflictError("the audit log was reorganized by two transactions at once")
        resolved = dict(committed)
        tail, seq, head = list(committed["tail"]), committed["next_seq"], committed["head"]
        for text in added:
            entry = chained(decode(text), seq, head)
            tail.append(encode(entry))
            seq, head = seq + 1, entry["hash"]
        resolved.update(tail=tail, next_seq=seq, head=head)
        return resolved

    def __len__(self):
        return self.next_seq - 1

    def _stored(self):
        """Every stored entry, oldest first, decoded."""
        for chunk in self.archive.values():
            yield from map(decode, chunk.entries)
        yield from map(decode, self.tail)

    def _stored_newest_first(self):
        yield from map(decode, reversed(self.tail))
        archive = self.archive
        if not archive:
            return
        key = archive.maxKey()
        while True:
            yield from map(decode, reversed(archive[key].entries))
            if key == archive.minKey():
                return
            key = archive.maxKey(key - 1)

    def iter_entries(self, start=None, reverse=False):
        """The entries, oldest first (or newest first), from sequence number ``start`` on.

        Each is decoded afresh from its stored text: a reader cannot change the log through it.
        """
        start = start or 1
        if reverse:
            for entry in self._stored_newest_first():
                if entry["seq"] < start:
                    return
                yield entry
            return
        try:
            first = self.archive.maxKey(start)  # the chunk that holds ``start``
        except ValueError:  # no chunk, or ``start`` before the first one
            first = None
        for texts in [c.entries for c in self.archive.values(min=first)] + [self.tail]:
            for entry in map(decode, texts):
                if entry["seq"] >= start:
                    yield entry

    def verify(self):
        """None when the chain is whole, else the ``Break`` (entry number, reason, kind) of the
        first broken link; ``kind`` names the fault for translated messages."""
        prev = GENESIS
        expected = 1
        for entry in self._stored():
            seq = entry.get("seq")
            if seq != expected:
                return Break(
                    expected, f"entry {expected} is missing or out of order (found {seq})", "missing"
                )
            if entry.get("prev") != prev:
                return Break(
                    seq, f"entry {seq} does not follow entry {seq - 1} (previous hash differs)", "not_linked"
                )
            if entry_hash(entry) != entry.get("hash"):
                return Break(seq, f"entry {seq} was changed after it was written (hash differs)", "changed")
            prev = entry["hash"]
            expected += 1
        for first, chunk in self.archive.items():
            if not chunk.entries or decode(chunk.entries[0]).get("seq") != first:
                return Break(
                    first, f"the sealed chunk filed under entry {first} does not start with it", "chunk"
                )
        if expected != self.next_seq:
            return Break(
                expected,
                f"entry {expected} is missing (log should end at {self.next_seq - 1})",
                "missing_end",
            )
        if prev != self.head:
            return Break(expected - 1, "the last entry is not the recorded head of the chain", "head")
        return None
