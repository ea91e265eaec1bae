"""User accounts: /users/<login>, each with a personal mailbox and in-app notices."""

from BTrees.Length import Length
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from zope.interface import implementer

from .. import permissions as sec
from ..interfaces import IUser
from .folder import Folder
from .mailbox import Mailbox


class Users(Folder):
    content_type = "Users"
    title = "Users"


class Notice(Persistent):
    """An in-app message to one user (an alert from the hub); ``message`` is a msgid with a mapping."""

    def __init__(self, time, message, mapping=None, link=""):
        self.time = time
        self.message = message
        self.mapping = dict(mapping or {})
        self.link = link
        self.read = False


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
    notices = None

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
        key = (self.notices.maxKey() + 1) if len(self.notices) else 1
        self.notices[key] = notice
        return key

    def unread_notices(self):
        return sum(1 for n in self.notices.values() if not n.read) if self.notices is not None else 0
