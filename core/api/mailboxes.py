"""/api/v1 mailbox lists and search (R8.1): a unit's inbox and outbox, one's personal mailbox.

Lists come from the catalog through ``services/mailboxes``; the caller reaches only the
boxes whose mailbox grants it READ_MAILBOX (the route's context for a unit's box, and
``mailboxes.readable_boxes`` for a search), so a search never finds a document outside them.
"""

from datetime import date

from pyramid.httpexceptions import HTTPNotFound

from .. import permissions as sec
from ..factories import site_factory, unit_factory
from ..resources.documents import Delivery
from ..services import audit, mailboxes
from .common import is_person
from .document_schemas import DELIVERY_SCHEMA, DELIVERY_STATES, DOC_TYPES, DOCUMENT_STATES, DOCUMENT_SUMMARY
from .openapi import Operation, Param, add_api_route, add_schema
from .representations import delivery_json, document_summary

MAX_PAGE = 100_000

MAILBOX_ITEM = add_schema(
    "MailboxItem",
    {
        "type": "object",
        "description": "A document, and for an inbox or personal mailbox the delivery to its holder.",
        "properties": {
            "box": {"type": "string", "enum": list(mailboxes.BOX_KINDS)},
            "document": DOCUMENT_SUMMARY,
            "delivery": {"oneOf": [{"type": "null"}, DELIVERY_SCHEMA]},
        },
        "required": ["box", "document", "delivery"],
    },
)
MAILBOX_PAGE = add_schema(
    "MailboxPage",
    {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "size": {"type": "integer"},
            "items": {"type": "array", "items": MAILBOX_ITEM},
        },
        "required": ["total", "page", "size", "items"],
    },
)

PAGING = (
    Param("page", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}, "The page, from 1."),
    Param(
        "size",
        {"type": "integer", "minimum": 1, "maximum": mailboxes.MAX_PAGE_SIZE, "default": 20},
        "Items per page.",
    ),
)
FILTERS = (
    Param(
        "state",
        {"type": "string", "enum": [s for s in DELIVERY_STATES if s] + list(DOCUMENT_STATES)},
        "A delivery's edXML state (inbox) or the document's state (outbox).",
    ),
    Param("sender", {"type": "string", "maxLength": 20}, "The sending unit's code."),
    Param("doc_type", {"type": "string", "enum": DOC_TYPES}),
    Param(
        "date_from", {"type": "string", "format": "date"}, "Arrived (inbox) or issued (outbox) on or after."
    ),
    Param("date_to", {"type": "string", "format": "date"}, "… on or before."),
)
LIST_QUERY = (
    FILTERS
    + (
        Param(
            "overdue",
            {"type": "boolean", "default": False},
            "Only deliveries past their deadline and still open.",
        ),
        Param("unread", {"type": "boolean"}, "true: only unread; false: only read."),
        Param(
            "sort",
            {"type": "string", "enum": list(mailboxes.SORTS), "default": "date"},
            "date: newest first; due: earliest deadline first.",
        ),
    )
    + PAGING
)
SEARCH_QUERY = (
    (
        Param(
            "q",
            {"type": "string", "maxLength": 200},
            "Words to find in the subject, notation and content summary; accents and case ignored.",
        ),
        Param("box", {"type": "string", "enum": list(mailboxes.BOX_KINDS)}, "Only this kind of box."),
    )
    + FILTERS
    + PAGING
)


def unit_mailbox_factory(request):
    return unit_factory(request)["mailbox"]


def personal_mailbox_factory(request):
    """The caller's own mailbox; /documents (which grants nothing) for a unit's token."""
    identity = request.identity
    site = request.site
    if is_person(identity):
        user = site["users"].get(identity.login)
        if user is None:
            raise HTTPNotFound()
        return user["mailbox"]
    return site["documents"]


def _filters(query):
    found = {name: query.get(name) for name in ("state", "sender", "doc_type")}
    for name in ("date_from", "date_to"):  # the canonical form of whatever ISO form was accepted
        found[name] = date.fromisoformat(query[name]).isoformat() if query.get(name) else None
    return found


