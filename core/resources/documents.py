"""Documents (data messages), their attachments and their deliveries.

``/documents/<id>`` is a Document: the edXML header's metadata, the attachments, and one
Delivery per recipient under ``deliveries/<code>`` (a person's delivery is named
``~<login>``). A document is a draft while its unit writes it; once issued it never
changes: what is sent is what the recipients and the audit log saw (R6.6). Only the
hub's own record beside it grows: the deliveries' states and the links to the documents
that later update or replace it.

The ACLs name unit-qualified roles (``role:clerk@<code>``): a document belongs to its
sender and to each recipient, and each of them sees it through its own roles only.
Nobody else — the system administrator and the auditor included — reads it.
"""

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.list import PersistentList
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone
from pyramid.traversal import find_root

from .. import permissions as sec
from ..edxml.values import RECALL_AGREED
from .folder import Folder

# Document states: the hub's own, before and at issue
DRAFT = "draft"
PENDING = "pending"  # submitted for a leader's approval (the unit's policy)
APPROVED = "approved"
ISSUED = "issued"
EDITABLE = (DRAFT, PENDING, APPROVED)

# edXML BussinessDocType
NEW, REVOKE, UPDATE, REPLACE = 0, 1, 2, 3

PERSON_PREFIX = "~"

_READ = (sec.VIEW, sec.READ_MAILBOX)


class Documents(Folder):
    """/documents: every data message, with indexes from edXML DocumentId to names.

    A DocumentId is not one document: the field's update, replacement and revocation reuse
    the original's, and two senders may use the same one. ``by_identifier`` lists every
    document carrying an id (in arrival order); ``by_document_id`` keeps the first, for the
    lookups that name a document by its id alone (``name_for``).
    """

    content_type = "Documents"
    __acl__ = [(Deny, Everyone, ALL_PERMISSIONS)]  # no listing: mailboxes and the catalog list

    by_document_id = None  # DocumentId -> the name of the first document carrying it
    by_identifier = None  # DocumentId -> tuple of the names of every document carrying it
    by_reference = None  # the id a transport gave a delivery (the axis's DocId) -> document name

    def named_by_reference(self, reference):
        """The document whose delivery the transport knows as ``reference``, or None."""
        name = self.by_reference.get(reference) if self.by_reference is not None and reference else None
        return self.get(name) if name else None

    def index_reference(self, reference, document):
        if self.by_reference is None:
            self.by_reference = OOBTree()
        self.by_reference[reference] = document.id

    def name_for(self, document_id):
        index = self.by_document_id
        return index.get(document_id) if index is not None else None

    def carrying(self, document_id, sender_code=None):
        """The documents with this DocumentId (of ``sender_code`` only, when given), oldest first."""
        index = self.by_identifier
        names = index.get(document_id, ()) if index is not None else ()
        found = [self[name] for name in names if name in self]
        return [d for d in found if sender_code is None or d.sender_code == sender_code]

    def add_document(self, document):

        if self.by_document_id is None:
            self.by_document_id = OOBTree()
        if self.by_identifier is None:
            self.by_identifier = OOBTree()
        self.add(document.id, document)
        self.index_identifier(document)
        return document

    def index_identifier(self, document):
        """Put ``document`` under its DocumentId in both indexes (its name once)."""
        key = document.document_id
        if key not in self.by_document_id:
            self.by_document_id[key] = document.id
        names = self.by_identifier.get(key, ())
        if document.id not in names:
            self.by_identifier[key] = names + (document.id,)


