"""Mailbox pages: a unit's inbox, outbox and drafts, a person's mailbox, and search (R8.1).

The lists come from the catalog (``services.mailboxes``); which boxes a person may list
is decided by the mailbox's ACL, and search only looks into ``readable_boxes``. Reading
a mailbox is on the audit record; opening a document is audited by the document page.
"""

from datetime import date
from urllib.parse import urlencode

from pyramid.events import BeforeRender, subscriber
from pyramid.httpexceptions import HTTPBadRequest
from pyramid.response import Response
from pyramid.view import view_config

from .. import doctypes, permissions as sec
from ..edxml import STATUS_CODES
from ..errors import ServiceError
from ..i18n import _, translate, translate_message
from ..resources import documents as docs
from ..resources.documents import Delivery
from ..resources.mailbox import Mailbox
from ..resources.site import Site
from ..security import SystemIdentity
from ..services import audit, deliveries, mailboxes, outbox, workflow
from .base import hub_units, local_time, page, refused
from .labels import PRIORITY_TITLES

PAGE_SIZE = 20

DOC_STATE_TITLES = {
    docs.DRAFT: _("draft"),
    docs.PENDING: _("waiting for approval"),
    docs.APPROVED: _("approved, ready to issue"),
    docs.ISSUED: _("issued"),
}
TAB_TITLES = {
    mailboxes.INBOX: _("Inbox"),
    mailboxes.OUTBOX: _("Outbox"),
    mailboxes.DRAFTS: _("Drafts"),
}
SORT_TITLES = {"date": _("Newest first"), "due": _("Earliest deadline first")}


# -- helpers shared by the document pages ---------------------------------------------------
def translated(request, message):
    """``message`` in the request's language, translatable values inside it included."""
    return translate_message(request.localizer, message)


def day(value):
    """An ISO date (or the date part of an ISO time) as dd/mm/yyyy."""
    text = value or ""
    parts = text[:10].split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else text


def state_title(request, code):
    return (
        translate(request, workflow.STATE_TITLES.get(code, code)) if code in workflow.STATE_TITLES else code
    )


def doc_state_title(request, state):
    return translate(request, DOC_STATE_TITLES[state]) if state in DOC_STATE_TITLES else state


def unit_name(site, code):
    unit = site["directory"].get(code or "")
    return unit.name if unit is not None else (code or "")


def recipient_name(site, delivery):
    """A delivery's recipient as people name it: the person's full name or the unit's name."""
    if delivery.is_personal:
        return person_name(site, delivery.recipient_login)
    return unit_name(site, delivery.recipient_code)


def outcome_words(request, outcome):
    """What to say of a bad outcome that has no reason of its own (a copy not carried)."""
    if outcome.key == "undeliverable":
        return translate(request, UNDELIVERABLE)
    return translate(request, outcome.title)


#: said of a copy the transport could not carry (no person gave a reason)
UNDELIVERABLE = _("its system could not be reached; the operator was alerted")


def person_name(site, login):
    user = site["users"].get(login or "")
    return user.fullname if user is not None else (login or "")


def document_url(request, document):
    return f"{request.application_url}/documents/{document.id}"


def is_person(request):
    user = request.identity
    return user is not None and not isinstance(user, SystemIdentity)


def mail_units(request):
    """The units whose mailbox the logged-in person reads: their unit first, then the extra ones."""
    if not is_person(request):
        return []
    user = request.identity
    site = request.site
    found = []
    for code in [user.unit_code] + list(getattr(user, "extra_units", ()) or ()):
        unit = site["directory"].get(code or "")
        if (
            unit is not None
            and unit not in found
            and request.has_permission(sec.READ_MAILBOX, unit["mailbox"])
        ):
            found.append(unit)
    return found


def readable_boxes(request):
    site = request.site
    return mailboxes.readable_boxes(
        site, request.identity, lambda unit: bool(request.has_permission(sec.READ_MAILBOX, unit["mailbox"]))
    )


