"""Document pages: compose and edit drafts, the document page, its actions, attachment downloads.

Every page is a traversal view on the resource it shows or changes (Mailbox for compose,
Document, Delivery, Attachment), so the resource's ACL decides who gets in; finer choices
(which action buttons a person sees, whether an action is allowed) are
``request.has_permission`` on the same resources, never ad hoc. Every view of a document
and every download is audited by the services (``ds.read``, ``attachments.record_download``).
A refused action re-shows the page with the message and commits nothing (``refusal``).
"""

from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from .. import doctypes, permissions as sec
from ..errors import NotFound, ServiceError
from ..i18n import _, translate
from ..resources import documents as docs
from ..resources.documents import Attachment, Delivery, Document
from ..resources.mailbox import Mailbox
from ..services import attachments, documents as ds, workflow
from . import signature_badges
from .base import field_errors, local_time, page, refused
from .mailboxes import day, doc_state_title, document_url, person_name, state_title, unit_name

PRIORITY_TITLES = {
    0: _("Normal"),
    1: _("Urgent"),
    2: _("Very urgent"),
    3: _("Express"),
    4: _("Express, on time"),
}
STEERING_TITLES = {0: _("None"), 1: _("Direction"), 2: _("Report")}
BUSINESS_TITLES = {
    docs.NEW: _("New document"),
    docs.REVOKE: _("Revocation"),
    docs.UPDATE: _("Update"),
    docs.REPLACE: _("Replacement"),
}
TEXT_FIELDS = (
    "doc_type",
    "subject",
    "content",
    "signer_name",
    "signer_position",
    "signer_competence",
    "promulgation_place",
    "priority",
    "due_date",
    "steering_type",
    "to_places",
    "classification",
    "persons",
    "response_for",
    "business_doc_type",
    "business_document_id",
    "business_reason",
)
#: types that a browser must never render inline from this site
ACTIVE_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
    "text/javascript",
)


# -- the compose form -----------------------------------------------------------------------
def empty_form():
    form = {name: "" for name in TEXT_FIELDS}
    form.update(priority="0", steering_type="0", business_doc_type="0", recipients=[], groups=[])
    return form


def form_of_document(document):
    """A draft's values for the edit form."""
    meta = document.meta
    form = empty_form()
    for name in (
        "doc_type",
        "subject",
        "content",
        "signer_name",
        "signer_position",
        "signer_competence",
        "promulgation_place",
        "due_date",
        "business_document_id",
        "business_reason",
    ):
        form[name] = str(meta.get(name) or "")
    for name in ("priority", "steering_type", "business_doc_type"):
        form[name] = str(meta.get(name) or 0)
    form["to_places"] = "\n".join(meta.get("to_places") or ())
    form["classification"] = document.classification
    form["recipients"] = list(document.recipients)
    form["persons"] = ", ".join(document.persons)
    form["response_for"] = ", ".join(r.get("document_id", "") for r in meta.get("response_for") or ())
    return form


def posted_form(request):
    post = request.POST
    form = {name: (post.get(name) or "").strip() for name in TEXT_FIELDS}
    form["recipients"] = [c for c in post.getall("recipients") if c]
    form["groups"] = [g for g in post.getall("groups") if g]
    return form


def _split(text):
    return [
        part.strip() for part in (text or "").replace(";", ",").replace("\n", ",").split(",") if part.strip()
    ]


def data_of(request, site, form):
    """The service's ``data`` from the posted form; raise ``ServiceError`` on a bad reference."""
    data = {
        name: form[name]
        for name in (
            "doc_type",
            "subject",
            "content",
            "signer_name",
            "signer_position",
            "signer_competence",
            "promulgation_place",
            "priority",
            "due_date",
            "steering_type",
            "to_places",
            "classification",
            "business_doc_type",
            "business_document_id",
            "business_reason",
        )
    }
    data["recipients"] = form["recipients"]
    data["groups"] = form["groups"]
    data["persons"] = [p.lower() for p in _split(form["persons"])]
    response_for = []
    for ref in _split(form["response_for"]):
        try:
            earlier = ds.get_document(site, ref)
        except NotFound:
            earlier = None
        if earlier is None or not request.has_permission(sec.READ_MAILBOX, earlier):
            raise ServiceError(_("No document ${id}."), field="response_for", id=ref[:60])
        response_for.append(
            {
                "organ_id": earlier.sender_code,
                "code": earlier.notation,
                "promulgation_date": earlier.meta.get("promulgation_date", ""),
                "document_id": earlier.document_id,
            }
        )
    data["response_for"] = response_for
    return data


