"""How documents, deliveries and attachments look in the API's JSON, and what a caller sees of them.

``Viewer`` decides, from the ACL of each Delivery, which deliveries and which actions a
caller is shown: all deliveries to the sender, its own to a recipient. The representations
are plain JSON-ready values (``plain``); their shapes are declared for the OpenAPI
document in ``document_schemas``. Used by the document routes and the mailbox listings.
"""

from .. import permissions as sec
from ..security import SystemIdentity, current_delegation
from ..services import deliveries, workflow


def plain(value):
    """Persistent lists and mappings as JSON-ready lists and dicts."""
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    return [plain(v) for v in value]


def unit_ref(site, code):
    unit = site["directory"].get(code or "")
    return {"code": code or "", "name": unit.name if unit is not None else ""}


def is_system(request):
    return isinstance(request.identity, SystemIdentity)


def document_url(request, document):
    return request.route_url("api.document", id=document.id)


def document_summary(request, document, with_states=False):
    meta = document.meta
    out = {
        "id": document.id,
        "document_id": document.document_id,
        "url": document_url(request, document),
        "notation": document.notation,
        "subject": meta.get("subject", ""),
        "doc_type": meta.get("doc_type", ""),
        "doc_type_name": meta.get("doc_type_name", ""),
        "state": document.state,
        "sender": {"code": document.sender_code, "name": (meta.get("from") or {}).get("organ_name", "")},
        "promulgation_date": meta.get("promulgation_date", "") or "",
        "due_date": meta.get("due_date", "") or "",
        "priority": int(meta.get("priority") or 0),
        "classification": document.classification or "",
        "business_doc_type": document.business_doc_type,
        "created_at": document.created_at,
        "issued_at": document.issued_at,
        "attachment_count": len(document.attachments),
    }
    if with_states:
        counts = {}
        for delivery in document.deliveries.values():
            counts[delivery.state] = counts.get(delivery.state, 0) + 1
        out["delivery_states"] = counts
    return out


class Viewer:
    """What the caller may see and do among a document's deliveries, asked of each Delivery's ACL.

    Asking every delivery of a document sent to hundreds of units walks the document's
    related units each time; two shortcuts keep that linear and decide nothing themselves:
    a recipient's rights can only come through a unit the caller holds a role on (or acts
    for under a delegation) or through the caller's own login, so only those deliveries
    are asked; and a sender's right to recall is granted by the sender's roles alone, the
    same on every delivery of the document, so it is asked once.
    """

    def __init__(self, request, document):
        self.request = request
        self.document = document
        identity = request.identity
        self.codes, self.logins = set(), set()
        if isinstance(identity, SystemIdentity):
            self.codes.add(identity.unit_code)
        elif identity is not None:
            self.logins.add(identity.login)
            self.codes |= {
                p.rsplit("@", 1)[1] for p in sec.role_principals(document, identity.login) if "@" in p
            }
        delegation = current_delegation(request)
        if delegation is not None:
            self.logins.add(delegation.delegator)
            if delegation.unit_code:
                self.codes.add(delegation.unit_code)
        self.sender = bool(request.has_permission(sec.DRAFT, document))
        self._sender_side = {}

    def near(self, delivery):
        return (
            (delivery.recipient_code in self.codes)
            if delivery.recipient_code
            else (delivery.recipient_login in self.logins)
        )

    def deliveries(self):
        """The deliveries shown: all of them to the sender, a recipient its own."""
        if self.sender:
            return list(self.document.deliveries.values())
        return [
            d
            for d in self.document.deliveries.values()
            if self.near(d) and self.request.has_permission(sec.READ_MAILBOX, d)
        ]

    def own(self, deliveries):
        """The caller's own deliveries among ``deliveries`` (the one a read marks read comes first)."""
        return [d for d in deliveries if self.near(d) and (not self.sender or d.is_personal)]

    def actions(self, delivery):
        names = []
        for action in workflow.available(delivery):
            if action.side == "sender":
                if action.name not in self._sender_side:
                    self._sender_side[action.name] = bool(
                        self.request.has_permission(action.permission, delivery)
                    )
                allowed = self._sender_side[action.name]
            else:
                allowed = self.near(delivery) and self.request.has_permission(action.permission, delivery)
            if allowed:
                names.append(action.name)
        return names


def delivery_json(request, delivery, today_iso, full=True, viewer=None):
    site = request.site
    out = {
        "key": delivery.key,
        "recipient": unit_ref(site, delivery.recipient_code) if delivery.recipient_code else None,
        "recipient_login": delivery.recipient_login,
        "personal": delivery.is_personal,
        "state": delivery.state,
        "state_title": request.localizer.translate(workflow.STATE_TITLES.get(delivery.state, delivery.state)),
        "arrived_at": delivery.arrived_at,
        "due": delivery.due,
        "overdue": deliveries.overdue(delivery, today_iso),
        "read_at": delivery.read_at,
        "read_by": delivery.read_by,
        "register_number": delivery.register_number,
        "register_year": delivery.register_year,
        "assignees": list(delivery.assignees or ()),
        "lead": delivery.lead,
        "cooperating": list(delivery.cooperating or ()),
        "informed": list(delivery.informed or ()),
        "completed_at": delivery.completed_at,
        "transport": delivery.transport or "",
    }
    if full:
        viewer = viewer or Viewer(request, delivery.document)
        out["history"] = [plain(entry) for entry in delivery.history]
        out["signatures"] = [signature_json(r) for r in delivery.signatures or ()]
        out["signatures_checked_at"] = delivery.signatures_checked_at
        out["actions"] = viewer.actions(delivery)
        out["actions_url"] = request.route_url(
            "api.delivery.actions", id=delivery.document.id, code=delivery.key
        )
    return out


SIGNATURE_FIELDS = (
    "badge",
    "format",
    "target",
    "signer",
    "issuer",
    "serial",
    "signed_at",
    "timestamped",
    "reason",
)


def signature_json(report):
    """One kept signature report, as the API shows it."""
    return {k: report.get(k, False if k == "timestamped" else "") for k in SIGNATURE_FIELDS}


def attachment_json(request, attachment):
    return {
        "name": attachment.name,
        "content_type": attachment.mime_type,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "description": attachment.description or "",
        "url": request.route_url("api.document.attachment", id=attachment.document.id, name=attachment.name),
    }


def document_json(request, document, viewer=None):
    viewer = viewer or Viewer(request, document)
    sender = viewer.sender
    today_iso = request.env.today().isoformat()
    out = document_summary(request, document, with_states=sender)
    out.update(
        {
            "role": "sender" if sender else "recipient",
            "meta": plain({k: v for k, v in document.meta.items() if k != "attachments"}),
            "recipients": list(document.recipients),
            "persons": list(document.persons) if sender else [],
            "created_by": document.created_by,
            "issued_by": document.issued_by,
            "issued_on_behalf_of": document.issued_on_behalf_of,
            "register_number": document.register_number,
            "register_year": document.register_year,
            "origin": getattr(document, "origin", "hub"),
            "approval": [plain(a) for a in document.approval] if sender else [],
            "attachments": [attachment_json(request, a) for a in document.attachments.values()],
            "links": [
                dict(plain(link), url=request.route_url("api.document", id=link.get("document", "")))
                for link in document.links
            ],
            "deliveries": [delivery_json(request, d, today_iso, viewer=viewer) for d in viewer.deliveries()],
            "edxml_url": request.route_url("api.document.edxml", id=document.id),
        }
    )
    return out