def mail_nav(request):
    """The mail links of the top bar (layout.pt): for a person who reads a unit mailbox."""
    try:
        units = mail_units(request)
    except Exception:  # an error page whose database failed still renders its layout
        return None
    if not units:
        return None
    unit = units[0]
    base = f"{request.application_url}/directory/{unit.code}"
    box = unit["mailbox"]
    return {
        "inbox": base + "/mailbox",
        "compose": base + "/mailbox/compose" if request.has_permission(sec.DRAFT, box) else None,
        "paper": base + "/mailbox/paper" if request.has_permission(sec.REGISTER, box) else None,
        "registers": base + "/registers"
        if request.has_permission(sec.READ_MAILBOX, unit["registers"])
        else None,
        "search": request.application_url + "/search",
        "prefix": f"/directory/{unit.code}/",
    }


@subscriber(BeforeRender)
def add_mail_nav(event):
    """Offer ``mail_nav()`` to every template; the layout calls it only for a logged-in person."""
    request = event.get("request")
    if request is not None and "mail_nav" not in event:
        event["mail_nav"] = lambda: mail_nav(request)


def _marks(request, document):
    """What a clerk scans a list for: the urgency (Khẩn, Thượng khẩn, Hỏa tốc) and the files."""
    level = int(document.meta.get("priority") or 0)
    return {
        "priority": translate(request, PRIORITY_TITLES[level]) if level in PRIORITY_TITLES and level else "",
        "priority_level": level,
        "files": len(document.attachments),
        "files_title": translate(request, _("${count} attached file(s)"), count=len(document.attachments)),
    }


def row_of(request, site, obj, today):
    """A list row for a Delivery (inbox, personal mailbox) or a Document (outbox, drafts)."""
    if isinstance(obj, Delivery):
        document = obj.document
        return {
            "url": document_url(request, document),
            "id": document.id,
            "notation": document.notation,
            "subject": document.title,
            "who": unit_name(site, document.sender_code),
            "date": local_time(request, obj.arrived_at or document.issued_at)[:10],
            "due": day(obj.due),
            "overdue": deliveries.overdue(obj, today),
            "state": state_title(request, obj.state),
            "state_code": obj.state,
            "outcomes": [],
            "reasons": [],
            "incoming_number": f"{obj.register_number}/{obj.register_year}" if obj.register_number else "",
            **_marks(request, document),
            "unread": obj.read_at is None,
            "key": obj.key,
        }
    document = obj
    names = [unit_name(site, c) for c in document.recipients] + [
        person_name(site, p) for p in document.persons
    ]
    who = "; ".join(names[:3]) + (
        translate(request, _(" and ${count} more"), count=len(names) - 3) if len(names) > 3 else ""
    )
    state = doc_state_title(request, document.state)
    outcomes, reasons = [], []
    if document.is_issued():
        found = outbox.summary(document, limit=3)
        outcomes = [
            {
                "key": o.key,
                "tone": o.tone,
                "text": translate(
                    request, _("${count} ${outcome}"), count=n, outcome=translate(request, o.title)
                ),
            }
            for o, n in found.counts
        ]
        reasons = [
            {"who": recipient_name(site, d), "reason": r or outcome_words(request, o)}
            for d, o, r in found.reasons
        ]
    return {
        "url": document_url(request, document),
        "id": document.id,
        "notation": document.notation or "—",
        "subject": document.title,
        "who": who,
        "date": local_time(request, document.issued_at or document.created_at)[:10],
        "due": day(document.meta.get("due_date")),
        "overdue": False,
        "state": state,
        "state_code": document.state,
        "outcomes": outcomes,
        "reasons": reasons,
        "incoming_number": "",
        **_marks(request, document),
        "unread": False,
        "key": "",
    }


# -- the mailbox pages ----------------------------------------------------------------------
FILTERS = ("tab", "state", "sender", "doc_type", "date_from", "date_to", "overdue", "unread", "q", "sort")


def _date_param(value):
    try:
        return date.fromisoformat((value or "").strip()[:10]).isoformat()
    except ValueError:
        return ""


def _page_number(value):
    try:
        return max(1, min(int(value), 10000))
    except (TypeError, ValueError):
        return 1


