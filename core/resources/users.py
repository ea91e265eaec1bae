"""User accounts: /users/<login>, each with a personal mailbox and in-app notices."""

import random

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from zope.interface import implementer

from .. import permissions as sec
from ..clock import parse_iso
from ..interfaces import IUser
from .folder import Folder
from .mailbox import Mailbox

#: how many notices a person keeps (the oldest go first)
MAX_NOTICES = 500


class Users(Folder):
    content_type = "Users"
    title = "Users"


class Notice(Persistent):
    """An in-app message to one user; ``message`` is a msgid kept with its mapping and translated
    when shown, in the reader's language (``services.notices``). ``kind`` names what it is about
    (``services.notices.KINDS``; "" for notices made before generation 11)."""

    kind = ""

    def __init__(self, time, message, mapping=None, link="", kind=""):
        self.time = time
        self.message = message
        self.mapping = dict(mapping or {})
        self.link = link
        self.read = False
        self.kind = kind

    def time_key(self):
        """The notice's time in microseconds since the epoch (its key's leading part)."""
        try:
            return int(parse_iso(self.time).timestamp() * 1_000_000)
        except (AttributeError, TypeError, ValueError):
            return 0


class LoginFailures(Persistent):
    """Failed logins of one account since its last success (R5.3, docs/security.md).

    ``by_client`` maps the address that failed to ``(failures in a row, last failure,
    locked out until)`` (ISO times; the last None when not locked out): the lock-out
    stops that address only. ``total`` counts the failures from every address for the
    account-wide lock; a ``Length`` merges the increments of concurrent requests instead
    of making them conflict. Many addresses failing at once write different keys of the
    BTree, which merges those too.
    """

    by_client = None
    total = None

    def __init__(self):
        self.by_client = OOBTree()
        self.total = Length()

    def of(self, client):
        return self.by_client.get(client or "-", (0, None, None))

    def locked_until(self, client, now_iso=None):
        """When the lock-out of ``client`` ends (ISO), or None when it is not locked out at ``now_iso``."""
        until = self.of(client)[2]
        if until is None or (now_iso is not None and now_iso >= until):
            return None
        return until

    def count(self):
        return max(0, self.total())  # a reset merged with increments may leave it below zero

    def clients(self):
        return len(self.by_client)

    def clear(self, client=None):
        """Forget ``client``'s failures, or every address's (a success, an admin's unlock)."""
        if client is None:
            self.by_client.clear()
        else:
            self.by_client.pop(client or "-", None)