class Document(Folder):
    """A data message: ``meta`` holds the edXML header fields (see ``core/edxml/values.py``)."""

    content_type = "Document"

    def __init__(self, id, sender_code, meta, created_by, created_at, on_behalf_of=None):
        super().__init__()
        self.id = id
        self.sender_code = sender_code
        self.meta = dict(meta)
        self.recipients = ()  # unit codes
        self.persons = ()  # logins of personal mailboxes
        self.classification = ""
        self.state = DRAFT
        self.created_by = created_by
        self.created_on_behalf_of = on_behalf_of
        self.created_at = created_at
        self.approval = PersistentList()  # {action, actor, on_behalf_of, time, note}
        self.issued_by = None
        self.issued_on_behalf_of = None
        self.issued_at = None
        self.register_number = None
        self.register_year = None
        self.links = PersistentList()  # later documents that update, replace or revoke this one
        self.origin = "hub"  # "hub", "api" or "edxml"
        self.add("attachments", Folder())
        self.add("deliveries", Folder())

    # -- what it is --------------------------------------------------------
    @property
    def document_id(self):
        return self.meta.get("document_id") or self.id

    @property
    def title(self):
        return self.meta.get("subject", "")

    @property
    def notation(self):
        number, notation = self.meta.get("code_number", ""), self.meta.get("code_notation", "")
        return f"{number}/{notation}" if number else notation

    @property
    def business_doc_type(self):
        return int(self.meta.get("business_doc_type") or 0)

    def is_issued(self):
        return self.state == ISSUED

    @property
    def attachments(self):
        return self["attachments"]

    @property
    def deliveries(self):
        return self["deliveries"]

    def delivery_for(self, code_or_login):
        return self.deliveries.get(code_or_login) or self.deliveries.get(PERSON_PREFIX + code_or_login)

    # -- who sees it -------------------------------------------------------
    def related_units(self):
        return (self.sender_code,) + tuple(self.recipients)

    def owner_logins(self):
        return tuple(self.persons)

    @property
    def __acl__(self):
        sender = self.sender_code
        acl = [
            (Allow, sec.unit_role(sec.CLERK, sender), _READ + (sec.DRAFT, sec.SEND)),
            (Allow, sec.unit_role(sec.LEADER, sender), _READ + (sec.DRAFT, sec.SEND, sec.APPROVE)),
            (Allow, sec.unit_role(sec.SPECIALIST, sender), _READ + (sec.DRAFT,)),
            (Allow, sec.unit_role(sec.SYSTEM, sender), _READ + (sec.DRAFT, sec.SEND, sec.ISSUE, sec.APPROVE)),
        ]
        unit = find_root(self)["directory"].get(sender) if self.__parent__ is not None else None
        issuers = unit.policy("issuers") if unit is not None else (sec.CLERK,)
        acl += [(Allow, sec.unit_role(role, sender), (sec.ISSUE,)) for role in issuers]
        if self.state == ISSUED:
            for code in self.recipients:
                acl += [
                    (Allow, sec.unit_role(role, code), _READ)
                    for role in (sec.CLERK, sec.LEADER, sec.SPECIALIST, sec.SYSTEM)
                ]
            acl += [(Allow, sec.user_principal(login), _READ) for login in self.persons]
        acl.append((Deny, Everyone, ALL_PERMISSIONS))
        return acl


class Attachment(Persistent):
    """One file of a document; its bytes live in a blob store under their SHA-256."""

    content_type = "Attachment"
    __name__ = None
    __parent__ = None

    def __init__(self, name, content_type, size, sha256, store, description=""):
        self.name = name
        self.mime_type = content_type
        self.size = size
        self.sha256 = sha256
        self.store = store
        self.description = description

    @property
    def document(self):
        return self.__parent__.__parent__

    @property
    def __acl__(self):
        """A recipient whose copy was withdrawn (revoked, or a recall agreed) reads its record, not its files."""
        acl = []
        for delivery in self.document.deliveries.values():
            if not delivery.withdrawn:
                continue
            if delivery.recipient_code:
                acl += [
                    (Deny, sec.unit_role(role, delivery.recipient_code), sec.READ_MAILBOX)
                    for role in (sec.CLERK, sec.LEADER, sec.SPECIALIST, sec.SYSTEM)
                ]
            else:
                acl.append((Deny, sec.user_principal(delivery.recipient_login), sec.READ_MAILBOX))
        return acl


