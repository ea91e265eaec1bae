"""Content-type registry: names the kinds of resources and how to make them.

Plugins add types through the ``config.add_content_type`` directive from their
``lienthong_configure`` hook, so the core never needs to import them.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ContentType:
    name: str
    factory: object
    title: str = ""
    addable_to: tuple = ()
    meta: dict = field(default_factory=dict)


class ContentRegistry:
    def __init__(self):
        self._types = {}

    def add(self, name, factory, title="", addable_to=(), **meta):
        self._types[name] = ContentType(name, factory, title or name, tuple(addable_to), meta)

    def get(self, name):
        return self._types[name]

    def create(self, name, *args, **kw):
        return self._types[name].factory(*args, **kw)

    def names(self):
        return sorted(self._types)

    def __contains__(self, name):
        return name in self._types


def get_content_registry(registry):
    reg = getattr(registry, "lienthong_content", None)
    if reg is None:
        reg = registry.lienthong_content = ContentRegistry()
    return reg


def add_content_type(config, name, factory, title="", addable_to=(), **meta):
    """Configurator directive: ``config.add_content_type('Thing', Thing)``."""
    def register():
        get_content_registry(config.registry).add(name, factory, title, addable_to, **meta)
    config.action(("lienthong-content-type", name), register)


def includeme(config):
    from .resources.audit import AuditLog
    from .resources.containers import Board, Catalog, Documents, Transport
    from .resources.delegations import Delegations
    from .resources.incidents import Incidents
    from .resources.mailbox import Mailbox
    from .resources.tokens import Tokens
    from .resources.directory import Directory, Organization
    from .resources.folder import Folder
    from .resources.site import Site
    from .resources.users import User, Users

    config.add_directive("add_content_type", add_content_type)
    get_content_registry(config.registry)
    for factory, title, addable_to in (
        (Site, "Site", ()), (Folder, "Folder", ("Folder",)),
        (Directory, "Directory of units", ("Site",)), (Organization, "Unit", ("Directory",)),
        (Users, "Users", ("Site",)), (User, "User", ("Users",)),
        (Documents, "Documents", ("Site",)), (Transport, "Transport", ("Site",)),
        (Board, "Notice board", ("Site",)), (Incidents, "Incidents", ("Site",)),
        (AuditLog, "Audit log", ("Site",)), (Catalog, "Catalog", ("Site",)),
        (Mailbox, "Mailbox", ("Organization", "User")), (Tokens, "API tokens", ("Site",)),
        (Delegations, "Delegations", ("Site",)),
    ):
        config.add_content_type(factory.content_type, factory, title, addable_to)