@implementer(IUser)
class User(Folder):
    """A person with a login. Roles are local roles on units (and the site), not stored here.

    Fields added after generation 3 have class-level defaults so that older accounts read
    correctly before ``lienthong migrate`` turns them into folders.
    """

    content_type = "User"
    login_failures = None  # LoginFailures, made at the first failed login
    extra_units = ()  # units other than ``unit_code`` where the person holds a role
    locked_until = None  # ISO time until which a lock-out after failed logins lasts
    lock_reason = ""  # why an admin (or a compromise report) locked the account
    session_epoch = 0  # bumped to end every login token of the user (sessions: ``sessions``)
    sessions = None  # OOBTree: digest of a session id -> UserSession (services.sessions), made at first login
    notices = None  # LOBTree: key (time-ordered) -> Notice, the newest ``MAX_NOTICES`` only
    notices_unread = None  # Length: how many of them are unread (generation 11), for the top bar
    notice_prefs = None  # dict {"muted": kinds not wanted, "email": bool}; None: every kind, no e-mail

    def __init__(self, login, fullname, password_hash, unit_code=None, position="", email=""):
        super().__init__()
        self.login = login
        self.fullname = fullname
        self.password_hash = password_hash
        self.unit_code = unit_code
        self.position = position
        self.email = email
        self.locked = False
        self.must_change_password = False
        self.ensure_children()

    def ensure_children(self):
        if "mailbox" not in self:
            box = Mailbox()
            box.owner_login = self.login
            self.add("mailbox", box)
        if self.notices is None:
            self.notices = LOBTree()
        if self.notices_unread is None:
            self.notices_unread = Length(sum(1 for n in self.notices.values() if not n.read))

    @property
    def title(self):
        return self.fullname

    @property
    def mailbox(self):
        return self["mailbox"]

    def related_units(self):
        """Units whose local roles count on this user's pages: a unit admin manages the unit's people."""
        return (self.unit_code,) if self.unit_code else ()

    def holds_site_role(self):
        """True when the user holds a site-wide role (system admin, auditor)."""
        site = getattr(self.__parent__, "__parent__", None)
        getter = getattr(site, "local_roles_of", None)
        return bool(getter(sec.user_principal(self.login))) if getter is not None else False

    @property
    def __acl__(self):
        """Oneself, the admins of one's unit and the system admin; nobody else sees a profile.

        A unit admin does not manage an account holding a site-wide role: otherwise the
        admin of the operator's unit could reset the system admin's password.
        """
        acl = [(Allow, sec.user_principal(self.login), (sec.VIEW, sec.EDIT_SELF))]
        if not self.holds_site_role():
            acl.append((Allow, f"role:{sec.UNIT_ADMIN}", (sec.VIEW, sec.MANAGE_UNIT)))
        acl += [
            (Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS),
            (Deny, Everyone, ALL_PERMISSIONS),
        ]
        return acl

    def is_active(self, now_iso=None):
        """False when locked by an admin or, at ``now_iso``, still locked out after failed logins."""
        if self.locked:
            return False
        if self.locked_until and now_iso is not None and now_iso < self.locked_until:
            return False
        return True

    def failures(self):
        """The account's ``LoginFailures``, made on first use."""
        if self.login_failures is None:
            self.login_failures = LoginFailures()
        return self.login_failures

    @property
    def failed_logins(self):
        """Failed logins from every address since the last success (older accounts stored a number)."""
        return self.login_failures.count() if self.login_failures is not None else 0

    @failed_logins.setter
    def failed_logins(self, value):
        """Set the count (0: forget every address's failures, as a reset or an unlock does)."""
        failures = self.failures() if value or self.login_failures is not None else None
        if failures is not None:
            failures.total.set(int(value))
            if not value:
                failures.clear()

    def add_notice(self, notice):
        """Keep ``notice`` under a new key; the oldest beyond ``MAX_NOTICES`` go. Returns the key.

        Notices stay in the user's own ``LOBTree`` (not in the ``User``'s state, which every
        login writes): adding one writes a bucket of that tree, and the tree is bounded so a
        person who never reads them does not grow without end. The keys are the time in
        microseconds times 1000 plus a random part, so two transactions telling one person
        something at the same moment insert different keys and merge instead of conflicting
        (keys 1, 2, … of older notices sort before them).
        """
        key = int(notice.time_key()) * 1000 + random.randrange(1000)
        while key in self.notices:
            key += 1
        self.notices[key] = notice
        if not notice.read:
            self.unread_counter().change(1)
        while len(self.notices) > MAX_NOTICES:
            oldest = self.notices.pop(self.notices.minKey())
            if not oldest.read:
                self.unread_counter().change(-1)
        return key

    def unread_counter(self):
        if self.notices_unread is None:  # before generation 11 (evolve.step_11 makes it)
            self.notices_unread = Length(sum(1 for n in self.notices.values() if not n.read))
        return self.notices_unread

    def mark_notice_read(self, key, read=True):
        """Mark the notice ``key`` read (or unread again); False when there is no such notice."""
        notice = self.notices.get(key) if self.notices is not None else None
        if notice is None:
            return False
        if notice.read != read:
            notice.read = read
            self.unread_counter().change(-1 if read else 1)
        return True

    def unread_notices(self):
        if self.notices is None:
            return 0
        if self.notices_unread is None:
            return sum(1 for n in self.notices.values() if not n.read)
        return max(0, self.notices_unread())  # concurrent changes merge; never shown below zero
