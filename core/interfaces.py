"""Interfaces of the core's resources and of what plugins provide (zope.interface).

Views may be registered for an interface instead of a class, so a plugin's content type
that provides ``IOrganization`` gets the core's unit views; and a plugin's components are
checked against their interface at start-up, so a mistake is one clear error, not a
failure at the first request that uses them.
"""

from __future__ import annotations

from zope.interface import Attribute, Interface
from zope.interface.exceptions import Invalid
from zope.interface.interface import InterfaceClass
from zope.interface.verify import verifyObject


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


class ISystemCredentials(IFolder):
    """/credentials: the system credentials (id and encrypted shared secret) of units' products."""


class IUser(Interface):
    """A person who logs in."""

    login = Attribute("Login name")
    fullname = Attribute("Full name")


class IAuditLog(Interface):
    """The append-only, hash-chained audit log."""

    def append(*, time, actor, on_behalf_of, action, target, client, details):
        """Append one entry; return it."""

    def verify():  # type: ignore[misc]  # zope.interface declares methods without ``self``
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


class ISigner(Interface):
    """A signature format (hook ``lienthong_signers``); ``lienthong.core.signing.Signer`` provides it."""

    name = Attribute("The signer's name, kept in each report: ``pades``, ``xmldsig``")
    format = Attribute("``pdf``: signs attachments it ``handles``; ``edxml``: the envelope of a package")

    def handles(name, mime_type):
        """Whether this signer signs an attachment called ``name`` of ``mime_type``."""

    def sign(data, key, settings):
        """The signed bytes of ``data`` with the ``KeyRef`` ``key`` (keyword options: reason, location,
        signer_name); ``SigningError`` when it cannot."""

    def verify(data, trust, settings):
        """One ``SignatureReport`` per signature in ``data`` (bytes or a seekable file); never raises."""


class IAdapter(Interface):
    """A transport to one kind of eOffice product or peer hub (hook ``lienthong_transports``).

    ``lienthong.core.transports.Adapter`` provides it; a plugin subclasses that.
    """

    name = Attribute("The value of a unit's ``adapter`` field")
    title = Attribute("Shown on the unit's form")
    settings = Attribute("The unit's settings this adapter reads: a sequence of ``transports.Setting``")
    batch_size = Attribute("How many queued messages of one destination ``deliver_batch`` may take at once")
    network = Attribute("True when the units it reaches belong to another hub or the national axis")
    centre_poll_seconds = Attribute(
        "Seconds between ``poll_centre`` calls; None for an adapter that polls per unit"
    )
    report_seconds = Attribute("Seconds between ``reports`` calls; None for an adapter that reports nothing")

    def configure(app_settings):
        """Take what the adapter needs from the application's settings; called once, before anything else."""

    def check_settings(values):
        """Reasons (strings) why a unit's settings ``values`` cannot work; empty when they can."""

    def deliver_batch(messages, env):
        """Deliver one destination's ``OutboundMessage``s in order: a result per message, up to the first
        failure."""

    def poll(unit_code, settings, env):
        """The ``InboundMessage``s waiting for the hub from ``unit_code``'s product."""

    def check_connection(env):
        """The operator's connection test: what the other side answered, or ``TransportError``."""

    def reports(env):
        """``TransportReport``s of what the other side was given (a centre that reports)."""

    def poll_centre(env):
        """The ``InboundMessage``s waiting for the whole hub (an adapter that is a network's centre)."""


def misfit(interface: InterfaceClass, component: object) -> str | None:
    """Why ``component`` does not fit ``interface``, in one line (None when it fits).

    Start-up checks every blob store, signer and adapter a plugin offers with this, so a
    plugin's mistake stops the start naming it instead of failing at first use.
    """
    try:
        verifyObject(interface, component, tentative=True)
    except Invalid as exc:
        return " ".join(str(exc).split()).split(": ", 1)[-1]  # without the object's repr
    return None
