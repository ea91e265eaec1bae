"""Sessions on the server: opened at login, checked on every request, ended by logout or by the
account's owner or admin (docs/security.md, "Session model").

The cookie (signed, HttpOnly, SameSite=Lax, Secure in production) carries a random
session id under ``SID_KEY``; the person's ``User.sessions`` keeps the SHA-256 digest of
each id they hold, with the session's login time and last use. A request whose id is not
there — logged out, ended, idle for longer than ``idle`` seconds, or older than
``absolute`` seconds — is anonymous. The last use is written at most every
``touch_every`` seconds, so an active session costs one small write a minute, not one per
request.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from BTrees.OOBTree import OOBTree

from ..clock import iso, parse_iso, utc_now
from ..resources.sessions import UserSession

SID_KEY = "lienthong.sid"  # the session's key in the (signed) cookie session
MAX_PER_PERSON = 20  # more open sessions than this: the least recently used ends


@dataclass(frozen=True)
class SessionPolicy:
    """How long a session lasts: ``idle`` seconds without a request, ``absolute`` seconds in all."""

    idle: int = 1800
    absolute: int = 12 * 3600

    @classmethod
    def from_settings(cls, settings):
        return cls(
            int(settings.get("lienthong.session.timeout", 1800)),
            int(settings.get("lienthong.session.absolute_timeout", 12 * 3600)),
        )

    @property
    def touch_every(self):
        """Seconds between two writes of a session's last use (a tenth of the idle time, at most a minute)."""
        return max(1, min(60, self.idle // 10))


def digest(sid):
    return hashlib.sha256(sid.encode("utf-8")).hexdigest()


def short(key):
    """The handle of a session in the audit log and on the profile page: a prefix of its digest."""
    return key[:12]


def _registry(user, create=False):
    if user.sessions is None and create:
        user.sessions = OOBTree()
    return user.sessions


def _expired(record, policy, now):
    last = parse_iso(record.last_seen)
    began = parse_iso(record.created)
    # the idle clock may lag by up to ``touch_every``: that much is allowed on top
    return now - last > timedelta(seconds=policy.idle + policy.touch_every) or now - began > timedelta(
        seconds=policy.absolute
    )


def open_session(user, client=None, policy=SessionPolicy(), user_agent="", now=None):
    """A new session for ``user``: returns its id, for the cookie. Spent sessions of the person go."""
    now = now or utc_now()
    registry = _registry(user, create=True)
    prune(user, policy, now)
    while len(registry) >= MAX_PER_PERSON:
        oldest = min(registry.items(), key=lambda item: item[1].last_seen)[0]
        del registry[oldest]
    sid = secrets.token_urlsafe(32)
    registry[digest(sid)] = UserSession(iso(now), client, user_agent)
    return sid


def current(user, sid, policy=SessionPolicy(), now=None):
    """The open session of ``user`` with id ``sid``, its last use recorded; None when it is not one.

    A session found idle or past its lifetime is removed on the way.
    """
    registry = _registry(user)
    if not sid or not registry:
        return None
    key = digest(sid)
    record = registry.get(key)
    if record is None:
        return None
    now = now or utc_now()
    if _expired(record, policy, now):
        del registry[key]
        return None
    if (now - parse_iso(record.last_seen)).total_seconds() >= policy.touch_every:
        record.last_seen = iso(now)
    return record


def close(user, sid):
    """End one session (logging out); returns its handle, or None when there was none."""
    registry = _registry(user)
    key = digest(sid) if sid else None
    if not registry or key not in registry:
        return None
    del registry[key]
    return short(key)


def renew(user, sid, client=None, policy=SessionPolicy(), user_agent="", now=None):
    """A new id for the session ``sid`` (a change of privilege within it): the old id ends."""
    close(user, sid)
    return open_session(user, client, policy, user_agent, now)


def end_all(user, keep=None):
    """End every session of ``user`` but the one whose id is ``keep``; returns how many ended."""
    registry = _registry(user)
    if not registry:
        return 0
    kept = digest(keep) if keep else None
    ended = [key for key in registry.keys() if key != kept]
    for key in ended:
        del registry[key]
    return len(ended)


def prune(user, policy=SessionPolicy(), now=None):
    """Remove the sessions of ``user`` that are idle or past their lifetime; returns how many went."""
    registry = _registry(user)
    if not registry:
        return 0
    now = now or utc_now()
    spent = [key for key, record in registry.items() if _expired(record, policy, now)]
    for key in spent:
        del registry[key]
    return len(spent)


def listing(user, policy=SessionPolicy(), now=None):
    """``[(handle, UserSession)]`` of the person's open sessions, most recently used first."""
    registry = _registry(user)
    if not registry:
        return []
    now = now or utc_now()
    live = [(short(key), record) for key, record in registry.items() if not _expired(record, policy, now)]
    return sorted(live, key=lambda item: item[1].last_seen, reverse=True)


def prune_all(site, policy=SessionPolicy(), now=None):
    """Every person's spent sessions (the worker's hourly chore); returns how many went."""
    now = now or utc_now()
    return sum(prune(user, policy, now) for user in site["users"].values() if user.sessions)
