"""What every page's layout needs."""

from pyramid.csrf import get_csrf_token

from .. import permissions as sec
from ..app_objects import app_objects
from ..clock import parse_iso
from ..i18n import LANGUAGES, translate_message
from ..security import current_delegation


def page(request, title, anonymous_form=False, **values):
    """Template values shared by every page: who is logged in, menu, languages, CSRF token.

    The CSRF token lives in the session, so making one starts a session: anonymous pages
    (the address book) get none unless they hold a form (``anonymous_form``, the login page).
    """
    user = request.identity
    site = request.site
    delegation = current_delegation(request)
    acting_for = site["users"].get(delegation.delegator) if delegation is not None else None
    values.setdefault("errors", {})
    values.update(
        acting_for=acting_for,
        unread_notices=user.unread_notices() if user is not None and hasattr(user, "unread_notices") else 0,
        page_title=title,
        user=user,
        can_manage=bool(user) and bool(request.has_permission(sec.MANAGE, site)),
        can_audit=bool(user) and bool(request.has_permission(sec.VIEW_AUDIT, site["audit"])),
        csrf_token=get_csrf_token(request) if (user is not None or anonymous_form) else "",
        languages=LANGUAGES,
        current_language=request.locale_name,
        flash=request.session.pop_flash() if request.session.peek_flash() else [],  # no session for nothing
        app_url=request.application_url,
    )
    return values


def local_time(request, iso):
    """An ISO 8601 UTC timestamp as ``dd/mm/yyyy hh:mm:ss`` in the site's time zone."""
    try:
        when = parse_iso(iso)
    except (TypeError, ValueError):
        return iso or ""
    return when.astimezone(app_objects(request.registry).timezone).strftime("%d/%m/%Y %H:%M:%S")


def refused(request, exc):
    """The translated message of a ``ServiceError`` caught by a form view, which re-shows the form.

    The request's transaction is doomed: whatever the service wrote before refusing is
    not committed, though the view answers normally.
    """
    request.tm.doom()
    return translate_message(request.localizer, exc.message)


def field_errors(request, exc):
    """``{field: message}`` for a form template (``errors`` in ``page()`` values)."""
    return {exc.field or "_form": refused(request, exc)}


def hub_units(request, exclude=()):
    """The active units of this hub (never the national directory, nor another hub's), by
    name: what a form that places people or units, or names a sender, offers in a list."""
    from ..services import directory_external

    units = directory_external.local_units(request.site, request.env.network_adapters, exclude)
    return sorted(units, key=lambda u: u.name)
