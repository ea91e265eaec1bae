"""Interfaces of the core's resources and of what plugins provide (zope.interface).

Views may be registered for an interface instead of a class, so a plugin's content type
that provides ``IOrganization`` gets the core's unit views; and a plugin's components are
checked against their interface at start-up, so a mistake is one clear error, not a
failure at the first request that uses them.
"""
from zope.interface import Attribute, Interface


class IFolder(Interface):
    """A BTree-backed container of named, located children."""

    def add(name, obj):
        """Add ``obj`` under ``name`` (an existing name is an error); return it."""

    def remove(name):
        """Remove and return the child ``name``."""


class ISite(IFolder):
    """The root of the tree: the top-level containers and the schema generation."""

    generation = Attribute("The schema generation of the database (see lienthong.core.evolve)")


class IDirectory(IFolder):
    """/directory: the units, keyed by identifier code."""


class IOrganization(IFolder):
    """A unit (agency, department, district…), addressed by its QCVN 102 identifier code."""

    code = Attribute("Identifier code, ddd.dd.dd.Xdd")
    name = Attribute("Full name")


class IUser(Interface):
    """A person who logs in."""

    login = Attribute("Login name")
    fullname = Attribute("Full name")


class IAuditLog(Interface):
    """The append-only, hash-chained audit log."""

    def append(*, time, actor, on_behalf_of, action, target, client, details):
        """Append one entry; return it."""

    def verify():
        """None when the chain is whole, else (entry number, reason) of the first broken link."""


class IBlobStore(Interface):
    """Where attachment bytes live (hook ``lienthong_blob_stores``). Content-addressed by SHA-256."""

    name = Attribute("The name ``lienthong.blob_store`` chooses the store by")

    def put(site, stream):
        """Store the bytes read from ``stream`` to its end; return their SHA-256 hex digest."""

    def open(site, key):
        """A readable binary file of the bytes stored under ``key``; an error when they no longer match it."""

    def exists(site, key):
        """Whether ``key`` is stored."""