def read_filters(request, personal):
    params = request.params
    tab = params.get("tab", mailboxes.INBOX)
    if personal:
        tab = mailboxes.PERSONAL
    elif tab not in TAB_TITLES:
        tab = mailboxes.INBOX
    if tab in (mailboxes.INBOX, mailboxes.PERSONAL):
        states = [s for s in STATUS_CODES]
    elif tab == mailboxes.DRAFTS:
        states = list(docs.EDITABLE)
    else:
        states = []
    state = params.get("state", "")
    doc_type = params.get("doc_type", "")
    sender = params.get("sender", "").strip()
    return {
        "tab": tab,
        "states": states,
        "state": state if state in states else "",
        "sender": sender if sender in request.site["directory"] else "",
        "doc_type": doc_type if doctypes.get(doc_type) is not None else "",
        "date_from": _date_param(params.get("date_from")),
        "date_to": _date_param(params.get("date_to")),
        "overdue": params.get("overdue") == "1",
        "unread": params.get("unread") == "1",
        "q": params.get("q", "").strip()[:200],
        "sort": params.get("sort") if params.get("sort") in mailboxes.SORTS else "date",
        "page": _page_number(params.get("page")),
    }


def _listing(request, box, f, page_number, size):
    """(total, the page's deliveries or documents) of ``box`` as the filters ``f`` select them."""
    personal = bool(box.owner_login)
    key = mailboxes.box_key(f["tab"], box.owner_login if personal else box.__parent__.code)
    return mailboxes.listing(
        request.site,
        request.env,
        [key],
        state=f["state"],
        sender=f["sender"],
        doc_type=f["doc_type"],
        date_from=f["date_from"],
        date_to=f["date_to"],
        overdue=f["overdue"],
        unread=True if f["unread"] else None,
        text=f["q"],
        sort=f["sort"],
        page=page_number,
        size=size,
    )


#: the most rows an exported list holds (a wider choice: narrow the filters)
EXPORT_ROWS = 5000
EXPORT_PAGE = 200  # the listing's largest page
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@view_config(context=Mailbox, name="export.xlsx", permission=sec.READ_MAILBOX, request_method="GET")
def mailbox_xlsx(request):
    """The list as the page shows it, with its filters and sort, as an Excel workbook (every
    page, up to ``EXPORT_ROWS``); audited as an export."""
    from ..xlsxfile import xlsx_bytes

    box = request.context
    f = read_filters(request, bool(box.owner_login))
    found, number = [], 1
    try:
        while len(found) < EXPORT_ROWS:
            total, chunk = _listing(request, box, f, number, EXPORT_PAGE)
            found += chunk
            if not chunk or len(found) >= total:
                break
            number += 1
    except ServiceError as exc:
        raise HTTPBadRequest(refused(request, exc)) from None
    found = found[:EXPORT_ROWS]
    today = request.env.today().isoformat()
    rows = [row_of(request, request.site, obj, today) for obj in found]
    incoming = f["tab"] in (mailboxes.INBOX, mailboxes.PERSONAL)
    names = (
        ([_("Incoming number")] if incoming else [])
        + [_("Number and notation"), _("Priority"), _("Subject")]
        + [_("Sender") if incoming else _("Recipients"), _("Date"), _("Deadline"), _("State")]
    )
    header = [translate(request, n) for n in names]
    table = [
        ([r["incoming_number"]] if incoming else [])
        + [r["notation"], r["priority"], r["subject"], r["who"], r["date"], r["due"], _state_text(r)]
        for r in rows
    ]
    title = translate(request, TAB_TITLES.get(f["tab"], TAB_TITLES[mailboxes.INBOX]))
    where = request.path.rsplit("/", 1)[0]
    audit.record(request.site, request.actor, "mailbox.export", where, format="xlsx", rows=len(table))
    response = Response(body=xlsx_bytes(title, header, table), content_type=XLSX_TYPE)
    owner = box.__parent__
    name = box.owner_login if box.owner_login else owner.code
    response.content_disposition = f'attachment; filename="mailbox-{name}-{f["tab"]}.xlsx"'
    response.cache_control = "private, no-store"
    return response


def _state_text(row):
    """A row's state as one text: the state, then the recipients' outcomes (the outbox)."""
    return "; ".join([row["state"], *(o["text"] for o in row["outcomes"])])


