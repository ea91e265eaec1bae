"""Error pages: a clear message in the user's language, the right status, never a traceback.

Paths under /api/ and /edxml/ get RFC 9457 problem details in JSON instead of a page.
"""
import logging

from pyramid.csrf import get_csrf_token
from pyramid.exceptions import BadCSRFToken
from pyramid.httpexceptions import HTTPException, HTTPSeeOther
from pyramid.renderers import render_to_response
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from ..i18n import LANGUAGES
from .base import translate

log = logging.getLogger(__name__)

API_PREFIXES = ("/api/", "/edxml/")


def wants_problem_json(request):
    return request.path.startswith(API_PREFIXES) or (
        request.accept.best_match(["text/html", "application/json"]) == "application/json"
        and "text/html" not in (request.headers.get("Accept") or ""))


def problem(request, status, title, detail):
    import json
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail,
                       "instance": request.path}, ensure_ascii=False)
    return Response(body=body, status=status, content_type="application/problem+json", charset="utf-8")


def error_page(request, status, title, detail):
    if wants_problem_json(request):
        return problem(request, status, title, detail)
    try:
        user = request.identity
    except Exception:  # the database itself may be what failed
        user = None
    values = {
        "page_title": title, "title": title, "detail": detail, "status": status, "user": user,
        "can_manage": False, "can_audit": False, "languages": LANGUAGES,
        "current_language": request.locale_name, "flash": [], "app_url": request.application_url,
        "csrf_token": get_csrf_token(request),
    }
    response = render_to_response("error.pt", values, request=request)
    response.status = status
    return response


@notfound_view_config()
def not_found(exc, request):
    return error_page(request, 404, translate(request, "Page not found"),
                      translate(request, "The address you asked for does not exist on this site."))


@forbidden_view_config()
def forbidden(exc, request):
    if request.identity is None and not wants_problem_json(request):
        return HTTPSeeOther(request.application_url + "/login?came_from=" + request.path_qs.replace("&", "%26"))
    if request.identity is None:
        return problem(request, 401, translate(request, "Authentication required"),
                       translate(request, "Log in or present a valid token."))
    return error_page(request, 403, translate(request, "Access denied"),
                      translate(request, "You do not have permission to see this page."))


@exception_view_config(BadCSRFToken)
def bad_csrf(exc, request):
    return error_page(request, 400, translate(request, "The form has expired"),
                      translate(request, "The form was not submitted from this site or your session "
                                         "has expired. Reload the page and try again."))


@exception_view_config(HTTPException)
def http_exception(exc, request):
    if exc.status_int < 400:
        return exc
    return error_page(request, exc.status_int, exc.title, exc.detail or exc.explanation)


@exception_view_config(Exception)
def server_error(exc, request):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_page(request, 500, translate(request, "Something went wrong"),
                      translate(request, "The error has been logged. Please try again later."))