class Delivery(Persistent):
    """The document's journey at one recipient: its edXML status and the history behind it.

    ``history`` is append-only: each entry says which status, when, who, on whose behalf
    and why, so the sender and the recipient read the same timeline (R7.2).
    """

    content_type = "Delivery"
    __name__ = None
    __parent__ = None
    reminded_on = None  # login -> ISO day of the last overdue notice (the daily digest)
    fetched_at = None  # when the recipient's eOffice product acknowledged it (/edxml/v1)
    signatures = ()  # SignatureReport dicts, verified once when it arrived
    signatures_checked_at = None
    revoked_at = None  # when its sender revoked it (an edXML revocation): its files are withdrawn
    revoked_reason = ""
    superseded_by = None  # the id of the document that replaces it for this recipient
    remote_reference = ""  # the id its transport gave it on the other side (the national axis's DocId)
    remote_state = ""  # what that side last reported of it (``transports.TransportReport.state``)
    lead = None  # who leads its processing (chủ trì): the first of ``assignees``
    cooperating = ()  # who co-operate (phối hợp): the other assignees
    informed = ()  # who are told, for information (để biết)

    def __init__(self, recipient_code=None, recipient_login=None, transport=""):
        self.recipient_code = recipient_code
        self.recipient_login = recipient_login
        self.transport = transport  # "" = this hub's mailbox; else the adapter's name
        self.state = ""  # "" until it arrives (queued for an adapter)
        self.resume_state = None  # the state a refused recall returns to
        self.history = PersistentList()
        self.arrived_at = None
        self.due = None  # ISO date: the processing deadline
        self.read_at = None
        self.read_by = None
        self.register_number = None
        self.register_year = None
        self.assignees = ()
        self.completed_at = None

    @property
    def document(self):
        return self.__parent__.__parent__

    @property
    def is_personal(self):
        return self.recipient_login is not None

    @property
    def withdrawn(self):
        """Whether the recipient's copy was taken back: revoked by its sender, or a recall it agreed to."""
        return self.revoked_at is not None or self.state == RECALL_AGREED

    @property
    def key(self):
        return self.__name__

    def related_units(self):
        document = self.document
        codes = (document.sender_code,)
        return codes + ((self.recipient_code,) if self.recipient_code else ())

    def owner_logins(self):
        return (self.recipient_login,) if self.recipient_login else ()

    @property
    def __acl__(self):
        sender = self.document.sender_code
        acl = []
        if self.recipient_code:
            code = self.recipient_code
            acl += [
                (Allow, sec.unit_role(sec.CLERK, code), _READ + (sec.REGISTER,)),
                (Allow, sec.unit_role(sec.LEADER, code), _READ + (sec.ASSIGN,)),
                (Allow, sec.unit_role(sec.SPECIALIST, code), _READ + (sec.PROCESS,)),
                (Allow, sec.unit_role(sec.SYSTEM, code), _READ + (sec.REGISTER, sec.ASSIGN, sec.PROCESS)),
            ]
        else:
            acl.append((Allow, sec.user_principal(self.recipient_login), _READ + (sec.PROCESS,)))
        acl += [
            (Allow, sec.unit_role(role, sender), _READ + (sec.SEND,))
            for role in (sec.CLERK, sec.LEADER, sec.SYSTEM)
        ]
        acl.append((Allow, sec.unit_role(sec.SPECIALIST, sender), _READ))
        acl.append((Deny, Everyone, ALL_PERMISSIONS))
        return acl


def path_of(obj):
    """The audit record's name for a Document or a Delivery: its path under the site."""
    if isinstance(obj, Document):
        return f"/documents/{obj.id}"
    if isinstance(obj, Delivery):
        return f"/documents/{obj.document.id}/deliveries/{obj.key}"
    return ""
