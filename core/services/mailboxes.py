"""Listing mailboxes and searching documents through the catalog (R8.1).

A unit's inbox holds its deliveries, its outbox its issued documents, its drafts the
documents being written; a person's mailbox holds the deliveries addressed to them. The
caller says which boxes the user may read (``readable_boxes``), so a search never
reaches a document outside them.
"""

from ..errors import ServiceError, iso_date
from ..i18n import _
from . import indexing

INBOX, OUTBOX, DRAFTS, PERSONAL = "in", "out", "draft", "personal"
BOX_KINDS = (INBOX, OUTBOX, DRAFTS, PERSONAL)
SORTS = ("date", "due")
MAX_PAGE_SIZE = 200


def box_key(kind, owner):
    return f"{kind}:{owner}"


def readable_boxes(site, user, can_read_unit_mailbox):
    """The catalog boxes ``user`` may read: their units' boxes (where allowed) and their own mailbox.

    ``can_read_unit_mailbox(unit)`` is the caller's permission check on a unit's mailbox.
    """
    boxes = []
    login = getattr(user, "login", None)
    codes = [getattr(user, "unit_code", None)] + list(getattr(user, "extra_units", ()) or ())
    for code in codes:
        unit = site["directory"].get(code or "")
        if unit is not None and can_read_unit_mailbox(unit):
            boxes += [box_key(INBOX, code), box_key(OUTBOX, code), box_key(DRAFTS, code)]
    if login and not login.startswith("system:"):
        boxes.append(box_key(PERSONAL, login))
    return boxes


resolve_key = indexing.resolve_key


def _page_args(page, size):
    try:
        page, size = max(1, int(page or 1)), int(size or 20)
    except (TypeError, ValueError):
        raise ServiceError(_("Page and page size are whole numbers."), field="page")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ServiceError(_("The page size is between 1 and ${max}."), field="size", max=MAX_PAGE_SIZE)
    return page, size


def listing(
    site,
    env,
    boxes,
    state=None,
    sender=None,
    doc_type=None,
    date_from=None,
    date_to=None,
    overdue=False,
    unread=None,
    text=None,
    sort="date",
    page=1,
    size=20,
):
    """``(total, [Document or Delivery])`` of ``boxes``, filtered, newest first (or by deadline)."""
    if not boxes:
        return 0, []
    if sort not in SORTS:
        raise ServiceError(_("Unknown sort ${sort}."), field="sort", sort=str(sort)[:20])
    page, size = _page_args(page, size)
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        iso_date(str(value)[:10] if value else "", name)
    total, keys = indexing.searchable(site).query(
        boxes,
        state=state or None,
        sender=sender or None,
        doc_type=doc_type or None,
        date_from=date_from or None,
        date_to=date_to or None,
        overdue_on=env.today().isoformat() if overdue else None,
        unread=unread,
        text=text or None,
        sort=sort,
        reverse=(sort == "date"),
        offset=(page - 1) * size,
        limit=size,
    )
    rows = [obj for obj in (resolve_key(site, k) for k in keys) if obj is not None]
    return total, rows


def search(site, env, boxes, text, page=1, size=20, **filters):
    """Full-text search over ``boxes``: every word must occur, accents and case ignored."""
    if not (text or "").strip():
        return 0, []
    return listing(site, env, boxes, text=text, page=page, size=size, **filters)


def overdue_count(site, env, boxes):
    total, _rows = listing(site, env, boxes, overdue=True, size=1)
    return total
