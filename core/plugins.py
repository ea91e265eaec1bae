"""Finding, enabling and calling plugins (pluggy, entry-point group ``lienthong.plugins``)."""
import importlib
import logging
from importlib.metadata import entry_points

import pluggy

from . import hookspecs
from .app_objects import app_objects

log = logging.getLogger(__name__)

PROJECT = "lienthong"
ENTRY_POINT_GROUP = "lienthong.plugins"
hookimpl = pluggy.HookimplMarker(PROJECT)


class PluginLoadError(RuntimeError):
    pass


def _names(value):
    if not value:
        return set()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return {v.strip() for v in value if v.strip()}


def make_plugin_manager(settings=None, extra=()):
    """A PluginManager with the hook specs and every enabled entry-point plugin registered.

    ``extra`` lets a caller (a test, an embedding application) register plugin objects
    without an entry point.
    """
    settings = settings or {}
    disabled = _names(settings.get("lienthong.plugins.disabled"))
    pm = pluggy.PluginManager(PROJECT)
    distributions = pm.lienthong_distributions = {}
    pm.add_hookspecs(hookspecs)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in disabled:
            log.info("plugin %s is disabled by configuration", ep.name)
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken plugin must say which one it is
            raise PluginLoadError(f"cannot load plugin {ep.name!r} ({ep.value}): {exc}") from exc
        pm.register(plugin, name=ep.name)
        distributions[ep.name] = getattr(ep, "dist", None)
    from . import validators
    pm.register(validators, name="lienthong.core.validators")
    from .services.sign_policy import SignPolicy   # R10.10: the unit policy "must sign"
    pm.register(SignPolicy(pm), name="lienthong.core.sign_policy")
    for path in sorted(_names(settings.get("lienthong.plugins.extra"))):   # modules named in the ini
        try:
            pm.register(importlib.import_module(path), name=path)
        except Exception as exc:
            raise PluginLoadError(f"cannot load plugin module {path!r} (lienthong.plugins.extra): {exc}") from exc
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def describe(pm):
    """[(name, distribution, version, hooks)] for the CLI and the management screen."""
    dists = getattr(pm, "lienthong_distributions", {})
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda x: str(x[0])):
        dist = dists.get(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        rows.append((name, dist.metadata["Name"] if dist else "-", dist.version if dist else "-", hooks))
    return rows


def adapters_of(pm):
    """The transport adapters the enabled plugins of ``pm`` offer, by name (the first offering a name wins)."""
    adapters = {}
    for offered in pm.hook.lienthong_transports():
        for adapter in offered or ():
            name = getattr(adapter, "name", None)
            if name:
                adapters.setdefault(name, adapter)
    return adapters


def transport_adapters(registry):
    """The enabled transport adapters by name (a unit's ``adapter`` is one of these names)."""
    return adapters_of(app_objects(registry).plugins)


def transport_names(registry):
    return set(transport_adapters(registry))
