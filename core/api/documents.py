"""/api/v1/documents: send, read, download, act on deliveries, paper check, edXML (R3.2, R3.3, R6.6, R9.2).

Every route's context is the resource it acts on (the unit mailbox, the Document, its
Attachment or Delivery), so the resource's ACL decides; the finer checks (another unit
named in the body, the permission of the chosen action, issuing) ask
``request.has_permission`` on the resource concerned and are refused on the record.
Reads, downloads and exports are audited by the services. Bodies that carry files
(base64 in JSON, multipart, edXML) are measured before they are parsed.
"""

import binascii
import io
import json
import re
import unicodedata
from urllib.parse import quote

from pyramid.httpexceptions import HTTPNotFound
from pyramid.response import FileIter, Response

from .. import permissions as sec
from ..errors import NotFound, ServiceError
from ..filetypes import AttachmentTooLarge, human_size
from ..i18n import _
from ..security import SystemIdentity, current_delegation
from ..services import attachments, audit, documents as ds, paper, workflow
from .document_schemas import (
    ACTION_BODY,
    BINARY,
    DELIVERY_SCHEMA,
    DOCUMENT_SCHEMA,
    PAPER_BODY,
    PAPER_OUTCOME,
    SEND_BODY,
    SEND_MULTIPART,
    XML_TEXT,
)
from .json import JSON_TYPE, BadRequest, check_object, respond
from .openapi import Operation, add_api_route, refuse

MiB = 1024 * 1024
#: room for the metadata beside the files in a request body
METADATA_ROOM = 1 * MiB
XML_TYPES = ("application/xml", "text/xml")
MULTIPART = "multipart/form-data"


class TooLarge(ServiceError):
    status = 413


class UnsupportedMediaType(ServiceError):
    status = 415


# -- resources of the routes ----------------------------------------------------------------
def document_factory(request):
    try:
        return ds.get_document(request.site, request.matchdict.get("id", ""))
    except NotFound:
        raise HTTPNotFound() from None


def attachment_factory(request):
    attachment = document_factory(request).attachments.get(request.matchdict.get("name", ""))
    if attachment is None:
        raise HTTPNotFound()
    return attachment


def delivery_factory(request):
    delivery = document_factory(request).delivery_for(request.matchdict.get("code", ""))
    if delivery is None:
        raise HTTPNotFound()
    return delivery


def own_mailbox_factory(request):
    """The mailbox of the caller's unit; for a caller without one, /documents (which grants nothing)."""
    site = request.site
    identity = request.identity
    unit = site["directory"].get(getattr(identity, "unit_code", None) or "")
    return unit["mailbox"] if unit is not None else site["documents"]


# -- plain data ------------------------------------------------------------------------------
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
        "overdue": ds.overdue(delivery, today_iso),
        "read_at": delivery.read_at,
        "read_by": delivery.read_by,
        "register_number": delivery.register_number,
        "register_year": delivery.register_year,
        "assignees": list(delivery.assignees or ()),
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


# -- reading bodies that carry files ------------------------------------------------------------
def body_size(request, limit):
    """Refuse a body over ``limit`` bytes (413) before anything reads it."""
    length = request.content_length
    if length is None:
        length = len(request.body)
    if length > limit:
        raise TooLarge(
            _("The request body is ${size}, more than the limit of ${limit}."),
            field="body",
            size=human_size(length),
            limit=human_size(limit),
        )


