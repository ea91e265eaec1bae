"""Delegations (R6.2): one user acts for another for a period and a scope, with their own login."""

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

MAILBOX = "mailbox"  # the delegator's personal mailbox
ROLE = "role"  # one role the delegator holds on a unit
PERMISSIONS = "permissions"  # named permissions the delegator holds on a unit
SCOPES = (MAILBOX, ROLE, PERMISSIONS)


class Delegation(Persistent):
    def __init__(
        self,
        delegation_id,
        delegator,
        delegate,
        start,
        end,
        scope,
        unit_code=None,
        role=None,
        permissions=(),
        created=None,
        created_by=None,
        note="",
    ):
        self.delegation_id = delegation_id
        self.delegator = delegator
        self.delegate = delegate
        self.start = start  # ISO date, first day it applies
        self.end = end  # ISO date, last day it applies
        self.scope = scope
        self.unit_code = unit_code
        self.role = role
        self.permissions = tuple(permissions)
        self.created = created
        self.created_by = created_by
        self.note = note
        self.revoked = None  # ISO time of revocation

    def is_current(self, today_iso):
        return not self.revoked and self.start <= today_iso <= self.end

    def state(self, today_iso):
        if self.revoked:
            return "revoked"
        if today_iso < self.start:
            return "scheduled"
        if today_iso > self.end:
            return "expired"
        return "active"


class Delegations(Folder):
    """/delegations/<id>, indexed by delegate and by delegator."""

    content_type = "Delegations"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]

    def __init__(self):
        super().__init__()
        self.by_delegate = OOBTree()
        self.by_delegator = OOBTree()

    def add_delegation(self, d):
        self.add(d.delegation_id, d)
        for index, login in ((self.by_delegate, d.delegate), (self.by_delegator, d.delegator)):
            ids = index.get(login)
            if ids is None:
                ids = index[login] = OOTreeSet()
            ids.insert(d.delegation_id)
        return d

    def received_by(self, login):
        return [self[i] for i in self.by_delegate.get(login, ())]

    def given_by(self, login):
        return [self[i] for i in self.by_delegator.get(login, ())]