def uploads(request):
    """``[(name, file, description)]`` of the files chosen in the form (empty inputs skipped)."""
    found = []
    for item in request.POST.getall("attachments"):
        if hasattr(item, "file") and getattr(item, "filename", ""):
            found.append((item.filename, item.file, ""))
    return found


def compose_page(request, unit, form, errors=None, document=None):
    site = request.site
    directory = site["directory"]
    units = sorted(
        (u for u in directory.values() if u.is_active() and u.code != unit.code), key=lambda u: u.name
    )
    groups = [{"value": key, "title": translate(request, title)} for key, (_kind, title) in ds.GROUPS.items()]
    groups.append(
        {
            "value": f"children:{unit.code}",
            "title": translate(request, _("All sub-units of ${unit}"), unit=unit.short_name),
        }
    )
    business = (
        int(form.get("business_doc_type") or 0) if str(form.get("business_doc_type") or "0").isdigit() else 0
    )
    original = None
    if form.get("business_document_id"):
        try:
            original = ds.get_document(site, form["business_document_id"])
        except NotFound:
            original = None
    title = (
        translate(request, _("Edit the draft"))
        if document is not None
        else translate(request, BUSINESS_TITLES.get(business, BUSINESS_TITLES[0]))
        if business
        else translate(request, _("Compose a document"))
    )
    action = (
        f"{document_url(request, document)}/edit"
        if document is not None
        else f"{request.application_url}/directory/{unit.code}/mailbox/compose"
    )
    return page(
        request,
        title,
        unit=unit,
        form=form,
        errors=errors or {},
        document=document,
        action_url=action,
        types=doctypes.TYPES,
        units=units,
        groups=groups,
        classifications=doctypes.CLASSIFICATIONS,
        priorities={k: translate(request, v) for k, v in PRIORITY_TITLES.items()},
        steering={k: translate(request, v) for k, v in STEERING_TITLES.items()},
        approval=bool(unit.policy("approval")),
        business=business,
        original=original,
        business_title=translate(request, BUSINESS_TITLES.get(business, BUSINESS_TITLES[0])),
        attachments=list(document.attachments.values()) if document is not None else [],
    )


def _prefill(request, unit):
    """A new form, pre-filled for an update/replacement or an answer to an earlier document."""
    site = request.site
    form = empty_form()
    params = request.params
    kind = params.get("business_doc_type", "")
    if kind in ("1", "2", "3") and params.get("business_document_id"):
        try:
            original = ds.get_document(site, params["business_document_id"])
        except NotFound:
            original = None
        if (
            original is not None
            and request.has_permission(sec.READ_MAILBOX, original)
            and original.sender_code == unit.code
            and original.is_issued()
        ):
            form.update(form_of_document(original))
            form.update(business_doc_type=kind, business_document_id=original.document_id, business_reason="")
    if params.get("response_for"):
        try:
            earlier = ds.get_document(site, params["response_for"])
        except NotFound:
            earlier = None
        if earlier is not None and request.has_permission(sec.READ_MAILBOX, earlier):
            form["response_for"] = earlier.id
            form["recipients"] = [earlier.sender_code] if earlier.sender_code != unit.code else []
    return form


@view_config(
    context=Mailbox, name="compose", renderer="compose.pt", permission=sec.DRAFT, request_method="GET"
)
def compose_form(request):
    unit = request.context.__parent__
    return compose_page(request, unit, _prefill(request, unit))


