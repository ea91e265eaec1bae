"""Finding, enabling and calling plugins: the pluggy manager of one application.

The markers a plugin uses (``hookimpl``) and the hook specs are in ``hookspecs.py``; this
module builds the manager: the entry-point plugins (pluggy's own loader, with the plugins
the ini disables blocked first), the core's own hook implementations (``BUILTINS``, by
dotted name, so none of them imports this module), and the modules named in
``lienthong.plugins.extra``.
"""

import importlib
import logging
from importlib.metadata import entry_points

import pluggy
from pyramid.registry import Registry

from . import hookspecs
from .app_objects import app_objects
from .hookspecs import ENTRY_POINT_GROUP, PROJECT
from .interfaces import IAdapter, ISigner, misfit
from .transports import Adapter

log = logging.getLogger(__name__)

DISABLED_SETTING = "lienthong.plugins.disabled"
EXTRA_SETTING = "lienthong.plugins.extra"

#: The core's own hook implementations, registered like any plugin's and never disabled.
#: ``module`` registers the module; ``module:factory`` registers ``factory(pm)`` (for an
#: implementation that needs the manager, e.g. to know the enabled signers).
BUILTINS = (
    "lienthong.core.validators",  # R11: secret documents never leave
    "lienthong.core.services.sign_policy:SignPolicy",  # R10.10: the unit policy "must sign"
)


class PluginLoadError(RuntimeError):
    pass


class PluginContractError(RuntimeError):
    """A plugin offers a signer or adapter that does not fit its contract; the message names it."""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, knowing the settings it was built from (adapters are configured with them)."""

    def __init__(self, settings=None):
        super().__init__(PROJECT)
        self.settings = dict(settings or {})


def names_in(value):
    """The plugin names of a setting: separated by spaces, commas or new lines."""
    if not value:
        return set()
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return {v.strip() for v in value if v.strip()}


def _builtin(pm, dotted):
    path, _sep, factory = dotted.partition(":")
    module = importlib.import_module(path)
    return getattr(module, factory)(pm) if factory else module


def make_plugin_manager(settings=None, extra=()):
    """A PluginManager with the hook specs and every enabled entry-point plugin registered.

    ``extra`` lets a caller (a test, an embedding application) register plugin objects
    without an entry point.
    """
    pm = PluginManager(settings)
    pm.add_hookspecs(hookspecs)
    for name in sorted(names_in(pm.settings.get(DISABLED_SETTING)) - {b.partition(":")[0] for b in BUILTINS}):
        log.info("plugin %s is disabled by configuration", name)
        pm.set_blocked(name)  # before loading: a blocked name is never registered
    for name in sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}):
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)
        except Exception as exc:  # a broken plugin must say which one it is
            values = ", ".join(ep.value for ep in entry_points(group=ENTRY_POINT_GROUP, name=name))
            raise PluginLoadError(f"cannot load plugin {name!r} ({values}): {exc}") from exc
    for dotted in BUILTINS:
        pm.register(_builtin(pm, dotted), name=dotted.partition(":")[0])
    for path in sorted(names_in(pm.settings.get(EXTRA_SETTING))):  # modules named in the ini
        try:
            pm.register(importlib.import_module(path), name=path)
        except Exception as exc:
            raise PluginLoadError(f"cannot load plugin module {path!r} ({EXTRA_SETTING}): {exc}") from exc
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def check_contracts(pm):
    """Refuse a signer or an adapter that does not fit ``ISigner`` / ``IAdapter``, naming its plugin.

    Run at start-up (blob stores are checked likewise when the store is chosen, in ``blobs``),
    so a plugin's mistake is one clear line, not a failure at the first send.
    """
    for hook, interface, what in (
        (pm.hook.lienthong_signers, ISigner, "signer"),
        (pm.hook.lienthong_transports, IAdapter, "transport adapter"),
    ):
        for impl in hook.get_hookimpls():
            for component in impl.function() or ():
                problem = misfit(interface, component)
                if problem is None and interface is IAdapter and _delivers_nothing(component):
                    problem = "it implements neither deliver(message, env) nor deliver_batch(messages, env)"
                if problem:
                    name = f"{type(component).__module__}.{type(component).__qualname__}"
                    raise PluginContractError(
                        f"the {what} {name} (plugin {impl.plugin_name}) does not fit "
                        f"{interface.__name__}: {problem}"
                    )


def _delivers_nothing(adapter):
    kind = type(adapter)
    return (
        kind.deliver is Adapter.deliver and kind.deliver_batch is Adapter.deliver_batch
        if isinstance(adapter, Adapter)
        else False
    )


def is_plugin_disabled(where, name):
    """Whether the operator disabled the plugin ``name`` (``lienthong.plugins.disabled``).

    ``where`` is the application's plugin manager, its Pyramid registry, or its settings
    (what a command of the ``lienthong_cli`` hook has: ``env.settings``). The plugins the
    core ships use this rather than reading the setting or asking the manager themselves.
    """
    if isinstance(where, pluggy.PluginManager):
        return where.is_blocked(name)
    if isinstance(where, Registry):
        return app_objects(where).plugins.is_blocked(name)
    return name in names_in((where or {}).get(DISABLED_SETTING))


def distributions(pm):
    """{plugin name: its distribution} of the plugins loaded from entry points (pluggy's distinfo)."""
    names = {id(plugin): name for name, plugin in pm.list_name_plugin() if plugin is not None}
    return {names[id(plugin)]: dist for plugin, dist in pm.list_plugin_distinfo() if id(plugin) in names}


def describe(pm):
    """[(name, distribution, version, hooks)] for the CLI and the management screen."""
    dists = distributions(pm)
    rows = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda x: str(x[0])):
        if plugin is None:  # blocked (disabled): pluggy lists it with no plugin
            continue
        dist = dists.get(name)
        hooks = sorted(h.name for h in pm.get_hookcallers(plugin) or ())
        rows.append((name, dist.metadata["Name"] if dist else "-", dist.version if dist else "-", hooks))
    return rows


def adapters_of(pm):
    """The transport adapters the enabled plugins of ``pm`` offer, by name (the first offering a name wins).

    Each is configured with the settings ``pm`` was built from (``Adapter.configure``).
    """
    adapters = {}
    for offered in pm.hook.lienthong_transports():
        for adapter in offered or ():
            name = getattr(adapter, "name", None)
            if name and name not in adapters:
                adapter.configure(pm.settings)
                adapters[name] = adapter
    return adapters


def transport_adapters(registry):
    """The enabled transport adapters by name (a unit's ``adapter`` is one of these names)."""
    return adapters_of(app_objects(registry).plugins)


def network_adapter_names(registry):
    """The adapters whose units belong to another hub or the national axis (``Adapter.network``)."""
    return {
        name for name, adapter in transport_adapters(registry).items() if getattr(adapter, "network", False)
    }


def transport_names(registry):
    return set(transport_adapters(registry))
