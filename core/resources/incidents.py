"""Incident reports (R8.2, R8.4): what happened, to whom, who reported it, what was done."""

from persistent import Persistent
from persistent.list import PersistentList
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

OPEN = "open"
CLOSED = "closed"


class Incident(Persistent):
    content_type = "Incident"
    __name__ = None
    __parent__ = None
    description_msgid = None  # the description as a message to translate when shown (None: as written)
    description_mapping = None  # its values (strings)
    closed_by = None  # who closed it, and what they said was done
    closed_note = ""

    def __init__(self, kind, subject, reported_by, time, unit_code=None, description="", actions=()):
        self.kind = kind  # e.g. "compromised_password"
        self.subject = subject  # the path of what it is about, e.g. /users/x
        self.reported_by = reported_by
        self.time = time
        self.unit_code = unit_code
        self.description = description
        self.actions = PersistentList(actions)  # what the hub did about it
        self.state = OPEN


class Incidents(Folder):
    """/incidents/<id>: the operator and auditors read them."""

    content_type = "Incidents"
    __acl__ = [
        (Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS),
        (Allow, f"role:{sec.AUDITOR}", (sec.VIEW, sec.VIEW_AUDIT)),
        (Deny, Everyone, ALL_PERMISSIONS),
    ]