def _after_save(request, document, do):
    """Submit or issue the saved draft as the button asked; return the flash message."""
    site, env, actor = request.site, request.env, request.actor
    if do == "submit":
        ds.submit(site, env, actor, document)
        return translate(request, _("The draft was sent to the leaders for approval."))
    if do == "issue":
        if not ds.may_issue(document, request.has_permission):
            return translate(
                request,
                _(
                    "The draft was saved. You may not issue documents of this unit: "
                    "whoever may will find it in the drafts."
                ),
            )
        ds.issue(site, env, actor, document)
        return translate(request, _("Document ${notation} was issued and sent."), notation=document.notation)
    return translate(request, _("The draft was saved."))


@view_config(
    context=Mailbox, name="compose", renderer="compose.pt", permission=sec.DRAFT, request_method="POST"
)
def compose_post(request):
    unit = request.context.__parent__
    site = request.site
    form = posted_form(request)
    do = request.POST.get("do", "save")
    try:
        document = ds.compose(
            site, request.env, request.actor, unit, data_of(request, site, form), uploads(request)
        )
        message = _after_save(request, document, do)
    except ServiceError as exc:
        request.response.status = exc.status
        return compose_page(request, unit, form, field_errors(request, exc))
    request.session.flash(message)
    return HTTPSeeOther(document_url(request, document))


@view_config(context=Document, name="edit", renderer="compose.pt", permission=sec.DRAFT, request_method="GET")
def edit_form(request):
    document = request.context
    ds.require_editable(document)  # the edit form of an issued document answers 409 too
    unit = request.site["directory"][document.sender_code]
    return compose_page(request, unit, form_of_document(document), document=document)


@view_config(
    context=Document, name="edit", renderer="compose.pt", permission=sec.DRAFT, request_method="POST"
)
def edit_post(request):
    document = request.context
    ds.require_editable(document)
    site = request.site
    unit = site["directory"][document.sender_code]
    form = posted_form(request)
    do = request.POST.get("do", "save")
    try:
        ds.update_draft(
            site,
            request.env,
            request.actor,
            document,
            data_of(request, site, form),
            uploads(request),
            remove=request.POST.getall("remove"),
        )
        message = _after_save(request, document, do)
    except ServiceError as exc:
        request.response.status = exc.status
        return compose_page(request, unit, form, field_errors(request, exc), document=document)
    request.session.flash(message)
    return HTTPSeeOther(document_url(request, document))


# -- the document page ----------------------------------------------------------------------
def timeline_rows(request, site, delivery):
    rows = []
    for entry in delivery.history:
        rows.append(
            {
                "state": state_title(request, entry.get("state", "")),
                "time": local_time(request, entry.get("time")),
                "actor": _actor_name(site, entry.get("actor")),
                "on_behalf_of": person_name(site, entry["on_behalf_of"]) if entry.get("on_behalf_of") else "",
                "reason": entry.get("reason", ""),
                "note": entry.get("note", ""),
                "assignees": ", ".join(person_name(site, a) for a in entry.get("assignees") or ()),
                "deadline": day(entry.get("deadline")),
                "register": entry.get("register", ""),
            }
        )
    return rows


def _actor_name(site, login):
    """A person's full name; the hub itself or a unit's eOffice product by what it is."""
    if not login:
        return ""
    if login.startswith("system:"):
        name = login.split(":", 1)[1]
        return unit_name(site, name) + " (eOffice)" if name in site["directory"] else "LienThong"
    return person_name(site, login)


def specialists_of(site, unit):
    """``[(login, fullname)]`` of the unit's active specialists and leaders: who may be assigned."""
    found = []
    for principal, roles in sorted((unit.__local_roles__ or {}).items()):
        if not principal.startswith("user:") or not ({sec.SPECIALIST, sec.LEADER} & set(roles)):
            continue
        user = site["users"].get(principal[5:])
        if user is not None and user.is_active() and user.unit_code == unit.code:
            found.append((user.login, user.fullname))
    return found


def recipient_actions(request, delivery):
    """The actions the person may take on their delivery now: state and permission both allow them."""
    user = request.identity
    actor = request.actor
    found = []
    for action in workflow.available(delivery):
        if action.side != "recipient" or not request.has_permission(action.permission, delivery):
            continue
        if (
            action.name in ("start", "complete")
            and not delivery.is_personal
            and user.login not in delivery.assignees
            and (actor.on_behalf_of or "") not in delivery.assignees
        ):
            continue
        found.append(
            {
                "name": action.name,
                "title": translate(request, action.title),
                "needs_reason": action.needs_reason,
            }
        )
    return found


