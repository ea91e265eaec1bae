"""/audit: the append-only, hash-chained audit log.

Each entry carries the SHA-256 of its predecessor and its own hash over its content,
so any change, removal or reordering breaks the chain at a point ``verify`` reports.
Entries live in an ``LOBTree`` keyed by sequence number; there is no API to change or
delete one.
"""
import copy
import hashlib
import json

from BTrees.LOBTree import LOBTree
from persistent import Persistent
from pyramid.authorization import Allow, Deny, Everyone, ALL_PERMISSIONS

from .. import security as sec

GENESIS = "0" * 64
FIELDS = ("seq", "time", "actor", "on_behalf_of", "action", "target", "client", "details", "prev")


def entry_hash(entry):
    body = {k: entry.get(k) for k in FIELDS}
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


class AuditLog(Persistent):
    content_type = "AuditLog"
    __name__ = None
    __parent__ = None
    __acl__ = [
        (Allow, f"role:{sec.SYSTEM_ADMIN}", (sec.VIEW, sec.VIEW_AUDIT)),
        (Allow, f"role:{sec.AUDITOR}", (sec.VIEW, sec.VIEW_AUDIT)),
        (Deny, Everyone, ALL_PERMISSIONS),
    ]

    def __init__(self):
        self.entries = LOBTree()
        self.next_seq = 1
        self.head = GENESIS

    def append(self, *, time, actor, on_behalf_of, action, target, client, details):
        # The stored details are a private JSON copy: exactly what the hash covers, and out of
        # reach of the caller (a later change to its dict or list would otherwise be pickled at
        # commit and break the chain).
        details = json.loads(json.dumps(details or {}, ensure_ascii=False))
        entry = {
            "seq": self.next_seq,
            "time": time,
            "actor": actor,
            "on_behalf_of": on_behalf_of,
            "action": action,
            "target": target,
            "client": client,
            "details": details,
            "prev": self.head,
        }
        entry["hash"] = entry_hash(entry)
        self.entries[entry["seq"]] = entry
        self.next_seq += 1
        self.head = entry["hash"]
        return copy.deepcopy(entry)

    def __len__(self):
        return self.next_seq - 1

    def iter_entries(self, start=None, reverse=False):
        """Copies of the entries (a reader cannot change the stored ones through them)."""
        if reverse:
            return (copy.deepcopy(self.entries[k]) for k in self._keys_newest_first(start))
        return (copy.deepcopy(e) for e in self.entries.values(min=start))

    def _keys_newest_first(self, stop=None):
        """Keys from the newest down to ``stop`` (or the oldest), lazily: no list of the whole log."""
        entries = self.entries
        if not entries:
            return
        low = max(entries.minKey(), stop) if stop is not None else entries.minKey()
        key = entries.maxKey()
        while key >= low:
            yield key
            if key == low:
                return
            key = entries.maxKey(key - 1)

    def verify(self):
        """Return None when the chain is whole, else (seq, reason) of the first broken link."""
        prev = GENESIS
        expected = 1
        for key, entry in self.entries.items():
            if key != expected or entry.get("seq") != key:
                return (expected, f"entry {expected} is missing or out of order (found {key})")
            if entry.get("prev") != prev:
                return (key, f"entry {key} does not follow entry {key - 1} (previous hash differs)")
            if entry_hash(entry) != entry.get("hash"):
                return (key, f"entry {key} was changed after it was written (hash differs)")
            prev = entry["hash"]
            expected += 1
        if expected != self.next_seq:
            return (expected, f"entry {expected} is missing (log should end at {self.next_seq - 1})")
        if prev != self.head:
            return (expected - 1, "the last entry is not the recorded head of the chain")
        return None
