"""The language switch: remembers the choice in a cookie."""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..i18n import COOKIE, LANGUAGES
from .auth import safe_came_from


@view_config(route_name="language", permission=NO_PERMISSION_REQUIRED, request_method="GET")
def set_language(request):
    lang = request.params.get("lang")
    response = HTTPSeeOther(safe_came_from(request, request.params.get("came_from")))
    if lang in LANGUAGES:
        response.set_cookie(COOKIE, lang, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
