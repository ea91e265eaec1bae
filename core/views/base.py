"""What every page's layout needs."""
from datetime import datetime, timezone

from pyramid.csrf import get_csrf_token

from ..i18n import LANGUAGES, _
from ..resources.site import get_site
from .. import security as sec


def client_address(request):
    """The client's address for the audit log: REMOTE_ADDR, which a client cannot forge.

    (``request.client_addr`` believes any X-Forwarded-For header. Behind a reverse proxy,
    waitress's ``trusted_proxy`` settings put the real client address into REMOTE_ADDR.)
    """
    return request.remote_addr


def actor_for(request):
    from ..services.audit import Actor
    user = request.identity
    return Actor(login=user.login if user else "anonymous", client=client_address(request))


def page(request, title, **values):
    """Template values shared by every page: who is logged in, menu, languages, CSRF token."""
    user = request.identity
    site = get_site(request)
    values.update(
        page_title=title,
        user=user,
        can_manage=bool(user) and bool(request.has_permission(sec.MANAGE, site)),
        can_audit=bool(user) and bool(request.has_permission(sec.VIEW_AUDIT, site["audit"])),
        csrf_token=get_csrf_token(request),
        languages=LANGUAGES,
        current_language=request.locale_name,
        flash=request.session.pop_flash(),
        app_url=request.application_url,
    )
    return values


def translate(request, message, **mapping):
    """``message`` in the request's language.

    Write the msgid as ``translate(request, _("English text"))``: the ``_()`` marks it for
    extraction into skins/locale/lienthong.pot (``make i18n``). ``${name}`` placeholders
    are filled from ``mapping``.
    """
    ts = _(message, mapping=mapping) if mapping else _(message)
    return request.localizer.translate(ts)


def local_time(request, iso):
    """An ISO 8601 UTC timestamp as ``dd/mm/yyyy hh:mm:ss`` in the site's time zone."""
    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso or ""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(request.registry.lienthong_timezone).strftime("%d/%m/%Y %H:%M:%S")