def _base64_limit(policy, total=True):
    decoded = policy.max_document_bytes if total else policy.max_file_bytes
    return int((decoded + 2) // 3 * 4 * 1.02) + METADATA_ROOM  # 2 %: line breaks in wrapped base64


def media_type(request, accepted):
    kind = (request.content_type or "").lower()
    if kind not in accepted:
        raise UnsupportedMediaType(
            _("Send the body as ${types}, not ${type}."),
            field="Content-Type",
            types=" or ".join(accepted),
            type=kind or "-",
        )
    return kind


def json_body(raw, schema, field="body"):
    if not raw or not raw.strip():
        raise BadRequest(_("The request body is missing: send a JSON object."), field=field)
    try:
        data = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest(_("The request body is not valid JSON."), field=field) from None
    if not isinstance(data, dict):
        raise BadRequest(_("The request body must be a JSON object."), field=field)
    return check_object(data, schema)


_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def decode_base64(text, name, field, policy):
    """The bytes of standard base64 ``text``; line breaks are allowed, nothing else. Size-checked first."""
    cleaned = text.replace("\r", "").replace("\n", "").encode("ascii", "replace")
    if len(cleaned) // 4 * 3 > policy.max_file_bytes + 2:
        raise AttachmentTooLarge(
            _("The file ${name} is larger than the limit of ${limit}."),
            name=name[:60],
            limit=human_size(policy.max_file_bytes),
        )
    if len(cleaned) % 4 or not _BASE64.fullmatch(cleaned):
        raise BadRequest(_("The content of ${name} is not valid base64."), field=field, name=name[:60])
    try:
        return binascii.a2b_base64(cleaned, strict_mode=True)
    except binascii.Error:
        raise BadRequest(
            _("The content of ${name} is not valid base64."), field=field, name=name[:60]
        ) from None


def read_send_body(request, env):
    """(metadata dict, files [(name, fileobj, description)]) from JSON with base64, or multipart."""
    policy = env.attachment_policy
    kind = media_type(request, (JSON_TYPE, MULTIPART))
    if kind == JSON_TYPE:
        body_size(request, _base64_limit(policy))
        data = json_body(request.body, SEND_BODY)
        files = []
        for item in data.pop("attachments", None) or ():
            content = decode_base64(
                item["content_base64"], item["name"], "attachments.content_base64", policy
            )
            files.append((item["name"], io.BytesIO(content), item.get("description", "")))
        return data, files
    body_size(request, policy.max_document_bytes + METADATA_ROOM)
    try:
        form = request.POST
    except Exception:  # a malformed multipart body: WebOb and cgi raise various errors
        raise BadRequest(_("The multipart body could not be read."), field="body") from None
    metadata = form.get("metadata")
    if hasattr(metadata, "file"):
        metadata = metadata.file.read()
    if metadata is None:
        raise BadRequest(_("${name} is required."), field="metadata", name="metadata")
    data = json_body(metadata, SEND_BODY, field="metadata")
    files = []
    for item in data.pop("attachments", None) or ():
        content = decode_base64(item["content_base64"], item["name"], "attachments.content_base64", policy)
        files.append((item["name"], io.BytesIO(content), item.get("description", "")))
    for key, part in form.items():
        if key != "metadata" and hasattr(part, "file"):
            files.append((part.filename or key, part.file, ""))
    return data, files


# -- the operations --------------------------------------------------------------------------
def _unit_for(request, code, permission, context):
    """The unit the body names (its mailbox must grant ``permission``), else the route's own unit."""
    site = request.site
    own = context.__parent__ if context.__name__ == "mailbox" else None
    if not code or (own is not None and code == own.code):
        return own
    unit = site["directory"].get(code)
    if unit is None:
        raise BadRequest(_("Unknown unit ${code}."), field="unit", code=code[:40])
    if not request.has_permission(permission, unit["mailbox"]):
        if is_system(request):
            refuse(
                request,
                _("This token belongs to unit ${own}; it cannot act on unit ${other}."),
                field="unit",
                permission=permission,
                own=request.identity.unit_code,
                other=code,
            )
        refuse(
            request, _("You may not act for unit ${code}."), field="unit", permission=permission, code=code
        )
    return unit


def send_document(request, body, query):
    site, env, actor = request.site, request.env, request.actor
    data, files = read_send_body(request, env)
    unit = _unit_for(request, data.pop("unit", ""), sec.DRAFT, request.context)
    draft_only = bool(data.pop("draft", False))
    document = ds.compose(site, env, actor, unit, data, files, origin="api")
    if not draft_only:
        ds.require_issuer(document, request.has_permission, field="draft")
        ds.issue(site, env, actor, document, system=is_system(request))
    return respond(document_json(request, document), status=201, location=document_url(request, document))


def get_document(request, body, query):
    document = request.context
    viewer = Viewer(request, document)
    own = viewer.own(viewer.deliveries())
    ds.read(request.site, request.env, request.actor, document, own[0] if own else None)
    return document_json(request, document, viewer)


def _ascii_name(name):
    folded = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    text = "".join(c for c in folded.encode("ascii", "ignore").decode() if c not in '"\\' and c.isprintable())
    return text or "attachment"


def file_response(body_or_file, content_type, filename, size=None):
    if isinstance(body_or_file, bytes):
        response = Response(body=body_or_file)
    else:
        response = Response(app_iter=FileIter(body_or_file))
        if size is not None:
            response.content_length = size
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{_ascii_name(filename)}\"; filename*=UTF-8''{quote(filename, safe='')}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "no-store"
    return response


def download(request, body, query):
    attachment = request.context
    site, env = request.site, request.env
    stream = attachments.open_attachment(site, env, attachment)
    attachments.record_download(site, request.actor, attachment)
    return file_response(stream, attachment.mime_type, attachment.name, attachment.size)


def act(request, body, query):
    delivery = request.context
    action = workflow.get_action(delivery, body["action"])
    if not request.has_permission(action.permission, delivery):
        refuse(
            request,
            _("You may not ${action} this delivery."),
            field="action",
            permission=action.permission,
            action=action.title,
        )
    env = request.env
    ds.act(
        request.site,
        env,
        request.actor,
        delivery,
        action.name,
        reason=body.get("reason", ""),
        assignees=body.get("assignees") or (),
        deadline=body.get("deadline") or None,
        note=body.get("note", ""),
        system=is_system(request),
    )
    return delivery_json(request, delivery, env.today().isoformat())


def paper_check(request, body, query):
    site, env = request.site, request.env
    policy = env.attachment_policy
    media_type(request, (JSON_TYPE,))
    body_size(request, _base64_limit(policy, total=False))
    data = json_body(request.body, PAPER_BODY)
    unit = _unit_for(request, data.get("unit", ""), sec.REGISTER, request.context)
    scan = None
    if data.get("scan"):
        item = data["scan"]
        scan = (
            item["name"],
            io.BytesIO(decode_base64(item["content_base64"], item["name"], "scan.content_base64", policy)),
        )
    outcome, details = paper.check(
        site,
        env,
        request.actor,
        unit,
        sender_code=data.get("sender_code", ""),
        notation=data["notation"],
        promulgation_date=data["promulgation_date"],
        sender_name=data.get("sender_name", ""),
        subject=data.get("subject", ""),
        scan=scan,
    )
    delivery, document = details.get("delivery"), details.get("document")
    entry = details.get("entry") or {}
    sender = details.get("sender")
    return {
        "outcome": outcome,
        "register_number": details.get("register_number"),
        "register_year": details.get("register_year")
        or (delivery.register_year if delivery is not None else None),
        "document": document_summary(request, document) if document is not None else None,
        "delivery": delivery_json(request, delivery, env.today().isoformat())
        if delivery is not None
        else None,
        "scan": plain(entry["scan"]) if entry.get("scan") else None,
        "incident": details.get("incident"),
        "notified": list(details.get("notified") or ()),
        "sender": {"code": sender.code, "name": sender.name} if sender is not None else None,
    }


def _edxml_io():
    from ..services import edxml_io

    return edxml_io


def export_document(request, body, query):
    document = request.context
    site = request.site
    data = _edxml_io().export_document(site, request.env, document, actor=request.actor)
    return file_response(data, "application/xml", f"{document.document_id}.xml")


def export_status(request, body, query):
    delivery = request.context
    site = request.site
    data = _edxml_io().export_status(site, request.env, delivery)
    audit.record(
        site,
        request.actor,
        "document.export",
        ds.path_of(delivery),
        format="edxml-status",
        state=delivery.state,
    )
    return file_response(
        data, "application/xml", f"{delivery.document.document_id}-{delivery.key}-status.xml"
    )


def import_edxml(request, body, query):
    """An edXML package sent by the caller's unit: stored and issued as that unit's outgoing document."""
    site, env = request.site, request.env
    media_type(request, XML_TYPES)
    body_size(request, env.edxml_max_bytes)
    context = request.context
    unit = context.__parent__
    document = _edxml_io().import_package(
        site,
        env,
        request.actor,
        unit,
        request.body_file_seekable,
        system=is_system(request),
        permits=request.has_permission,
    )
    return respond(document_json(request, document), status=201, location=document_url(request, document))


TAGS = ("documents",)


def includeme(config):
    add_api_route(
        config,
        "api.documents",
        "/documents",
        [
            Operation(
                "POST",
                send_document,
                sec.DRAFT,
                "Send a document: compose and issue it (or only write the draft).",
                body=SEND_BODY,
                media={MULTIPART: SEND_MULTIPART},
                raw_body=True,
                tags=TAGS,
                errors=(400, 403, 404, 409, 413, 415),
                description=(
                    "Needs the right to write drafts for the unit and, to issue, the right to issue "
                    "(the unit's `issuers` policy: its clerk by default; a unit's own token issues "
                    "as its eOffice product, whose approval counts). Attachments: base64 in JSON or "
                    "file parts in multipart/form-data; type judged by content; size limits apply to "
                    "the decoded bytes and the whole body is measured first (413). A refused send "
                    "stores nothing."
                ),
                responses={201: ("The document, with its deliveries.", DOCUMENT_SCHEMA)},
            ),
        ],
        factory=own_mailbox_factory,
    )
    add_api_route(
        config,
        "api.document",
        "/documents/{id}",
        [
            Operation(
                "GET",
                get_document,
                sec.READ_MAILBOX,
                "A document: metadata, attachments, links, and the deliveries the caller may see.",
                tags=TAGS,
                errors=(403, 404),
                description="Every read is on the audit record (R6.6); a "
                "recipient's first read marks its delivery read.",
                responses={200: ("The document.", DOCUMENT_SCHEMA)},
            ),
        ],
        factory=document_factory,
    )
    add_api_route(
        config,
        "api.document.attachment",
        "/documents/{id}/attachments/{name}",
        [
            Operation(
                "GET",
                download,
                sec.READ_MAILBOX,
                "An attachment's bytes (audited).",
                tags=TAGS,
                errors=(403, 404),
                responses={200: ("The file, as an attachment.", BINARY, "*/*")},
            ),
        ],
        factory=attachment_factory,
    )
    add_api_route(
        config,
        "api.delivery.actions",
        "/documents/{id}/deliveries/{code}/actions",
        [
            Operation(
                "POST",
                act,
                sec.READ_MAILBOX,
                "Move a delivery: accept, refuse, assign, start, complete; recall (sender); agree_recall, "
                "refuse_recall.",
                body=ACTION_BODY,
                tags=TAGS,
                errors=(400, 403, 404, 409),
                description=(
                    "`{code}` is the recipient unit's code, or a login for a personal mailbox. The "
                    "caller needs the action's permission on the delivery (accept/refuse and the "
                    "recall answers: the recipient's clerk; assign: its leader; start/complete: the "
                    "assigned specialists; recall: the sender). An illegal move is 409."
                ),
                responses={200: ("The delivery after the move.", DELIVERY_SCHEMA)},
            ),
        ],
        factory=delivery_factory,
    )
    add_api_route(
        config,
        "api.paper_check",
        "/paper-check",
        [
            Operation(
                "POST",
                paper_check,
                sec.REGISTER,
                "Paper receipt check (R9.2): find the data message of a paper document, or register or "
                "refuse the paper.",
                body=PAPER_BODY,
                raw_body=True,
                tags=TAGS,
                errors=(400, 403, 404, 409, 413, 415),
                responses={200: ("What the check found and did.", PAPER_OUTCOME)},
            ),
        ],
        factory=own_mailbox_factory,
    )
    add_api_route(
        config,
        "api.document.edxml",
        "/documents/{id}/edxml",
        [
            Operation(
                "GET",
                export_document,
                sec.READ_MAILBOX,
                "The document as an edXML package (audited).",
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The edXML package.", XML_TEXT, "application/xml")},
            ),
        ],
        factory=document_factory,
    )
    add_api_route(
        config,
        "api.delivery.edxml",
        "/documents/{id}/deliveries/{code}/edxml",
        [
            Operation(
                "GET",
                export_status,
                sec.READ_MAILBOX,
                "A delivery's state as an edXML status message.",
                tags=TAGS,
                errors=(400, 403, 404, 409),
                responses={200: ("The edXML status message.", XML_TEXT, "application/xml")},
            ),
        ],
        factory=delivery_factory,
    )
    add_api_route(
        config,
        "api.edxml",
        "/edxml",
        [
            Operation(
                "POST",
                import_edxml,
                sec.DRAFT,
                "Import an edXML package as an outgoing document of the caller's unit and issue it.",
                media={"application/xml": XML_TEXT},
                raw_body=True,
                tags=TAGS,
                errors=(400, 403, 404, 409, 413, 415),
                description=(
                    "The package's From/OrganId must be the caller's unit. A bad package (unsafe "
                    "XML, bad base64, a manifest that does not match, unknown recipients…) is a 400 "
                    "naming the reason; nothing is stored."
                ),
                responses={201: ("The document, with its deliveries.", DOCUMENT_SCHEMA)},
            ),
        ],
        factory=own_mailbox_factory,
    )
