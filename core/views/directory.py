"""The public address book (/directory) and unit pages (/directory/<code>).

Reading the directory needs no login (the address book is public); a unit page shows
only public fields. The mailbox pages are in ``mailboxes.py``.
"""

from urllib.parse import urlencode

from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from .. import permissions as sec
from ..i18n import _, translate
from ..resources import directory as d
from ..resources.directory import Directory, Organization
from ..security import SystemIdentity
from ..services import directory as directory_service
from .base import page

PAGE_SIZE = 50
TREE_LIMIT = 500  # matches shown whole on the tree view; beyond, the page's

KIND_TITLES = {
    "operator": _("Hub operator"),
    "province": _("Province"),
    "department": _("Department"),
    "district": _("District"),
    "agency": _("Agency"),
    "commune": _("Commune"),
    "other": _("Other"),
}
STATE_TITLES = {
    d.NOT_CONNECTED: _("Not connected"),
    d.PILOT: _("Pilot"),
    d.OFFICIAL: _("Official"),
}
STATUS_TITLES = {
    d.ACTIVE: _("Active"),
    d.MERGED: _("Merged into"),
    d.SPLIT: _("Split into"),
    d.DISSOLVED: _("Dissolved"),
}


def titles(request, table):
    """``table`` (value -> msgid) translated for the request."""
    return {key: translate(request, msgid) for key, msgid in table.items()}


def day(value):
    """An ISO date (or the date part of an ISO time) as dd/mm/yyyy, as Vietnamese readers write it."""
    text = value.isoformat() if hasattr(value, "isoformat") else (value or "")
    parts = text[:10].split("-")
    return "/".join(reversed(parts)) if len(parts) == 3 else text


def is_person(request):
    user = request.identity
    return user is not None and not isinstance(user, SystemIdentity)


def _int(value, default=1):
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return default


def build_tree(site, units):
    """Nested ``{"unit", "match", "children"}`` nodes for ``units`` and the chain above each.

    Units found by a search keep their parents on the tree (marked ``match=False``) so
    the reader sees where each one sits; a unit whose parent is not in the directory
    becomes a root.
    """
    wanted = {u.code: u for u in units}
    shown = dict(wanted)
    for unit in units:
        for parent in directory_service.ancestors(site, unit):
            shown.setdefault(parent.code, parent)
    nodes = {code: {"unit": u, "match": code in wanted, "children": []} for code, u in shown.items()}
    roots = []
    for code in sorted(nodes):
        node = nodes[code]
        parent = nodes.get(node["unit"].parent_code or "")
        if parent is not None and parent is not node:
            parent["children"].append(node)
        else:
            roots.append(node)
    return roots


@view_config(
    context=Directory, renderer="directory.pt", permission=NO_PERMISSION_REQUIRED, request_method="GET"
)
def address_book(request):
    site = request.site
    params = request.params
    query = params.get("q", "").strip()[:200]
    kind = params.get("kind", "")
    kind = kind if kind in d.KINDS else ""
    state = params.get("state", "")
    state = state if state in d.CONNECTION_STATES else ""
    include_inactive = params.get("include_inactive") == "1"
    mode = "tree" if params.get("view") == "tree" else "list"
    criteria = dict(kind=kind or None, state=state or None, include_inactive=include_inactive)
    page_number = _int(params.get("page"))
    total, shown = directory_service.find(
        site, query, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **criteria
    )
    last_page = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    if page_number > last_page:
        page_number = last_page
        total, shown = directory_service.find(
            site, query, offset=(page_number - 1) * PAGE_SIZE, limit=PAGE_SIZE, **criteria
        )
    tree_units = shown
    if mode == "tree" and total <= TREE_LIMIT:  # every match with the units above it, while readable
        tree_units = directory_service.find(site, query, limit=TREE_LIMIT, **criteria)[1]

    def page_url(number):
        values = {"q": query, "kind": kind, "state": state, "page": number}
        if include_inactive:
            values["include_inactive"] = "1"
        return request.application_url + "/directory?" + urlencode(values)

    overdue = []
    if is_person(request):
        overdue = sorted(directory_service.pilot_overdue(site, request.env.today()), key=lambda u: u.code)
    base = {"q": query, "kind": kind, "state": state}
    if include_inactive:
        base["include_inactive"] = "1"
    return page(
        request,
        translate(request, _("Directory of units")),
        query=query,
        kind=kind,
        state=state,
        include_inactive=include_inactive,
        mode=mode,
        units=shown,
        total=total,
        tree=build_tree(site, tree_units) if mode == "tree" else [],
        list_url=request.application_url + "/directory?" + urlencode(base),
        tree_url=request.application_url + "/directory?" + urlencode({**base, "view": "tree"}),
        newer_url=page_url(page_number - 1) if page_number > 1 else None,
        older_url=page_url(page_number + 1) if page_number < last_page else None,
        page_number=page_number,
        last_page=last_page,
        overdue=overdue,
        pilot_end=directory_service.pilot_end,
        day=day,
        kinds=d.KINDS,
        states=d.CONNECTION_STATES,
        kind_titles=titles(request, KIND_TITLES),
        state_titles=titles(request, STATE_TITLES),
        status_titles=titles(request, STATUS_TITLES),
        directory=site["directory"],
    )


@view_config(
    context=Organization, renderer="unit.pt", permission=NO_PERMISSION_REQUIRED, request_method="GET"
)
def unit_page(request):
    site = request.site
    unit = request.context
    directory = site["directory"]
    end = directory_service.pilot_end(unit)
    return page(
        request,
        unit.name,
        unit=unit,
        ancestors=list(reversed(directory_service.ancestors(site, unit))),
        children=sorted(directory_service.children(site, unit.code), key=lambda u: u.code),
        successors=[directory.get(c) for c in unit.successors if directory.get(c) is not None],
        predecessors=[directory.get(c) for c in unit.predecessors if directory.get(c) is not None],
        receiver=directory_service.resolve(site, unit.code) if not unit.is_active() else None,
        pilot_end=end,
        pilot_over=bool(end and end <= request.env.today()),
        day=day,
        can_manage_unit=bool(request.has_permission(sec.MANAGE_UNIT, unit)),
        can_read_mailbox=bool(request.has_permission(sec.READ_MAILBOX, unit["mailbox"])),
        kind_titles=titles(request, KIND_TITLES),
        state_titles=titles(request, STATE_TITLES),
        status_titles=titles(request, STATUS_TITLES),
    )


def includeme(config):
    """The directory is reached by traversal (/directory/<code>); no routes to add."""
