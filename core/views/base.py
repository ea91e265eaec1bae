"""What every page's layout needs."""
from pyramid.csrf import get_csrf_token

from ..i18n import LANGUAGES, _
from ..resources.site import get_site
from .. import security as sec


def client_address(request):
    return request.client_addr or request.remote_addr


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
    ts = _(message, mapping=mapping) if mapping else _(message)
    return request.localizer.translate(ts)
