"""My notices (issue 17): the list, marking them read or unread, and which ones I want, and how.

Every route acts on the logged-in user's own ``User`` (``self_factory``), so the User's ACL
decides with ``EDIT_SELF``. The rule of who is told what is ``services/notices.py``; a notice
is translated here, when shown, in the reader's language. Posts are CSRF-checked like every
form of the pages (``require_csrf``).
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..factories import self_factory
from ..i18n import _, translate
from ..services import notices as service
from .base import local_time, page

PAGE_SIZE = 50


def notice_rows(request, rows):
    return [
        {
            "key": key,
            "kind": notice.kind,
            "when": local_time(request, notice.time),
            "time": notice.time,
            "text": service.text_of(request.localizer, notice),
            "link": notice.link,
            "read": notice.read,
        }
        for key, notice in rows
    ]


def _page_number(request):
    try:
        return max(1, int(request.GET.get("page", "1")))
    except ValueError:
        return 1


@view_config(route_name="notices", renderer="notices.pt", permission=sec.EDIT_SELF, request_method="GET")
def notices(request):
    unread_only = request.GET.get("unread") == "1"
    number = _page_number(request)
    total, rows = service.listing(
        request.context, unread_only=unread_only, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE
    )
    return page(
        request,
        translate(request, _("Notices")),
        notices=notice_rows(request, rows),
        unread_only=unread_only,
        newer_url=_page_url(request, number - 1, unread_only) if number > 1 else None,
        older_url=_page_url(request, number + 1, unread_only) if total > number * PAGE_SIZE else None,
        total=total,
    )


def _page_url(request, number, unread_only):
    query = {"page": str(number), **({"unread": "1"} if unread_only else {})}
    return request.route_url("notices", _query=query)


@view_config(route_name="notices", permission=sec.EDIT_SELF, request_method="POST")
def notices_mark(request):
    """Mark one notice (``key``; ``read=0``: unread again) or, without a key, all of them read."""
    user = request.context
    key = request.POST.get("key")
    if key is None:
        service.mark_all_read(user)
    else:
        service.mark_read(user, key, read=request.POST.get("read", "1") != "0")
    return HTTPSeeOther(request.route_url("notices"))


def _settings_page(request):
    prefs = service.preferences(request.context)
    kinds = [
        {"kind": kind, "title": translate(request, title), "wanted": kind not in prefs["muted"]}
        for kind, title in service.KINDS.items()
    ]
    return page(
        request,
        translate(request, _("Notice settings")),
        kinds=kinds,
        email=prefs["email"],
        address=request.context.email or "",
    )


@view_config(
    route_name="notice_settings",
    renderer="notice_settings.pt",
    permission=sec.EDIT_SELF,
    request_method="GET",
)
def notice_settings(request):
    return _settings_page(request)


@view_config(route_name="notice_settings", permission=sec.EDIT_SELF, request_method="POST")
def notice_settings_save(request):
    changed = service.set_preferences(
        request.site,
        request.actor,
        request.context,
        request.POST.getall("kind"),
        request.POST.get("email") == "1",
    )
    request.session.flash(
        translate(request, _("Your notice settings were saved."))
        if changed
        else translate(request, _("Nothing was changed."))
    )
    return HTTPSeeOther(request.route_url("notice_settings"))


def includeme(config):
    config.add_route("notices", "/notices", factory=self_factory)
    config.add_route("notice_settings", "/notices/settings", factory=self_factory)
