"""LienThong core: the WSGI application factory and the configuration it builds.

``main`` is the ``paste.app_factory``: ``pserve etc/development.ini`` or any WSGI server
can run it. Every default below can be overridden in the ini.
"""

import logging
import os
import secrets
import warnings

# Pyramid 2.x still imports pkg_resources; the deprecation notice is not for our users.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

from pyramid.config import Configurator
from pyramid.settings import asbool

from .app_objects import app_objects
from .db import close_databases, get_database, open_transaction
from .plugins import PluginContractError, check_contracts, make_plugin_manager, network_adapter_names

log = logging.getLogger(__name__)

DEFAULTS = {
    "pyramid.default_locale_name": "vi",
    "retry.attempts": "20",  # a conflict is tried again after a growing pause (core/retry.py)
    "lienthong.blob_store": "zodb",
    "lienthong.session.secure": "true",
    "lienthong.session.timeout": "1800",
    "lienthong.session.absolute_timeout": "43200",
    "lienthong.auto_migrate": "false",
    "lienthong.metrics.allow": "127.0.0.1 ::1",
}


class StartupError(RuntimeError):
    """The application cannot start; the message says why in one line."""


def _session_secret(settings):
    secret = settings.get("lienthong.secret")
    if secret:
        return secret
    path = settings.get("lienthong.secret_file")
    if path:
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        secret = secrets.token_urlsafe(48)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret)
        return secret
    log.warning("no lienthong.secret configured: sessions will not survive a restart")
    return secrets.token_urlsafe(48)


def make_config(settings, plugins=()):
    """Build the Configurator: everything ``main`` does before making the WSGI app."""
    from pyramid.session import SignedCookieSessionFactory

    from .resources.site import root_factory
    from .security import LienThongSecurityPolicy
    from .services.sessions import SessionPolicy

    settings = {**DEFAULTS, **settings}
    if "zodbconn.uri" not in settings:
        raise StartupError("zodbconn.uri is not set: name the database in the ini file")
    from .hosts import check_settings as check_public_url

    try:
        check_public_url(settings)  # before the database: a refused start leaves nothing behind
    except ValueError as exc:
        raise StartupError(str(exc)) from exc
    from .db import check_var_writable

    check_var_writable(settings["zodbconn.uri"])

    config = Configurator(settings=settings, root_factory=root_factory)
    config.include("pyramid_tm")
    config.include("pyramid_retry")
    config.include(".retry")
    import pyramid_zodbconn

    from .db import db_from_uri

    pyramid_zodbconn.includeme(config, db_from_uri=db_from_uri)

    session_timeout = int(settings["lienthong.session.timeout"])
    try:
        config.set_session_factory(
            SignedCookieSessionFactory(
                _session_secret(settings),
                cookie_name="lienthong_session",
                secure=asbool(settings["lienthong.session.secure"]),
                httponly=True,
                samesite="Lax",
                timeout=session_timeout,
                reissue_time=max(1, session_timeout // 10),  # the idle clock restarts on activity
            )
        )
        config.set_security_policy(LienThongSecurityPolicy(SessionPolicy.from_settings(settings)))
        config.set_default_csrf_options(require_csrf=True)

        config.include(".request")
        config.include(".i18n")
        config.include(".skins")
        config.include(".tweens")
        config.include(".views")
        config.include(".api")

        from .metrics import AppMetrics

        registry = config.registry
        objects = app_objects(registry)
        objects.metrics = AppMetrics(lambda: get_database(registry))
        from .services.accounts import LockoutPolicy
        from .services.throttle import LoginThrottle

        objects.login_throttle = LoginThrottle(LockoutPolicy.from_settings(settings))

        pm = objects.plugins = make_plugin_manager(settings, extra=plugins)
        try:
            check_contracts(pm)  # a signer or adapter that does not fit stops here, naming its plugin
        except PluginContractError as exc:
            raise StartupError(str(exc)) from exc
        config.include(".blobs")
        config.include(".exchange")
        pm.hook.lienthong_configure(config=config)
        objects.network_adapters = frozenset(network_adapter_names(config.registry))
    except BaseException:
        close_databases(config.registry)  # release the Data.fs lock before failing
        raise
    return config


def _startup_check(registry):
    """Create the site on first use and refuse a database this code must not touch."""
    from . import evolve
    from .services.setup import ensure_site

    with open_transaction(get_database(registry)) as (root, tm):
        site, created = ensure_site(root, tm)
        tm.commit()
        if created:
            log.info("created a new site at generation %s", site.generation)
        auto = asbool(registry.settings.get("lienthong.auto_migrate"))
        try:
            evolve.check(site, auto_migrate=auto)
        except evolve.DatabaseTooNew as exc:
            raise StartupError(str(exc)) from exc
        except evolve.MigrationPending as exc:
            raise StartupError(str(exc)) from exc
        if evolve.pending(site):
            evolve.migrate(site, tm)


def main(global_config, **settings):
    """The ``paste.app_factory``: build and return the WSGI application."""
    config = make_config(settings)
    registry = config.registry
    try:
        app = config.make_wsgi_app()
        _startup_check(registry)
    except BaseException:
        close_databases(registry)
        raise
    return app
