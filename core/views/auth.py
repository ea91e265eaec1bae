"""Logging in and out."""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.security import NO_PERMISSION_REQUIRED, forget, remember
from pyramid.view import view_config

from ..app_objects import app_objects
from ..i18n import _, translate, translate_message
from ..resources.site import Site
from ..security import current_session_id
from ..services import accounts, audit, sessions
from .base import page


def safe_came_from(request, value):
    """Only paths on this site: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return request.application_url + value
    return request.application_url + "/"


@view_config(
    context=Site, name="login", renderer="login.pt", permission=NO_PERMISSION_REQUIRED, request_method="GET"
)
def login_form(request):
    if request.identity is not None:
        return HTTPSeeOther(safe_came_from(request, request.params.get("came_from")))
    return page(
        request,
        translate(request, _("Log in")),
        anonymous_form=True,
        came_from=request.params.get("came_from", ""),
        login="",
        error=None,
    )


def _refused(request, status, came_from, login, error):
    """The login form again, with ``error`` and the HTTP ``status`` (401 wrong, 429 too many)."""
    request.response.status = status
    return page(
        request,
        translate(request, _("Log in")),
        anonymous_form=True,
        came_from=came_from,
        login=login,
        error=error,
    )


@view_config(
    context=Site, name="login", renderer="login.pt", permission=NO_PERMISSION_REQUIRED, request_method="POST"
)
def login_submit(request):
    login = request.POST.get("login", "")
    password = request.POST.get("password", "")
    came_from = request.POST.get("came_from", "")
    try:
        user = accounts.authenticate(
            request.site,
            login,
            password,
            client=request.client_address,
            lockout=accounts.LockoutPolicy.from_settings(request.registry.settings),
            throttle=app_objects(request.registry).login_throttle,
        )
    except accounts.LoginThrottled as exc:
        request.response.headers["Retry-After"] = str(exc.retry_after)
        return _refused(request, 429, came_from, login, translate_message(request.localizer, exc.message))
    if user is None:
        return _refused(
            request, 401, came_from, login, translate(request, _("The login or password is incorrect."))
        )
    headers = remember(request, user.login)  # a fresh session, a new id: no fixation
    if user.must_change_password:
        return HTTPSeeOther(request.application_url + "/password", headers=headers)
    return HTTPSeeOther(safe_came_from(request, came_from), headers=headers)


@view_config(context=Site, name="logout", permission=NO_PERMISSION_REQUIRED, request_method="POST")
def logout(request):
    """The server forgets the session (``forget``): a copy of the cookie saved before opens nothing."""
    sid = current_session_id(request)
    if request.identity is not None:
        audit.record(
            request.site,
            request.actor,
            "auth.logout",
            f"/users/{request.identity.login}",
            session=sessions.short(sessions.digest(sid)) if sid else None,
        )
    headers = forget(request)
    request.session.invalidate()
    return HTTPSeeOther(request.application_url + "/login", headers=headers)
