"""Events the document services emit; subscribers keep the catalog current and call plugins.

Services call ``env.notify(event)`` (the Pyramid registry's ``notify``), so a deployment
or a plugin adds its own subscriber with ``config.add_subscriber(fn, DeliveryChanged)``
and the core's subscribers can be overridden like any other configuration.
"""
from dataclasses import dataclass


@dataclass
class DocumentChanged:
    """A document was drafted, changed while a draft, approved or issued."""
    document: object
    site: object


@dataclass
class DocumentSent:
    """A document was issued and delivered to the recipients on this hub (before commit)."""
    document: object
    site: object


@dataclass
class DeliveryChanged:
    """A delivery arrived, moved to another state, was read or reassigned."""
    delivery: object
    site: object
    old_state: str
    new_state: str
