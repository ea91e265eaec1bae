"""/audit: the append-only, hash-chained audit log.

Each entry carries the SHA-256 of its predecessor and its own hash over its content,
so any change, removal or reordering breaks the chain at a point ``verify`` reports.
Entries live in an ``LOBTree`` keyed by sequence number; there is no API to change or
delete one.
"""
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
        entry = {
            "seq": self.next_seq,
            "time": time,
            "actor": actor,
            "on_behalf_of": on_behalf_of,
            "action": action,
            "target": target,
            "client": client,
            "details": details or {},
            "prev": self.head,
        }
        entry["hash"] = entry_hash(entry)
        self.entries[entry["seq"]] = entry
        self.next_seq += 1
        self.head = entry["hash"]
        return dict(entry)

    def __len__(self):
        return self.next_seq - 1

    def iter_entries(self, start=None, reverse=False):
        if reverse:
            keys = reversed(list(self.entries.keys()))
            return (dict(self.entries[k]) for k in keys)
        return (dict(e) for e in self.entries.values(min=start))

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
