"""API tokens: bearer secrets for eOffice products, scripts and API logins.

Only a SHA-256 digest of each secret is stored (the secret is shown once, when made).
The secrets are 256-bit random strings, so a fast digest is enough: there is nothing to
guess, unlike a password.
"""

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

SYSTEM = "system"  # a unit's eOffice product or script, acting for the unit
LOGIN = "login"  # a person's token from POST /api/v1/auth/token


class ApiToken(Persistent):
    def __init__(
        self, token_id, digest, kind, unit_code, label, created, created_by, login=None, expires=None, epoch=0
    ):
        self.token_id = token_id
        self.digest = digest
        self.kind = kind
        self.unit_code = unit_code
        self.label = label
        self.created = created
        self.created_by = created_by
        self.login = login  # for LOGIN tokens: whose
        self.expires = expires  # ISO time, or None
        self.epoch = epoch  # the user's session_epoch when made (LOGIN tokens)
        self.last_used = None
        self.revoked = None  # ISO time of revocation

    @property
    def principal(self):
        return f"token:{self.token_id}"

    def is_valid(self, now_iso):
        if self.revoked:
            return False
        return not (self.expires and now_iso >= self.expires)


class Tokens(Folder):
    """/tokens/<id>, with an index from digest to id for look-up on each request."""

    content_type = "Tokens"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]

    by_login = None  # login -> ids of that person's login tokens

    def __init__(self):
        super().__init__()
        self.by_digest = OOBTree()
        self.by_login = OOBTree()

    def add_token(self, token):
        self.add(token.token_id, token)
        self.by_digest[token.digest] = token.token_id
        if token.login:
            if self.by_login is None:
                self.by_login = OOBTree()
            ids = self.by_login.get(token.login)
            if ids is None:
                ids = self.by_login[token.login] = OOTreeSet()
            ids.insert(token.token_id)
        return token

    def login_tokens(self, login):
        return [self[i] for i in (self.by_login or {}).get(login, ())]

    def remove_token(self, token):
        """Forget a spent token entirely (its creation and revocation stay in the audit log)."""
        self.by_digest.pop(token.digest, None)
        if token.login and self.by_login is not None and token.login in self.by_login:
            self.by_login[token.login].remove(token.token_id)
        self.remove(token.token_id)

    def find(self, digest):
        token_id = self.by_digest.get(digest)
        return self.get(token_id) if token_id else None
