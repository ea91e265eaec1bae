"""Document pages: the document page, its actions, its edXML export, attachment downloads.

Every page is a traversal view on the resource it shows or changes (Document, Delivery,
Attachment), so the resource's ACL decides who gets in; finer choices (which action
buttons a person sees, whether an action is allowed) are ``request.has_permission`` on
the same resources, never ad hoc. Every view of a document and every download is audited
by the services (``deliveries.read``, ``attachments.record_download``). Composing and
editing a draft are ``compose``'s pages.
A refused action re-shows the page with the message and commits nothing (``base.refused``).
"""

from urllib.parse import quote

from pyramid.httpexceptions import HTTPForbidden, HTTPNotFound, HTTPSeeOther
from pyramid.response import FileIter, Response
from pyramid.view import view_config

from .. import filetypes, permissions as sec
from ..downloads import content_disposition
from ..errors import NotFound, ServiceError
from ..i18n import _, translate
from ..plugins import transport_adapters
from ..resources import documents as docs
from ..resources.documents import Attachment, Delivery, Document
from ..resources.registers import INCOMING, OUTGOING
from ..services import attachments, deliveries, documents as ds, outbox, workflow
from . import signature_badges
from .base import field_errors, local_time, page, refused
from .labels import BUSINESS_TITLES, PRIORITY_TITLES, STEERING_TITLES
from .mailboxes import (
    day,
    doc_state_title,
    document_url,
    outcome_words,
    person_name,
    state_title,
    unit_name,
)
from .registers import flash_duplicates

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
                "note": _note(request, entry),
                "assignees": ", ".join(person_name(site, a) for a in entry.get("assignees") or ()),
                "lead": person_name(site, entry["lead"]) if entry.get("lead") else "",
                "cooperating": ", ".join(person_name(site, a) for a in entry.get("cooperating") or ()),
                "informed": ", ".join(person_name(site, a) for a in entry.get("informed") or ()),
                "deadline": day(entry.get("deadline")),
                "register": register_label(entry.get("register", "")),
                "report": _transport_words(request, entry),
            }
        )
    return rows


def register_label(value):
    """A timeline's register entry (``2026-in/2``) as the register writes it: number/year (``2/2026``)."""
    year, _sep, rest = str(value or "").partition("-")
    _direction, _sep, number = rest.partition("/")
    return f"{number}/{year}" if year.isdigit() and number.isdigit() else str(value or "")


#: the notes the hub itself writes on a timeline (``services.deliveries``), by their key
SYSTEM_NOTES = {
    "queued": _("queued for the transport to the recipient's system"),
    "set_aside": _("cannot be delivered to the recipient's system as it is; the operator was alerted"),
}


def _note(request, entry):
    """A person's note as written; one the hub wrote, in the reader's language."""
    note = entry.get("note", "")
    if note in SYSTEM_NOTES and str(entry.get("actor", "")).startswith("system:"):
        return translate(request, SYSTEM_NOTES[note])
    return note


#: what a transport said of a delivery (``transports.REPORT_STATES``), for its timeline
REPORT_TITLES = {
    "pending": _("on its way to the recipient's system"),
    "received": _("received by the recipient's system"),
    "failed": _("the recipient's system failed to take it; offered again"),
    "lost": _("will not be delivered by the transport"),
}


def _transport_title(request, name):
    """An adapter's title in the viewer's language (the adapters gathered once per request)."""
    titles = request.environ.get("lienthong.transport_titles")
    if titles is None:
        titles = request.environ["lienthong.transport_titles"] = {
            n: a.title or n for n, a in transport_adapters(request.registry).items()
        }
    return translate(request, titles.get(name, name))