@view_config(context=Mailbox, renderer="mailbox.pt", permission=sec.READ_MAILBOX, request_method="GET")
def mailbox_page(request):
    """A unit's inbox/outbox/drafts, or a person's mailbox: filtered, sorted and paged."""
    site = request.site
    box = request.context
    owner = box.__parent__
    personal = bool(box.owner_login)
    audit.record(site, request.actor, "mailbox.view", request.path)
    f = read_filters(request, personal)
    error = None
    try:
        total, found = _listing(request, box, f, f["page"], PAGE_SIZE)
    except ServiceError as exc:
        error, total, found = refused(request, exc), 0, []
    today = request.env.today().isoformat()
    rows = [row_of(request, site, obj, today) for obj in found]
    last_page = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    base_url = request.application_url + request.path

    def url_with(**changes):
        values = {
            k: ("1" if v is True else v) for k, v in f.items() if k in FILTERS and v not in ("", False, None)
        }
        values.update(changes)
        if personal:
            values.pop("tab", None)
        return base_url + "?" + urlencode({k: v for k, v in values.items() if v not in ("", None)})

    counts = {}
    if not personal:
        env = request.env
        inbox = [mailboxes.box_key(mailboxes.INBOX, owner.code)]
        counts = {
            "unread": mailboxes.listing(site, env, inbox, unread=True, size=1)[0],
            "overdue": mailboxes.overdue_count(site, env, inbox),
        }
    title = (
        translate(request, _("Personal mailbox of ${name}"), name=owner.fullname)
        if personal
        else translate(request, _("Mailbox of ${name}"), name=box.title)
    )
    can = {
        "compose": not personal and bool(request.has_permission(sec.DRAFT, box)),
        "paper": not personal and bool(request.has_permission(sec.REGISTER, box)),
        "registers": not personal and bool(request.has_permission(sec.READ_MAILBOX, owner["registers"])),
    }
    return page(
        request,
        title,
        mode="box",
        q=f["q"],
        box=box,
        owner=owner,
        personal=personal,
        rows=rows,
        entries=rows,
        total=total,
        f=f,
        error=error,
        counts=counts,
        can=can,
        tabs=[
            {
                "key": k,
                "title": translate(request, t),
                "url": base_url + "?tab=" + k,
                "current": k == f["tab"],
            }
            for k, t in TAB_TITLES.items()
        ],
        state_titles={
            s: (doc_state_title(request, s) if s in DOC_STATE_TITLES else state_title(request, s))
            for s in f["states"]
        },
        senders=_senders(request, f),
        types=doctypes.TYPES,
        sorts={k: translate(request, v) for k, v in SORT_TITLES.items()},
        page_number=min(f["page"], last_page),
        last_page=last_page,
        newer_url=url_with(page=f["page"] - 1) if f["page"] > 1 else None,
        older_url=url_with(page=f["page"] + 1) if f["page"] < last_page else None,
        who_title=translate(
            request, _("Recipients") if f["tab"] in (mailboxes.OUTBOX, mailboxes.DRAFTS) else _("Sender")
        ),
        incoming_column=f["tab"] in (mailboxes.INBOX, mailboxes.PERSONAL),
        export_url=url_with().replace(base_url, base_url.rstrip("/") + "/export.xlsx", 1),
    )


@view_config(context=Site, name="search", renderer="mailbox.pt", permission=sec.VIEW, request_method="GET")
def search(request):
    """Full-text search over the person's readable mailboxes; accents and case do not matter."""
    site = request.site
    q = request.params.get("q", "").strip()[:200]
    number = _page_number(request.params.get("page"))
    total, found, error = 0, [], None
    if q:
        boxes = readable_boxes(request) if is_person(request) else []
        try:
            total, found = mailboxes.search(site, request.env, boxes, q, page=number, size=PAGE_SIZE)
        except ServiceError as exc:
            error = refused(request, exc)
        audit.record(site, request.actor, "mailbox.search", "/search", results=total)
    today = request.env.today().isoformat()
    last_page = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    base = request.application_url + "/search?"
    return page(
        request,
        translate(request, _("Search documents")),
        mode="search",
        q=q,
        total=total,
        error=error,
        who_title=translate(request, _("Sender or recipients")),
        incoming_column=False,
        rows=[row_of(request, site, obj, today) for obj in found],
        newer_url=base + urlencode({"q": q, "page": number - 1}) if number > 1 else None,
        older_url=base + urlencode({"q": q, "page": number + 1}) if number < last_page else None,
        page_number=min(number, last_page),
        last_page=last_page,
    )


def _senders(request, f):
    """The senders the filter offers: this hub's units, and the one chosen (an agency of the
    national directory, followed from a document) — never the 100,000 agencies."""
    units = hub_units(request)
    chosen = request.site["directory"].get(f.get("sender") or "")
    if chosen is not None and chosen not in units:
        units.append(chosen)
    return units
