"""Vietnamese first, English second: message factory, locale choice and the template translator."""

from pyramid.i18n import TranslationString, TranslationStringFactory

from .timezones import DEFAULT_TIMEZONE, VIETNAM

DOMAIN = "lienthong"
_ = TranslationStringFactory(DOMAIN)

LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT = "vi"
COOKIE = "_LOCALE_"


def locale_negotiator(request):
    """The ``lang`` parameter or cookie when it names a language we have, else the default.

    API clients (paths under /api/ and /edxml/) may also ask with ``Accept-Language``;
    pages stay Vietnamese unless the user picks English, whatever the browser says.
    """
    for candidate in (request.params.get("lang"), request.cookies.get(COOKIE)):
        if candidate in LANGUAGES:
            return candidate
    if request.path.startswith(("/api/", "/edxml/")) and request.headers.get("Accept-Language"):
        found = request.accept_language.lookup(list(LANGUAGES), default="")
        if found in LANGUAGES:
            return found
    return request.registry.settings.get("pyramid.default_locale_name", DEFAULT)


def translate(request, message, **mapping):
    """``message`` in the request's language.

    Write the msgid as ``translate(request, _("English text"))``: the ``_()`` marks it for
    extraction into skins/locale/lienthong.pot (``make i18n``). ``${name}`` placeholders
    are filled from ``mapping``.
    """
    ts = _(message, mapping=mapping) if mapping else _(message)
    return request.localizer.translate(ts)


def site_localizer(registry):
    """A localizer for the site's language (``pyramid.default_locale_name``), for text made
    without a request: a digest, a status message sent to another hub."""
    from pyramid.i18n import make_localizer
    from pyramid.interfaces import ITranslationDirectories

    directories = registry.queryUtility(ITranslationDirectories, default=[])
    return make_localizer(registry.settings.get("pyramid.default_locale_name", DEFAULT), directories)


def translate_message(localizer, message):
    """``message`` translated, with the translatable values of its mapping translated first.

    A service may put one message inside another (a plugin's reason inside "cannot be
    sent: ${reasons}"); the localizer alone would show the inner msgid with its own
    placeholders unfilled.
    """
    mapping = getattr(message, "mapping", None)
    if mapping and any(isinstance(v, TranslationString) for v in mapping.values()):
        mapping = {
            k: translate_message(localizer, v) if isinstance(v, TranslationString) else v
            for k, v in mapping.items()
        }
        message = TranslationString(
            str(message), domain=message.domain, default=message.default, mapping=mapping
        )
    return localizer.translate(message)


def language_url(request, code):
    """The link that switches to ``code`` and comes back to this page."""
    from urllib.parse import urlencode

    return request.application_url + "/language?" + urlencode({"lang": code, "came_from": request.path_qs})


def template_translator(request):
    """A Chameleon ``translate`` function bound to this request's localizer."""
    localizer = request.localizer

    def translate(msgid, domain=None, mapping=None, default=None, context=None, target_language=None):
        if isinstance(msgid, TranslationString):
            return localizer.translate(msgid)
        return localizer.translate(
            TranslationString(msgid, domain=domain or DOMAIN, default=default, mapping=mapping)
        )

    return translate


def site_timezone(settings):
    """``lienthong.timezone`` (default Asia/Ho_Chi_Minh): times are stored in UTC, shown in this zone.

    Resolved once at start-up; an unknown name stops the start-up with a clear message.
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = settings.get("lienthong.timezone", DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if name == DEFAULT_TIMEZONE:  # no tz database: Viet Nam keeps UTC+7 without DST since 1975
            return VIETNAM
        raise ValueError(
            f"lienthong.timezone = {name}: not a known time zone (use a name such as {DEFAULT_TIMEZONE})"
        ) from exc


def includeme(config):
    from .app_objects import app_objects

    app_objects(config.registry).timezone = site_timezone(config.get_settings())
    config.set_locale_negotiator(locale_negotiator)
    config.add_translation_dirs("lienthong.skins:locale")
