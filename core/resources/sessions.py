"""A person's open sessions on the server: ``User.sessions`` maps a digest of each session id to one.

The cookie carries a random session id; the server keeps only its SHA-256 digest with the
session's times, so a copy of the database opens no session, and ending a session (logout,
a password change, an admin's lock) is removing its entry: a saved cookie then opens nothing.
"""

from persistent import Persistent
from ZODB.POSException import ConflictError


class UserSession(Persistent):
    """One logged-in browser: when it began, when it was last seen, from where.

    ``last_seen`` is written at most once a minute or so (``services.sessions``), and two
    requests of the same session may both write it at once: ``_p_resolveConflict`` keeps
    the later time instead of failing one of them.
    """

    created = None  # ISO time of the login
    last_seen = None  # ISO time of the last request that wrote it
    client = None  # the address the login came from
    user_agent = ""

    def __init__(self, created, client=None, user_agent=""):
        self.created = created
        self.last_seen = created
        self.client = client
        self.user_agent = (user_agent or "")[:200]

    def _p_resolveConflict(self, old, committed, new):
        """Three-way merge: each attribute as whichever side changed it; both sides may move ``last_seen``."""
        merged = {}
        for name in set(old) | set(committed) | set(new):
            o, c, n = old.get(name), committed.get(name), new.get(name)
            if c == n or n == o:
                merged[name] = c
            elif c == o:
                merged[name] = n
            elif name == "last_seen":
                merged[name] = max(c, n)
            else:
                raise ConflictError
        return merged