def item_json(request, row, today_iso):
    if isinstance(row, Delivery):
        box = mailboxes.PERSONAL if row.is_personal else mailboxes.INBOX
        return {
            "box": box,
            "document": document_summary(request, row.document),
            "delivery": delivery_json(request, row, today_iso, full=False),
        }
    box = mailboxes.OUTBOX if row.is_issued() else mailboxes.DRAFTS
    return {"box": box, "document": document_summary(request, row, with_states=True), "delivery": None}


def _page(request, query, found):
    total, rows = found
    today_iso = request.env.today().isoformat()
    return {
        "total": total,
        "page": query["page"],
        "size": query["size"],
        "items": [item_json(request, row, today_iso) for row in rows],
    }


def _listing(request, query, box):
    """A page of one mailbox; reading it is on the audit record, as on the web (R6.6)."""
    site, env = request.site, request.env
    found = mailboxes.listing(
        site,
        env,
        [box],
        overdue=query["overdue"],
        unread=query.get("unread"),
        sort=query["sort"],
        page=query["page"],
        size=query["size"],
        **_filters(query),
    )
    audit.record(site, request.actor, "mailbox.view", request.path, box=box, results=found[0])
    return _page(request, query, found)


def inbox(request, body, query):
    unit = request.context.__parent__
    return _listing(request, query, mailboxes.box_key(mailboxes.INBOX, unit.code))


def outbox(request, body, query):
    unit = request.context.__parent__
    return _listing(request, query, mailboxes.box_key(mailboxes.OUTBOX, unit.code))


def personal(request, body, query):
    return _listing(request, query, mailboxes.box_key(mailboxes.PERSONAL, request.identity.login))


def search(request, body, query):
    site, env = request.site, request.env
    boxes = mailboxes.readable_boxes(
        site, request.identity, lambda unit: request.has_permission(sec.READ_MAILBOX, unit["mailbox"])
    )
    if query.get("box"):
        boxes = [b for b in boxes if b.startswith(query["box"] + ":")]
    found = mailboxes.search(
        site, env, boxes, query.get("q", ""), page=query["page"], size=query["size"], **_filters(query)
    )
    audit.record(site, request.actor, "mailbox.search", request.path, results=found[0])
    return _page(request, query, found)


TAGS = ("mailboxes",)


def includeme(config):
    add_api_route(
        config,
        "api.organization.inbox",
        "/organizations/{code}/inbox",
        [
            Operation(
                "GET",
                inbox,
                sec.READ_MAILBOX,
                "A unit's inbox: the deliveries it received, filtered and paged.",
                query=LIST_QUERY,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={200: ("A page of deliveries.", MAILBOX_PAGE)},
            ),
        ],
        factory=unit_mailbox_factory,
    )
    add_api_route(
        config,
        "api.organization.outbox",
        "/organizations/{code}/outbox",
        [
            Operation(
                "GET",
                outbox,
                sec.READ_MAILBOX,
                "A unit's outbox: the documents it issued, filtered and paged.",
                query=LIST_QUERY,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={200: ("A page of documents.", MAILBOX_PAGE)},
            ),
        ],
        factory=unit_mailbox_factory,
    )
    add_api_route(
        config,
        "api.me.mailbox",
        "/me/mailbox",
        [
            Operation(
                "GET",
                personal,
                sec.READ_MAILBOX,
                "The caller's personal mailbox (people only).",
                query=LIST_QUERY,
                tags=TAGS,
                errors=(400, 403, 404),
                responses={200: ("A page of deliveries.", MAILBOX_PAGE)},
            ),
        ],
        factory=personal_mailbox_factory,
    )
    add_api_route(
        config,
        "api.search",
        "/search",
        [
            Operation(
                "GET",
                search,
                sec.VIEW,
                "Search the documents of the boxes the caller may read (a unit's token: its unit's).",
                query=SEARCH_QUERY,
                tags=TAGS,
                errors=(400,),
                responses={200: ("A page of matches, newest first.", MAILBOX_PAGE)},
            ),
        ],
        factory=site_factory,
    )
