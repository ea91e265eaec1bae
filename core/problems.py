"""How a refused or failed request is answered, for pages and the APIs alike.

RFC 9457 problem details (the APIs' errors, ``problem``), the translated title and
explanation of each status (``status_texts``), and the record of a refused access in the
audit log (``record_refused_access``). The error views (``core/views/errors.py``) and the
API's own refusals (``core/api``) both use them.
"""

import json
import logging

from pyramid.response import Response

from .db import get_database
from .i18n import _, translate
from .services import audit

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/edxml/")


# Status -> (title, explanation) for errors raised as HTTP exceptions without a page of their own.
STATUS_TEXTS = {
    400: (_("Bad request"), _("The request could not be understood. Check what you entered and try again.")),
    403: (_("Access denied"), _("You do not have permission to see this page.")),
    404: (_("Page not found"), _("The address you asked for does not exist on this site.")),
    405: (_("Method not allowed"), _("This address does not accept this kind of request.")),
    409: (
        _("Conflict"),
        _("The request conflicts with the current state of the item. Reload and try again."),
    ),
    410: (_("No longer available"), _("The item you asked for has been removed.")),
    413: (_("Too large"), _("What you sent is larger than this site accepts.")),
    415: (_("Unsupported format"), _("The format of what you sent is not accepted here.")),
    429: (
        _("Too many requests"),
        _("You sent too many requests in a short time. Wait a moment and try again."),
    ),
    503: (_("Service unavailable"), _("The service is temporarily unavailable. Please try again later.")),
}
GENERIC_CLIENT_ERROR = (
    _("The request could not be completed"),
    _("The request could not be completed. Check what you entered and try again."),
)
GENERIC_SERVER_ERROR = (_("Something went wrong"), _("The error has been logged. Please try again later."))


def wants_problem_json(request):
    """API paths, and clients that ask for JSON rather than HTML."""
    if request.path.startswith(API_PREFIXES):
        return True
    offers = request.accept.acceptable_offers(["text/html", "application/json"])
    return (
        bool(offers)
        and offers[0][0] == "application/json"
        and "text/html" not in (request.headers.get("Accept") or "")
    )


def problem(request, status, title, detail, **extra):
    """RFC 9457 problem details; ``extra`` adds members such as ``field``."""
    body = json.dumps(
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": request.path,
            **extra,
        },
        ensure_ascii=False,
    )
    return Response(body=body, status=status, content_type="application/problem+json", charset="utf-8")


def status_texts(request, status):
    title, detail = STATUS_TEXTS.get(status) or (
        GENERIC_SERVER_ERROR if status >= 500 else GENERIC_CLIENT_ERROR
    )
    return translate(request, title), translate(request, detail)


def record_refused_access(request, **details):
    """Audit ``access.denied`` for this request in a transaction of its own: the request's
    own transaction is aborted because it ends in an error."""
    try:
        audit.record_in_own_transaction(
            get_database(request.registry),
            request.actor,
            "access.denied",
            request.path,
            method=request.method,
            **details,
        )
    except Exception:  # the refusal is still answered; the failure to record it is logged
        log.exception("could not record a refused access to %s", request.path)
