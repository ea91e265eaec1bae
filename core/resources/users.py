"""User accounts: /users/<login>."""
from persistent import Persistent
from pyramid.authorization import Allow
from zope.interface import implementer

from ..interfaces import IUser
from .folder import Folder


class Users(Folder):
    content_type = "Users"


@implementer(IUser)
class User(Persistent):
    """A person with a login. Roles are local roles on units (and the site), not stored here."""

    content_type = "User"
    __name__ = None
    __parent__ = None

    def __init__(self, login, fullname, password_hash, unit_code=None, position="", email=""):
        self.login = login
        self.fullname = fullname
        self.password_hash = password_hash
        self.unit_code = unit_code
        self.position = position
        self.email = email
        self.locked = False
        self.must_change_password = False

    @property
    def __acl__(self):
        """A user may see and edit their own profile (admins hold it through the site's ACL)."""
        return [(Allow, f"user:{self.login}", ("view", "edit_self"))]

    def is_active(self):
        return not self.locked
