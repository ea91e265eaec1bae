"""/nonces: the one-time values that signed calls carry, kept as long as they may be replayed.

A peer hub's request and a product's call on the ``/vxp/`` face are signed with a nonce
(or a signature that is one) and a timestamp within a window; a value seen within its
window is a replay. Kept in the database, a replay is refused after a restart of the
process and by every other process on ZEO or RelStorage, not only by the one that saw it.

The values live in two generations of ``OOBTree`` (value -> epoch seconds until which it
is remembered): new values go to ``current``; once ``current`` is a window old it becomes
``previous`` and the old ``previous`` is dropped whole, so nothing is pruned value by value
and concurrent inserts of different values merge (BTrees' conflict resolution).
"""

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec

NAME = "nonces"


class NonceRegister(Persistent):
    """``use(scope, value, until, now)``: True the first time, False for a replay."""

    __name__ = NAME
    __parent__ = None
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]
    current = None
    previous = None
    rotated_at = 0.0  # epoch seconds when ``current`` began
    keep_seconds = 0.0  # the longest time a value was asked to be remembered (a generation's span)

    def __init__(self):
        self.current = OOBTree()
        self.previous = OOBTree()

    def use(self, scope, value, until, now):
        """Remember ``(scope, value)`` until ``until`` (epoch seconds); False if it is
        remembered already (a replay within its window)."""
        key = f"{scope}\n{value}"
        for generation in (self.current, self.previous):
            if generation.get(key, 0.0) > now:
                return False
        span = max(until - now, 0.0)
        if span > self.keep_seconds:
            self.keep_seconds = span
        if now - self.rotated_at > self.keep_seconds:  # every value of ``previous`` has expired
            self.previous, self.current, self.rotated_at = self.current, OOBTree(), now
        self.current[key] = until
        return True

    def count(self):
        """How many values are remembered (the expired ones of ``previous`` too)."""
        return len(self.current) + len(self.previous)
