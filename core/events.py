"""Events the document services emit; subscribers keep the catalog current, queue and list what
leaves the hub, and call plugins.

Services call ``env.notify(event)`` (the Pyramid registry's ``notify``), so a deployment
or a plugin adds its own subscriber with ``config.add_subscriber(fn, DeliveryChanged)``
and the core's subscribers can be overridden like any other configuration. Subscribers
run synchronously, inside the service's transaction and before it commits: what they
write commits with the change or not at all, and an exception in one aborts the change.
``DeliveryArrived`` and ``DeliveryActed`` are kinds of ``DeliveryChanged``: a subscriber of
``DeliveryChanged`` hears them too.
"""

from dataclasses import dataclass


@dataclass
class DocumentChanged:
    """A document was drafted, changed while a draft, approved or issued."""

    document: object
    site: object


@dataclass
class DraftMoved(DocumentChanged):
    """A draft went along its approval path: ``action`` is "submit" (to the unit's leaders),
    "approve" or "send_back" (to its drafter), by ``actor`` with ``note``."""

    action: str = ""
    actor: object = None
    note: str = ""


@dataclass
class DocumentSent:
    """A document was issued and delivered to the recipients on this hub (before commit)."""

    document: object
    site: object


@dataclass
class DeliveryQueued:
    """A delivery of a document being issued goes to a unit served by an eOffice adapter; it has
    no state until the adapter delivered it (and then it arrives)."""

    delivery: object
    site: object


@dataclass
class DeliveryChanged:
    """A delivery arrived, moved to another state, was read or reassigned."""

    delivery: object
    site: object
    old_state: str
    new_state: str


@dataclass
class DeliveryArrived(DeliveryChanged):
    """A delivery reached its recipient (state 01): on this hub at once, or through its adapter."""


@dataclass
class DeliveryActed(DeliveryChanged):
    """A workflow action moved a delivery (``workflow.ACTIONS``); ``side`` is the end that acted,
    "recipient" or "sender" (a recall). The state may stay the same (a reassignment)."""

    action: str = ""
    side: str = "recipient"
    actor: object = None  # the ``audit.Actor`` who acted (None: not said)


@dataclass
class MessageSetAside:
    """A message that can never be delivered as it is became a dead letter at once: its payload
    cannot be built (what is stored is refused by the edXML codec), or the other side refused
    it for good. The messages behind it go on; the operator is alerted. ``key`` names the
    dead letter (``site["transport"].dead``)."""

    message: object
    key: str
    site: object