def _transport_words(request, entry):
    """The line a transport's entry adds: the id it gave the delivery, or what it reported."""
    if entry.get("remote") in REPORT_TITLES:
        text = translate(
            request,
            _("Transport ${via}: ${state}"),
            via=_transport_title(request, entry.get("transport", "")),
            state=translate(request, REPORT_TITLES[entry["remote"]]),
        )
        return f"{text} ({entry['remote_note']})" if entry.get("remote_note") else text
    if entry.get("reference"):
        return translate(request, _("Id on the transport: ${reference}"), reference=entry["reference"])
    return ""


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
        "overdue": deliveries.overdue(delivery, today),
        "read": local_time(request, delivery.read_at) if delivery.read_at else "",
        "assignees": ", ".join(person_name(site, a) for a in delivery.assignees),
        "lead": person_name(site, delivery.lead) if delivery.lead else "",
        "cooperating": ", ".join(person_name(site, a) for a in delivery.cooperating or ()),
        "informed": ", ".join(person_name(site, a) for a in delivery.informed or ()),
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
        deliveries.read(site, env, actor, document, mine[0] if mine else None)
        for other in mine[1:]:
            deliveries.mark_read(site, env, actor, other)

    own = []
    for delivery in mine:
        view = delivery_view(request, site, delivery, today)
        view["actions"] = recipient_actions(request, delivery)
        view["specialists"] = (
            [
                s
                for s in specialists_of(site, directory[delivery.recipient_code])
                if s[0] != request.actor.login  # the leader assigns others, not himself
            ]
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
        for _key, delivery in deliveries.timeline(document):
            view = delivery_view(request, site, delivery, today)
            view["can_recall"] = any(a.name == "recall" for a in workflow.available(delivery)) and bool(
                request.has_permission(sec.SEND, delivery)
            )
            outcome = outbox.outcome_of(delivery)
            view["outcome"] = {
                "key": outcome.key,
                "tone": outcome.tone,
                "title": translate(request, outcome.title),
            }
            if outcome.key == "undeliverable":  # not "queued" for ever: said, and in the refusals' colour
                view["state"], view["state_code"] = view["outcome"]["title"], outcome.key
            view["outcome_reason"] = (
                (outbox.reason_of(delivery) or outcome_words(request, outcome))
                if outcome.needs_reason
                else ""
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
                "size": filetypes.human_size(a.size or 0),
                "type": filetypes.type_label(a.mime_type),
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
    if document.is_issued():
        flash_duplicates(
            request, document.sender_code, OUTGOING, document.register_year, document.register_number
        )
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
        "lead": post.get("lead", ""),
        "cooperating": post.getall("cooperating"),
        "informed": post.getall("informed"),
    }
    # the form names who leads and who co-operates; ``assignees`` (the lead first) as the API has it
    form["assignees"] = post.getall("assignees") or (
        [form["lead"], *form["cooperating"]] if form["lead"] else []
    )
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
        deliveries.act(
            site,
            request.env,
            request.actor,
            delivery,
            name,
            reason=form["reason"],
            assignees=form["assignees"],
            informed=form["informed"],
            deadline=form["deadline"] or None,
            note=form["note"],
        )
    except ServiceError as exc:
        request.response.status = exc.status
        message = refused(request, exc)
        field = exc.field if exc.field in ("reason", "assignees", "informed", "deadline") else "act"
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
    if name == "accept":
        flash_duplicates(
            request, delivery.recipient_code, INCOMING, delivery.register_year, delivery.register_number
        )
    return HTTPSeeOther(f"{document_url(request, delivery.document)}")


@view_config(
    context=Document,
    name="recall",
    renderer="document.pt",
    permission=sec.READ_MAILBOX,
    request_method="POST",
)
def recall(request):
    """The sender takes the document back from the chosen recipients at once, with one reason."""
    document = request.context
    keys = request.POST.getall("recipients")
    reason = request.POST.get("reason", "")
    chosen = [d for d in (document.deliveries.get(k) for k in dict.fromkeys(keys)) if d is not None]
    if len(chosen) != len(set(keys)) or any(not request.has_permission(sec.SEND, d) for d in chosen):
        raise HTTPForbidden()
    form = {"recall": True, "reason": reason, "recipients": keys}
    try:
        deliveries.recall_many(request.site, request.env, request.actor, chosen, reason)
    except ServiceError as exc:
        request.response.status = exc.status
        field = exc.field if exc.field in ("reason", "recipients") else "act"
        errors = {f"recall_{field}" if field != "act" else "act": refused(request, exc)}
        return document_page(request, document, errors=errors, act_form=form, record=False)
    request.session.flash(
        translate(request, _("Asked ${count} recipient(s) to give it back."), count=len(chosen))
    )
    return HTTPSeeOther(f"{document_url(request, document)}#recipients")


# -- attachments ----------------------------------------------------------------------------
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