def delivery_view(request, site, delivery, today):
    document = delivery.document
    return {
        "key": delivery.key,
        "delivery": delivery,
        "name": person_name(site, delivery.recipient_login)
        if delivery.is_personal
        else unit_name(site, delivery.recipient_code),
        "code": delivery.recipient_login or delivery.recipient_code,
        "state": state_title(request, delivery.state),
        "state_code": delivery.state,
        "register": f"{delivery.register_number}/{delivery.register_year}"
        if delivery.register_number
        else "",
        "due": day(delivery.due),
        "overdue": ds.overdue(delivery, today),
        "read": local_time(request, delivery.read_at) if delivery.read_at else "",
        "assignees": ", ".join(person_name(site, a) for a in delivery.assignees),
        "timeline": timeline_rows(request, site, delivery),
        "act_url": f"{document_url(request, document)}/deliveries/{quote(delivery.key, safe='~')}/act",
    }


def _readable(request, site, document_id):
    try:
        document = ds.get_document(site, document_id)
    except NotFound:
        return None
    return document if request.has_permission(sec.READ_MAILBOX, document) else None


def document_page(request, document, errors=None, act_form=None, record=True):
    """The document page: metadata, files, links, and the sender's or the recipient's view."""
    site = request.site
    env = request.env
    directory = site["directory"]
    today = request.env.today().isoformat()
    sender_box = directory[document.sender_code]["mailbox"] if document.sender_code in directory else None
    sender_side = sender_box is not None and bool(request.has_permission(sec.READ_MAILBOX, sender_box))
    mine = []
    for delivery in document.deliveries.values():
        if delivery.is_personal:
            owner = site["users"].get(delivery.recipient_login)
            box = owner["mailbox"] if owner is not None else None
        else:
            unit = directory.get(delivery.recipient_code)
            box = unit["mailbox"] if unit is not None else None
        if box is not None and request.has_permission(sec.READ_MAILBOX, box):
            mine.append(delivery)
    if record:
        actor = request.actor
        ds.read(site, env, actor, document, mine[0] if mine else None)
        for other in mine[1:]:
            ds.mark_read(site, env, actor, other)

    own = []
    for delivery in mine:
        view = delivery_view(request, site, delivery, today)
        view["actions"] = recipient_actions(request, delivery)
        view["specialists"] = (
            specialists_of(site, directory[delivery.recipient_code])
            if any(a["name"] == "assign" for a in view["actions"])
            else []
        )
        reply_box = directory[delivery.recipient_code]["mailbox"] if delivery.recipient_code else None
        view["reply_url"] = (
            f"{request.application_url}/directory/{delivery.recipient_code}/mailbox/compose"
            f"?response_for={document.id}"
            if reply_box is not None and request.has_permission(sec.DRAFT, reply_box)
            else None
        )
        own.append(view)
    sent = []
    if sender_side:
        for _key, delivery in ds.timeline(document):
            view = delivery_view(request, site, delivery, today)
            view["can_recall"] = any(a.name == "recall" for a in workflow.available(delivery)) and bool(
                request.has_permission(sec.SEND, delivery)
            )
            sent.append(view)

    meta = document.meta
    original = None
    if meta.get("business_document_id"):
        original = _readable(request, site, meta["business_document_id"])
    later = []
    for link in document.links:
        target = _readable(request, site, link["document"])
        if target is not None:
            later.append(
                {
                    "url": document_url(request, target),
                    "notation": link.get("notation") or target.notation,
                    "kind": translate(
                        request, BUSINESS_TITLES.get(link.get("business_doc_type"), _("Update"))
                    ),
                    "time": local_time(request, link.get("time")),
                }
            )
    answers = []
    for ref in meta.get("response_for") or ():
        target = _readable(request, site, ref.get("document_id"))
        answers.append(
            {
                "code": ref.get("code", ""),
                "date": day(ref.get("promulgation_date")),
                "url": document_url(request, target) if target is not None else None,
            }
        )

    editable = document.state in docs.EDITABLE
    unit = directory.get(document.sender_code)
    approval = bool(unit.policy("approval")) if unit is not None else False
    can = {
        "edit": editable and bool(request.has_permission(sec.DRAFT, document)),
        "submit": editable
        and approval
        and document.state == docs.DRAFT
        and bool(request.has_permission(sec.DRAFT, document)),
        "approve": editable
        and document.state in ((docs.DRAFT, docs.PENDING) if approval else (docs.PENDING,))
        and bool(request.has_permission(sec.APPROVE, document)),
        "send_back": editable
        and document.state in (docs.PENDING, docs.APPROVED)
        and bool(request.has_permission(sec.APPROVE, document)),
        "issue": editable
        and (not approval or document.state == docs.APPROVED)
        and ds.may_issue(document, request.has_permission),
        "follow_up": document.is_issued()
        and sender_box is not None
        and bool(request.has_permission(sec.DRAFT, sender_box)),
    }
    follow_up = (
        f"{request.application_url}/directory/{document.sender_code}/mailbox/compose"
        f"?business_document_id={document.id}&business_doc_type="
    )
    priority = meta.get("priority") or 0
    return page(
        request,
        document.notation or document.title,
        document=document,
        meta=meta,
        errors=errors or {},
        act_form=act_form or {},
        own=own,
        sent=sent,
        sender_side=sender_side,
        can=can,
        state=doc_state_title(request, document.state),
        original=original,
        original_url=document_url(request, original) if original is not None else None,
        later=later,
        answers=answers,
        follow_up=follow_up,
        sender_name=unit_name(site, document.sender_code),
        recipients=[unit_name(site, c) for c in document.recipients]
        + [person_name(site, p) for p in document.persons],
        attachments=[
            {
                "name": a.name,
                "size": a.size,
                "type": a.mime_type,
                "description": a.description,
                "url": f"{document_url(request, document)}/attachments/{quote(a.name)}",
                "signatures": signature_badges.for_attachment(request, mine, a.name),
            }
            for a in document.attachments.values()
        ],
        signed_at_issue=signature_badges.applied(request, document) if sender_side else [],
        envelope_signatures=signature_badges.badge_views(
            request, getattr(document, "envelope_signatures", ())
        ),
        priority=translate(request, PRIORITY_TITLES.get(priority, PRIORITY_TITLES[0])),
        steering=translate(request, STEERING_TITLES.get(meta.get("steering_type") or 0, STEERING_TITLES[0])),
        business=translate(request, BUSINESS_TITLES.get(document.business_doc_type, BUSINESS_TITLES[0])),
        approval=[
            {
                "action": a.get("action"),
                "actor": _actor_name(site, a.get("actor")),
                "on_behalf_of": person_name(site, a["on_behalf_of"]) if a.get("on_behalf_of") else "",
                "time": local_time(request, a.get("time")),
                "note": a.get("note", ""),
            }
            for a in document.approval
        ],
        issued_at=local_time(request, document.issued_at) if document.issued_at else "",
        issued_by=_actor_name(site, document.issued_by),
        created_at=local_time(request, document.created_at),
        created_by=_actor_name(site, document.created_by),
        day=day,
        local_time=lambda iso: local_time(request, iso),
        url=document_url(request, document),
    )


