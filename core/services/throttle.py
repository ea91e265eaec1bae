"""The login throttle: growing delays for an address that keeps failing (docs/security.md,
"Login throttling").

Failures are counted per (account, address) and per address, in this process only: a
bounded, least-recently-used table behind a lock, so that a flood of wrong passwords costs
no database write and no argon2 check once it is being slowed down. What must outlive a
restart or be shared by several processes — the lock-out of R5.3 and the account-wide
lock — is kept on the account (``User.login_failures``), written by ``accounts.authenticate``.

For one account from one address the first ``policy.free`` failures are free; each one
after that makes the next attempt wait ``policy.delay`` seconds, doubling, and the
``policy.attempts``-th in a row makes it wait the lock-out's ``policy.minutes`` (the same
figure the persistent lock-out gives a known account, so an unknown login is slowed
down the same way). From one address over all accounts, ``policy.client_free`` failures
are free, then the same doubling up to ``policy.minutes``. Counts are forgotten after
``policy.minutes`` without a failure; a success clears its (account, address) count only.
"""

import math
import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 20000  # (account, address) and address entries kept; the least recently failed go first


class LoginThrottle:
    def __init__(self, policy, clock=time.monotonic, max_entries=MAX_ENTRIES):
        self.policy = policy
        self.clock = clock
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries = OrderedDict()  # key -> [failures, last failure, not before]

    def __len__(self):
        return len(self._entries)

    # -- the rule --------------------------------------------------------------------------
    def _pair_delay(self, failures):
        p = self.policy
        if failures >= p.attempts:
            return p.minutes * 60
        if failures <= p.free or p.delay <= 0:
            return 0
        return min(p.delay * 2 ** (failures - p.free - 1), p.minutes * 60)

    def _client_delay(self, failures):
        p = self.policy
        if failures <= p.client_free or p.delay <= 0:
            return 0
        return min(p.delay * 2 ** min(failures - p.client_free - 1, 30), p.minutes * 60)

    # -- the table -------------------------------------------------------------------------
    def _live(self, key, now):
        entry = self._entries.get(key)
        if entry is not None and now - entry[1] > self.policy.minutes * 60 and now >= entry[2]:
            del self._entries[key]  # quiet for a whole lock-out period: forgotten
            return None
        return entry

    def _record(self, key, now, delay_of, restart_at=None):
        entry = self._live(key, now)
        if entry is None:
            entry = self._entries[key] = [0, now, now]
        entry[0] += 1
        entry[1] = now
        entry[2] = now + delay_of(entry[0])
        if restart_at is not None and entry[0] >= restart_at:
            entry[0] = 0  # the lock-out starts the count again, as the persistent one does
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    # -- what authenticate asks ------------------------------------------------------------
    def wait(self, account, client):
        """Whole seconds before ``client`` may try ``account`` again; 0 when it may now."""
        now = self.clock()
        with self._lock:
            not_before = 0.0
            for key in (("pair", account, client), ("client", client)):
                entry = self._live(key, now)
                if entry is not None:
                    not_before = max(not_before, entry[2])
        return max(0, math.ceil(not_before - now)) if not_before > now else 0

    def failed(self, account, client):
        now = self.clock()
        with self._lock:
            self._record(("pair", account, client), now, self._pair_delay, restart_at=self.policy.attempts)
            self._record(("client", client), now, self._client_delay)

    def succeeded(self, account, client):
        """The right password: the (account, address) count starts again; the address's stays."""
        with self._lock:
            self._entries.pop(("pair", account, client), None)
