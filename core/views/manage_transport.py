"""/manage/transport: the outbound queue per destination, the dead letters, what arrived
and was refused, and the connection tests of the adapters that offer one (R6.5). An alert at
the top lists the dead letters set aside at once (``Message.permanent``: a payload that
cannot be built, a refusal for good), until each is retried or discarded.

System admins only (the Transport container's ACL). Retry, discard and a connection test
are POST forms with the CSRF token, each audited (``transport.retry``/``.discard``/``.check``).
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.i18n import TranslationString
from pyramid.view import view_config

from .. import permissions as sec
from ..clock import parse_iso
from ..errors import ServiceError
from ..factories import container_factory
from ..i18n import _, translate
from ..plugins import transport_adapters
from ..services import audit, inbound, outbound
from ..transports import Adapter, TransportError
from .base import local_time, page, refused

DEAD_SHOWN = 500
REFUSALS_SHOWN = 50
LOST_SHOWN = 200


#: what a queued message carries, as the operator reads it
KIND_TITLES = {"document": _("document"), "status": _("status message")}

#: what went wrong with a message (``outbound.failure_of``), as the operator reads it; the
#: adapter's reason itself (English, as it came) is shown after it as a technical detail
FAILURE_TITLES = {
    outbound.TRANSIENT: _("Temporary failure: it will be tried again"),
    outbound.EXHAUSTED: _("It failed too many times: no more automatic attempts"),
    outbound.REFUSED: _("The receiving system refused it for good"),
    outbound.UNBUILDABLE: _("The message cannot be built from what is stored"),
    outbound.NO_ADAPTER: _(
        "No way to the destination: the unit is gone, has no adapter, or its adapter is not installed"
    ),
    "": _("Not delivered"),  # a dead letter from before the kind of failure was kept
}


def _document_title(site, name, fallback):
    """ "15/QĐ-UBND Trích yếu…" of the document ``name``; ``fallback`` when it is gone."""
    document = site["documents"].get(name)
    if document is None:
        return fallback
    return (document.notation + " " if document.notation else "") + document.title


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


def _failure(request, message):
    """The last error of ``message``: its kind in the viewer's language (``FAILURE_TITLES``) and
    the adapter's own words (``last_error``); None when it has not failed."""
    if not message.last_error:
        return None
    kind = outbound.failure_of(message)
    return {
        "kind": kind or "unknown",
        "title": translate(request, FAILURE_TITLES.get(kind, FAILURE_TITLES[""])),
        "detail": message.last_error,
    }


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
                "last_error": _failure(request, head),
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
                "permanent": message.permanent,
                "key": key,
                "code": message.recipient,
                "name": name,
                "adapter": message.adapter or adapter,
                "kind": translate(request, KIND_TITLES.get(message.kind, message.kind)),
                "document_id": message.document_id,
                "title": _document_title(site, message.document, message.document_id),
                "document": message.document,
                "status": message.extra.get("status", ""),
                "attempts": message.attempts,
                "dead_at": local_time(request, message.dead_at),
                "last_error": _failure(request, message),
            }
        )
    refusals = [
        {
            "time": local_time(request, e["time"]),
            "unit": e["target"].rsplit("/", 1)[-1],
            "via": e["details"].get("via") or e["details"].get("adapter") or "",
            "document_id": e["details"].get("document_id", ""),
            "reason": _reason(request, e["details"]),
        }
        for e in inbound.recent_refusals(site, REFUSALS_SHOWN)
    ]
    lost = []
    for flag in list((site["transport"].lost or {}).values())[:LOST_SHOWN]:
        name, _adapter = _unit(site, flag["recipient"])
        lost.append(
            {
                "time": local_time(request, flag["time"]),
                "document": flag["document"],
                "title": _document_title(site, flag["document"], flag["document"]),
                "code": flag["recipient"],
                "name": name,
                "via": flag["via"],
                "state": flag["state"],
                "description": flag["description"],
            }
        )
    return page(
        request,
        translate(request, _("Transport queue")),
        lost=lost,
        queues=queues,
        dead=dead,
        set_aside=[d for d in dead if d["permanent"]],  # the alert: what no retry can deliver as it is
        dead_total=len(letters),
        dead_shown=DEAD_SHOWN,
        refusals=refusals,
        checks=[
            {"name": name, "title": translate(request, a.title or name)}
            for name, a in sorted(_testable(request).items())
        ],
    )


def _reason(request, details):
    """A refusal's reason in the viewer's language when its message was kept, else as recorded."""
    if details.get("msgid"):
        message = TranslationString(
            details["msgid"], domain="lienthong", mapping=details.get("mapping") or None
        )
        return request.localizer.translate(message)
    return details.get("reason", "")


def _testable(request):
    """The adapters that offer a connection test (``Adapter.check_connection``)."""
    return {
        name: adapter
        for name, adapter in transport_adapters(request.registry).items()
        if type(adapter).check_connection is not Adapter.check_connection
    }


@view_config(route_name="manage_transport_check", permission=sec.MANAGE, request_method="POST")
def transport_check(request):
    """Test the connection of one adapter (the national axis: a signed call) and say what it answered."""
    name = request.POST.get("adapter", "")
    adapter = _testable(request).get(name)
    if adapter is None:
        request.session.flash(translate(request, _("No connection test named ${name}."), name=name[:40]))
        return HTTPSeeOther(request.route_url("manage_transport") + "#connections")
    try:
        answer = adapter.check_connection(request.env)
    except TransportError as exc:
        ok, text = False, translate(request, _("The connection test failed: ${reason}"), reason=exc.reason)
    else:
        ok, text = (
            True,
            translate(request, answer) if answer else translate(request, _("The connection works.")),
        )
    audit.record(
        request.site, request.actor, "transport.check", "/transport", adapter=name, ok=ok, answer=text[:500]
    )
    request.session.flash(text)
    return HTTPSeeOther(request.route_url("manage_transport") + "#connections")


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
    config.add_route("manage_transport_check", "/manage/transport/check", factory=factory)
