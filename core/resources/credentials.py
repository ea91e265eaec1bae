"""System credentials of a unit: an id and a shared secret its eOffice product signs calls with.

Some products authenticate each call by an HMAC of what they send, keyed by a secret both
sides hold (the national axis's SDK, ``plugins/vxp``): the hub must recompute that HMAC, so
unlike an API token (``tokens.py``, a digest) the secret itself is kept — encrypted with a
key derived from the application's ``lienthong.secret`` (``services/credentials.py``), so a
copy of the database alone never holds a usable secret. Shown once when made; revocable;
the revoked ones stay listed as the unit's record.
"""

from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from zope.interface import implementer

from .. import permissions as sec
from ..interfaces import ISystemCredentials
from .folder import Folder


class SystemCredential(Persistent):
    """One credential: ``system_id`` (what the product sends as its id), the unit it acts for,
    the encrypted secret (Fernet token, bytes), and its record (made, by whom, last used, revoked)."""

    def __init__(self, system_id, unit_code, label, encrypted_secret, created, created_by):
        self.system_id = system_id
        self.unit_code = unit_code
        self.label = label
        self.encrypted_secret = encrypted_secret
        self.created = created  # ISO time (clock.iso)
        self.created_by = created_by
        self.last_used = None  # ISO time of the last accepted call, written at most once a minute
        self.revoked = None  # ISO time of revocation

    @property
    def principal(self):
        return f"credential:{self.system_id}"

    def is_valid(self):
        return not self.revoked


@implementer(ISystemCredentials)
class SystemCredentials(Folder):
    """/credentials/<system id>: every unit's system credentials (no view: managed on the unit's page)."""

    content_type = "SystemCredentials"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]
