"""Trust roots and signing keys (R10.10): what the signatures service reads.

``/trust`` holds the operator's roots (trusted by every unit) and, per unit, the unit's own
extra roots and the reference to its signing key (``KeyRef.as_dict()``, never the key or
its secret). A root is kept as its DER bytes with the facts the management screen shows.

The container is created on first use (``trust_store(site)``); an evolve step may add it
ahead of time. Only the system administrator reaches it by traversal; the management
views reach a unit's part through the unit, whose ACL lets its admin in.
"""

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.mapping import PersistentMapping
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

NAME = "trust"


class TrustRoot(Persistent):
    """One trusted CA certificate (DER) and who added it."""

    def __init__(
        self, der, fingerprint, subject, issuer, not_before, not_after, added_by, added_at, unit_code=None
    ):
        self.der = bytes(der)
        self.fingerprint = fingerprint  # SHA-256 of the DER, hex
        self.subject = subject
        self.issuer = issuer
        self.not_before = not_before  # ISO datetime (UTC)
        self.not_after = not_after
        self.added_by = added_by
        self.added_at = added_at
        self.unit_code = unit_code  # None: an operator root


class UnitTrust(Persistent):
    """A unit's own roots and its signing key reference."""

    key = None  # KeyRef.as_dict() or None

    def __init__(self):
        self.roots = OOBTree()  # fingerprint -> TrustRoot


class TrustStore(Folder):
    """/trust: operator roots and per-unit trust, keyed by SHA-256 fingerprint and unit code."""

    content_type = "TrustStore"
    title = "Trust"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]

    def __init__(self):
        super().__init__()
        self.roots = OOBTree()  # operator roots: fingerprint -> TrustRoot
        self.units = OOBTree()  # unit code -> UnitTrust

    def unit(self, code, create=False):
        found = self.units.get(code)
        if found is None and create:
            found = self.units[code] = UnitTrust()
        return found

    def roots_of(self, code=None):
        """The roots of unit ``code`` (its own only), or the operator's when ``code`` is None."""
        if code is None:
            return self.roots
        unit = self.unit(code)
        return unit.roots if unit is not None else {}

    def key_of(self, code):
        unit = self.unit(code)
        return dict(unit.key) if unit is not None and unit.key else None

    def codes_with_keys(self):
        """The codes of the units that have a signing key, in code order (a few: never the
        directory's every unit)."""
        return [code for code, unit in self.units.items() if unit.key]

    def set_key(self, code, key_dict):
        self.unit(code, create=True).key = PersistentMapping(key_dict) if key_dict else None


def trust_store(site):
    """``site["trust"]``, added on first use (older sites have none until then)."""
    store = site.get(NAME)
    if store is None:
        store = site.add(NAME, TrustStore())
    return store


def find_trust(site):
    """``site["trust"]`` or None, without adding it (for readers outside a writing transaction)."""
    return site.get(NAME)
