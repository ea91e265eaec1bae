"""Error pages: a clear message in the user's language, the right status, never a traceback.

Paths under /api/ and /edxml/ get RFC 9457 problem details in JSON instead of a page.
"""

import logging
from urllib.parse import urlencode

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPException, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config
from transaction.interfaces import TransientError

from .. import permissions as sec
from ..errors import ServiceError
from ..i18n import LANGUAGES, _, translate, translate_message
from ..problems import GENERIC_SERVER_ERROR, problem, record_refused_access, status_texts, wants_problem_json
from ..security import SystemIdentity

log = logging.getLogger(__name__)


# Last resort when even the error template fails: plain Vietnamese, no template, no database.
FALLBACK_BODY = (
    "Đã xảy ra lỗi. Lỗi đã được ghi nhận. Vui lòng thử lại sau.\n"
    "Something went wrong. The error has been logged; please try again later.\n"
)


def error_page(request, status, title, detail, field=None):
    """The error page (or problem+json); ``field``: the form field at fault, shown as a technical
    detail under the message, which does not name it."""
    if wants_problem_json(request):
        return problem(request, status, title, detail, **({"field": field} if field else {}))
    try:
        user = request.identity
    except Exception:  # the database itself may be what failed
        user = None
    values = {
        "page_title": title,
        "title": title,
        "detail": detail,
        "field": field or "",
        "status": status,
        "user": user,
        "can_manage": False,
        "can_audit": False,
        "languages": LANGUAGES,
        "acting_for": None,
        "unread_notices": 0,
        "current_language": request.locale_name,
        "flash": [],
        "app_url": request.application_url,
        # only the logout button needs it: an anonymous error page must not start a session
        "csrf_token": get_csrf_token(request) if user is not None else "",
    }
    try:
        response = render_to_response("error.pt", values, request=request)
    except Exception:
        log.exception("the error page itself failed for %s %s", request.method, request.path)
        response = Response(body=FALLBACK_BODY, content_type="text/plain", charset="utf-8")
    response.status = status
    return response


@notfound_view_config()
def not_found(exc, request):
    return error_page(request, 404, *status_texts(request, 404))


def login_url(request):
    return request.application_url + "/login?" + urlencode({"came_from": request.path_qs})


@forbidden_view_config()
def forbidden(exc, request):
    if request.identity is None and not wants_problem_json(request):
        return HTTPSeeOther(login_url(request))
    if request.identity is None:
        response = problem(
            request,
            401,
            translate(request, _("Authentication required")),
            translate(request, _("Log in or present a valid token.")),
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="lienthong"'
        return response
    record_refusal(exc, request)
    foreign = _foreign_unit(request)
    if foreign is not None and wants_problem_json(request):
        return problem(
            request,
            403,
            status_texts(request, 403)[0],
            translate(
                request,
                _("This token belongs to unit ${own}; it cannot act on unit ${other}."),
                own=request.identity.unit_code,
                other=foreign,
            ),
            field="Authorization",
        )
    return error_page(request, 403, *status_texts(request, 403))


def _foreign_unit(request):
    """The unit a unit's token was refused on, when it is not the token's own unit."""
    if not isinstance(request.identity, SystemIdentity):
        return None
    unit = sec.unit_of(request.context) if getattr(request, "context", None) is not None else None
    if unit is not None and unit.code != request.identity.unit_code:
        return unit.code
    return None


def record_refusal(exc, request):
    """Put a refused access on the record (R12)."""
    record_refused_access(request, permission=getattr(getattr(exc, "result", None), "permission", None))


@exception_view_config(BadCSRFToken)
def bad_csrf(exc, request):
    return error_page(
        request,
        400,
        translate(request, _("The form has expired")),
        translate(
            request,
            _(
                "The form was not submitted from this site or your session "
                "has expired. Reload the page and try again."
            ),
        ),
    )


@exception_view_config(HTTPException)
def http_exception(exc, request):
    if exc.status_int < 400:
        return exc
    title, explanation = status_texts(request, exc.status_int)
    # ``detail`` is what the code that raised the error chose to say; the class's generic
    # English explanation is replaced by a translated one.
    return error_page(request, exc.status_int, title, exc.detail or explanation)


@exception_view_config(ServiceError)
def service_error(exc, request):
    """A rule refused the request: its message, the field at fault, and nothing saved
    (the transaction of a request that ends in an exception is aborted)."""
    title, _explanation = status_texts(request, exc.status)
    detail = translate_message(request.localizer, exc.message)
    if exc.status == 403 and not getattr(
        exc, "recorded", False
    ):  # on the record like any refused access (R12)
        record_refused_access(request, reason=exc.text(), field=exc.field)
    return error_page(request, exc.status, title, detail, field=exc.field)


@exception_view_config(TransientError)
def busy(exc, request):
    """Conflicts that outlasted every retry: the system is busy, nothing was saved."""
    log.warning(
        "gave up after %s attempts on %s %s: %s",
        request.environ.get("retry.attempts"),
        request.method,
        request.path,
        exc,
    )
    response = error_page(
        request,
        503,
        translate(request, _("The system is busy")),
        translate(
            request,
            _("Many people changed the same data at once and your request was not saved. Please try again."),
        ),
    )
    response.headers["Retry-After"] = "2"
    return response


@exception_view_config(Exception)
def server_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path)
    title, detail = GENERIC_SERVER_ERROR
    return error_page(request, 500, translate(request, title), translate(request, detail))