@view_config(context=Document, renderer="document.pt", permission=sec.READ_MAILBOX, request_method="GET")
def view_document(request):
    return document_page(request, request.context)


@view_config(context=Document, name="edxml", permission=sec.READ_MAILBOX, request_method="GET")
def export_edxml(request):
    """The issued document as an edXML package (QCVN 102:2016), for another system; audited."""
    from ..services import edxml_io

    document = request.context
    if not document.is_issued():
        raise HTTPNotFound()
    site = request.site
    package = edxml_io.export_document(site, request.env, document, request.actor)
    response = Response(body=package, content_type="application/xml", charset="utf-8")
    response.content_disposition = content_disposition(
        f"{document.notation.replace('/', '-') or document.id}.xml"
    )
    response.cache_control = "private, no-store"
    return response


def _draft_action(request, move, message, **kwargs):
    document = request.context
    site = request.site
    try:
        move(site, request.env, request.actor, document, **kwargs)
    except ServiceError as exc:
        request.response.status = exc.status
        return document_page(request, document, errors=field_errors(request, exc), record=False)
    request.session.flash(translate(request, message, notation=document.notation))
    return HTTPSeeOther(document_url(request, document))


@view_config(
    context=Document, name="submit", renderer="document.pt", permission=sec.DRAFT, request_method="POST"
)
def submit_draft(request):
    return _draft_action(request, ds.submit, _("The draft was sent to the leaders for approval."))


