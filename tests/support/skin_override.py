"""Test-only include (``pyramid.includes = tests.support.skin_override``): a later skin layer.

Pyramid runs ``pyramid.includes`` before the core's own includes, so the add-on includes
``lienthong.core.skins`` first (idempotent) to get the ``add_skin_layer`` directive.
"""


def includeme(config):
    config.include("lienthong.core.skins")
    config.add_skin_layer("override", "tests.support:override_layer")
