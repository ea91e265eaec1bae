"""/manage/transport: the outbound queue per destination and the dead letters (R6.5).

System admins only (the Transport container's ACL). Retry and discard are POST forms
with the CSRF token; both are audited by the service (``transport.retry``/``.discard``).
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..clock import parse_iso
from ..errors import ServiceError
from ..factories import container_factory
from ..i18n import _, translate
from ..services import outbound
from .base import local_time, page, refused

DEAD_SHOWN = 500


def _age(request, iso, now):
    try:
        seconds = max(0, int((now - parse_iso(iso)).total_seconds()))
    except (TypeError, ValueError):
        return ""
    if seconds < 120:
        return translate(request, _("${n} s"), n=seconds)
    if seconds < 7200:
        return translate(request, _("${n} min"), n=seconds // 60)
    if seconds < 172800:
        return translate(request, _("${n} h"), n=seconds // 3600)
    return translate(request, _("${n} days"), n=seconds // 86400)


def _unit(site, code):
    unit = site["directory"].get(code or "")
    return (unit.name, unit.adapter or "") if unit is not None else (code, "")


@view_config(
    route_name="manage_transport", renderer="manage_transport.pt", permission=sec.MANAGE, request_method="GET"
)
def transport_page(request):
    site = request.site
    now = request.env.now()
    queues = []
    for row in outbound.overview(site, now):
        head = row["head"]
        name, adapter = _unit(site, row["code"])
        queues.append(
            {
                "code": row["code"],
                "name": name,
                "adapter": adapter,
                "count": row["count"],
                "age": _age(request, row["oldest"], now),
                "oldest": local_time(request, row["oldest"]),
                "attempts": head.attempts,
                "last_error": head.last_error,
                "next_attempt": local_time(request, head.next_attempt) if head.attempts else "",
                "lease": row["lease_owner"] if row["leased"] else "",
            }
        )
    dead = []
    letters = outbound.dead_letters(site)
    for key, message in letters.items():
        if len(dead) >= DEAD_SHOWN:
            break
        name, adapter = _unit(site, message.recipient)
        dead.append(
            {
                "key": key,
                "code": message.recipient,
                "name": name,
                "adapter": message.adapter or adapter,
                "kind": message.kind,
                "document_id": message.document_id,
                "document": message.document,
                "status": message.extra.get("status", ""),
                "attempts": message.attempts,
                "dead_at": local_time(request, message.dead_at),
                "last_error": message.last_error,
            }
        )
    return page(
        request,
        translate(request, _("Transport queue")),
        queues=queues,
        dead=dead,
        dead_total=len(letters),
        dead_shown=DEAD_SHOWN,
    )


def _change(request, change, message):
    site = request.site
    key = request.POST.get("key", "")
    try:
        letter = change(site, request.actor, key)
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
    else:
        request.session.flash(
            translate(request, message, document_id=letter.document_id, code=letter.recipient)
        )
    return HTTPSeeOther(request.route_url("manage_transport") + "#dead")


@view_config(route_name="manage_transport_retry", permission=sec.MANAGE, request_method="POST")
def transport_retry(request):
    return _change(
        request, outbound.retry, _("The message about ${document_id} for ${code} is queued again.")
    )


@view_config(route_name="manage_transport_discard", permission=sec.MANAGE, request_method="POST")
def transport_discard(request):
    return _change(
        request, outbound.discard, _("The message about ${document_id} for ${code} was discarded.")
    )


def includeme(config):
    factory = container_factory("transport")
    config.add_route("manage_transport", "/manage/transport", factory=factory)
    config.add_route("manage_transport_retry", "/manage/transport/retry", factory=factory)
    config.add_route("manage_transport_discard", "/manage/transport/discard", factory=factory)