@view_config(
    context=Document, name="approve", renderer="document.pt", permission=sec.APPROVE, request_method="POST"
)
def approve_draft(request):
    return _draft_action(request, ds.approve, _("The draft was approved."), note=request.POST.get("note", ""))


@view_config(
    context=Document, name="send_back", renderer="document.pt", permission=sec.APPROVE, request_method="POST"
)
def send_back_draft(request):
    return _draft_action(
        request, ds.send_back, _("The draft was sent back."), note=request.POST.get("note", "")
    )


@view_config(
    context=Document, name="issue", renderer="document.pt", permission=sec.ISSUE, request_method="POST"
)
def issue_draft(request):
    return _draft_action(request, ds.issue, _("Document ${notation} was issued and sent."))


# -- deliveries -----------------------------------------------------------------------------
@view_config(context=Delivery, permission=sec.READ_MAILBOX, request_method="GET")
def delivery_link(request):
    """A delivery's address leads to its place on the document page."""
    delivery = request.context
    return HTTPSeeOther(f"{document_url(request, delivery.document)}#delivery-{delivery.key}")


@view_config(
    context=Delivery, name="act", renderer="document.pt", permission=sec.READ_MAILBOX, request_method="POST"
)
def act(request):
    """One workflow action on a delivery; its own permission is checked on the delivery."""
    delivery = request.context
    post = request.POST
    name = post.get("action", "")
    form = {
        "key": delivery.key,
        "action": name,
        "reason": post.get("reason", ""),
        "note": post.get("note", ""),
        "deadline": post.get("deadline", ""),
        "assignees": post.getall("assignees"),
    }
    try:
        action = workflow.get_action(delivery, name)
    except ServiceError as exc:
        request.response.status = exc.status
        return document_page(
            request, delivery.document, errors={"act": refused(request, exc)}, act_form=form, record=False
        )
    if not request.has_permission(action.permission, delivery):
        raise HTTPForbidden()
    site = request.site
    try:
        ds.act(
            site,
            request.env,
            request.actor,
            delivery,
            name,
            reason=form["reason"],
            assignees=form["assignees"],
            deadline=form["deadline"] or None,
            note=form["note"],
        )
    except ServiceError as exc:
        request.response.status = exc.status
        message = refused(request, exc)
        field = exc.field if exc.field in ("reason", "assignees", "deadline") else "act"
        return document_page(
            request,
            delivery.document,
            errors={field: message, "act_key": delivery.key},
            act_form=form,
            record=False,
        )
    if name == "accept":
        message = translate(
            request,
            _("Accepted and registered as incoming number ${number}."),
            number=f"{delivery.register_number}/{delivery.register_year}",
        )
    else:
        message = translate(request, _("Done: ${action}."), action=translate(request, action.title))
    request.session.flash(message)
    return HTTPSeeOther(f"{document_url(request, delivery.document)}")


# -- attachments ----------------------------------------------------------------------------
def content_disposition(name):
    """``attachment`` with an ASCII fallback name and the real one in RFC 5987 form."""
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name) or "file"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


@view_config(context=Attachment, permission=sec.READ_MAILBOX, request_method="GET")
def download(request):
    """The attachment's bytes, always as a download (never rendered by the browser from this site)."""
    attachment = request.context
    site = request.site
    stream = attachments.open_attachment(site, request.env, attachment)
    attachments.record_download(site, request.actor, attachment)
    kind = attachment.mime_type or "application/octet-stream"
    if kind.split(";")[0].strip().lower() in ACTIVE_TYPES:
        kind = "application/octet-stream"
    response = Response(app_iter=FileIter(stream), content_type=kind, content_length=attachment.size)
    response.content_disposition = content_disposition(attachment.name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control = "private, no-store"
    return response
