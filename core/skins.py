"""Skin layers: templates looked up by name, the last layer that has the name wins.

The Plone skins idea on Pyramid: the core ships the ``default`` layer; a plugin or a
site adds layers with ``config.add_skin_layer(name, 'package:dir')`` and any template
of the same name in a later layer replaces the earlier one. Views name templates by
bare file name (``renderer='home.pt'``); names with a package (``pkg:file.pt``) bypass
the layers.
"""

import os
import threading

from chameleon import PageTemplateFile
from pyramid.path import AssetResolver
from pyramid.settings import asbool

from .app_objects import app_objects
from .i18n import language_url, template_translator


class SkinLayers:
    def __init__(self, auto_reload=False):
        self.layers = []  # [(name, directory)], earliest first
        self.auto_reload = auto_reload
        self._cache = {}
        self._lock = threading.Lock()

    def add(self, name, directory):
        if not os.path.isdir(directory):
            raise ValueError(f"skin layer {name!r}: {directory} is not a directory")
        self.layers = [(n, d) for n, d in self.layers if n != name] + [(name, directory)]
        self._cache.clear()

    def find(self, filename):
        for _name, directory in reversed(self.layers):
            path = os.path.join(directory, filename)
            if os.path.isfile(path):
                return path
        raise LookupError(f"no skin layer has a template named {filename!r}")

    def template(self, filename):
        """The compiled template; compiling (and re-compiling on change) is serialized, as
        Chameleon does not guard two threads cooking the same template at once."""
        path = filename if os.path.isabs(filename) else self.find(filename)
        with self._lock:
            tpl = self._cache.get(path)
            if tpl is None:
                tpl = self._cache[path] = PageTemplateFile(path, auto_reload=self.auto_reload)
            tpl.cook_check()
        return tpl


class SkinRenderer:
    def __init__(self, info):
        self.info = info
        name = info.name
        if ":" in name:
            self.path = AssetResolver(info.package).resolve(name).abspath()
        else:
            self.path = None
        self.name = name

    def __call__(self, value, system):
        request = system.get("request")
        skins = app_objects(self.info.registry).skins
        tpl = skins.template(self.path or self.name)
        values = dict(system)
        values.update(value or {})
        values.setdefault("layout", skins.template("layout.pt"))
        values["skin"] = skins
        kw = {}
        if request is not None:
            values.setdefault("language_url", lambda code: language_url(request, code))
            kw["translate"] = template_translator(request)
            kw["target_language"] = request.locale_name
        return tpl.render(**values, **kw)


def add_skin_layer(config, name, spec):
    """Add the layer ``name``: a directory given as an asset spec (``pkg:dir``), a path
    relative to the calling package, or an absolute path. Layers added later win."""
    if os.path.isabs(spec):
        directory = spec
    else:
        directory = AssetResolver(config.package).resolve(spec).abspath()
    if not os.path.isdir(directory):
        raise ValueError(f"skin layer {name!r}: {spec} ({directory}) is not a directory")
    registry = config.registry
    config.action(
        ("lienthong-skin-layer", name), lambda: app_objects(registry).skins.add(name, directory), order=-1
    )


def includeme(config):
    """An add-on listed in ``pyramid.includes`` runs before the core's own includes: it calls
    ``config.include('lienthong.core.skins')`` first (Pyramid includes a module only once)
    to get the ``add_skin_layer`` directive. Plugins (``lienthong_configure``) have it already."""
    settings = config.get_settings()
    auto = asbool(settings.get("pyramid.reload_templates", False))
    app_objects(config.registry).skins = SkinLayers(auto_reload=auto)
    config.add_directive("add_skin_layer", add_skin_layer)
    config.add_renderer(".pt", SkinRenderer)
    config.add_skin_layer("default", "lienthong.skins:default")
