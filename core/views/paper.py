"""Paper receipt check (R9.2): ``/directory/<code>/mailbox/paper``.

A clerk enters what is written on a paper document; ``services.paper.check`` decides:
(a) the electronic message is in the inbox and is registered, (b) the sender is not on
the hub and the paper is registered, (c) the sender is on the hub, so the paper is
refused, the sender told and an incident opened. The outcome is shown after a redirect
(kept in the session), so reloading the page never registers twice.
"""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..i18n import _, translate
from ..resources.mailbox import Mailbox
from ..resources.registers import INCOMING
from ..services import paper, registers as registers_service
from .base import field_errors, hub_units, page
from .mailboxes import document_url
from .registers import duplicate_warning

FIELDS = ("sender", "sender_name", "notation", "promulgation_date", "subject")
OUTCOME_KEY = "lienthong.paper_outcome"


def _page(request, form=None, errors=None, outcome=None):
    unit = request.context.__parent__
    senders = hub_units(request, exclude=(unit.code,))  # a sender from elsewhere: by its name
    return page(
        request,
        translate(request, _("Paper receipt check")),
        unit=unit,
        senders=senders,
        form=form or {name: "" for name in FIELDS},
        errors=errors or {},
        outcome=outcome,
    )


@view_config(
    context=Mailbox, name="paper", renderer="paper.pt", permission=sec.REGISTER, request_method="GET"
)
def paper_form(request):
    outcome = request.session.pop(OUTCOME_KEY, None)
    return _page(request, outcome=outcome)


def _outcome(request, kind, details):
    """What to show: plain values only (it waits in the session for the next page)."""
    shown = {"kind": kind}
    if kind in (paper.FOUND_AND_REGISTERED, paper.ALREADY_REGISTERED):
        document = details["document"]
        delivery = details["delivery"]
        shown.update(
            url=document_url(request, document),
            notation=document.notation,
            subject=document.title,
            number=f"{delivery.register_number}/{delivery.register_year}" if delivery.register_number else "",
        )
        if kind == paper.FOUND_AND_REGISTERED:
            unit = request.context.__parent__
            found = registers_service.duplicates(
                unit, INCOMING, delivery.register_year, delivery.register_number
            )
            shown["duplicates"] = duplicate_warning(request, found) or ""
    elif kind == paper.PAPER_REGISTERED:
        shown.update(
            number=f"{details['register_number']}/{details['register_year']}",
            url=f"{request.application_url}/directory/{request.context.__parent__.code}/registers/"
            f"{details['register_year']}-in",
            duplicates=duplicate_warning(request, details.get("duplicates")) or "",
        )
    else:
        sender = details["sender"]
        shown.update(
            sender=sender.name, incident=details["incident"], notified=", ".join(details["notified"])
        )
    return shown


@view_config(
    context=Mailbox, name="paper", renderer="paper.pt", permission=sec.REGISTER, request_method="POST"
)
def paper_post(request):
    post = request.POST
    form = {name: (post.get(name) or "").strip() for name in FIELDS}
    scan = post.get("scan")
    scan = (scan.filename, scan.file) if hasattr(scan, "file") and getattr(scan, "filename", "") else None
    site = request.site
    unit = request.context.__parent__
    try:
        kind, details = paper.check(
            site,
            request.env,
            request.actor,
            unit,
            sender_code=form["sender"],
            notation=form["notation"],
            promulgation_date=form["promulgation_date"],
            sender_name=form["sender_name"],
            subject=form["subject"],
            scan=scan,
        )
    except ServiceError as exc:
        request.response.status = exc.status
        return _page(request, form=form, errors=field_errors(request, exc))
    request.session[OUTCOME_KEY] = _outcome(request, kind, details)
    return HTTPSeeOther(request.application_url + request.path)
