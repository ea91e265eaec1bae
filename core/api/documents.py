"""/api/v1/documents: send, read, download, act on deliveries, paper check, edXML (R3.2, R3.3, R6.6, R9.2).

Every route's context is the resource it acts on (the unit mailbox, the Document, its
Attachment or Delivery), so the resource's ACL decides; the finer checks (another unit
named in the body, the permission of the chosen action, issuing) ask
``request.has_permission`` on the resource concerned and are refused on the record.
Reads, downloads and exports are audited by the services. Bodies that carry files
(base64 in JSON, multipart, edXML) are measured before they are parsed (``bodies``); what
a document looks like in JSON, and which of its deliveries a caller sees, is
``representations``'s.
"""

import io

from pyramid.httpexceptions import HTTPNotFound

from .. import permissions as sec
from ..downloads import file_response
from ..errors import NotFound
from ..i18n import _
from ..resources.documents import path_of
from ..services import attachments, audit, deliveries, documents as ds, paper, workflow
from .bodies import (
    METADATA_ROOM,
    MULTIPART,
    XML_TYPES,
    base64_limit,
    decode_base64,
    json_body,
    media_type,
)
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
from .json import JSON_TYPE, BadRequest, body_size, respond
from .openapi import Operation, add_api_route, refuse
from .representations import (
    Viewer,
    delivery_json,
    document_json,
    document_summary,
    document_url,
    is_system,
    plain,
)


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


# -- reading bodies that carry files ------------------------------------------------------------
def read_send_body(request, env):
    """(metadata dict, files [(name, fileobj, description)]) from JSON with base64, or multipart."""
    policy = env.attachment_policy
    kind = media_type(request, (JSON_TYPE, MULTIPART))
    if kind == JSON_TYPE:
        body_size(request, base64_limit(policy))
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
    deliveries.read(request.site, request.env, request.actor, document, own[0] if own else None)
    return document_json(request, document, viewer)


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
    deliveries.act(
        request.site,
        env,
        request.actor,
        delivery,
        action.name,
        reason=body.get("reason", ""),
        assignees=body.get("assignees") or (),
        informed=body.get("informed") or (),
        deadline=body.get("deadline") or None,
        note=body.get("note", ""),
        system=is_system(request),
    )
    return delivery_json(request, delivery, env.today().isoformat())


def paper_check(request, body, query):
    site, env = request.site, request.env
    policy = env.attachment_policy
    media_type(request, (JSON_TYPE,))
    body_size(request, base64_limit(policy, total=False))
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
        path_of(delivery),
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
    from ..services import inbound  # the one door: the same answer as /edxml/v1 for the same package

    receipt = inbound.receive(
        site,
        env,
        unit.code,
        request.body_file_seekable,
        f"api {request.client_address or ''}".strip(),
        actor=request.actor,
        permits=None if is_system(request) else request.has_permission,
    )
    document = receipt.document
    return respond(
        document_json(request, document),
        status=201 if receipt.created else 200,
        location=document_url(request, document),
    )


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
