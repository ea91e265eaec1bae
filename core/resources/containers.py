"""The top-level containers of the site that later parts of the system fill.

A container declares every attribute the services keep on it (in ``__init__``, and as a
class-level default for an object stored before it had the attribute, until the evolve
step that adds it has run): no module attaches attributes to another's persistent object.
"""

from BTrees.OOBTree import OOBTree, OOTreeSet
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .documents import Documents  # noqa: F401  (older databases name it here)
from .folder import Folder
from .incidents import Incidents  # noqa: F401  (older databases name it here)


class StatusAcks(Persistent):
    """What one unit's product acknowledged of its status feed: every entry up to ``mark``
    (a feed key), and the keys in ``acked`` above it (``services/edxml_pull.py``)."""

    def __init__(self):
        self.mark = ""
        self.acked = OOTreeSet()


class Transport(Folder):
    """/transport: what leaves the hub and what products pull from it.

    - ``queues``: destination unit code → ``outbound.Destination`` (the outbound queue);
    - ``dead``: message key → ``outbound.Message``, the dead letters;
    - ``edxml_pending``: unit code → OOTreeSet, deliveries a pulling product has not fetched;
    - ``edxml_statuses``: sender unit code → OOBTree, the status feed its product reads;
    - ``digest_day``: ISO date of the last daily digest a worker claimed (None: never);
    - ``centre_leases``: adapter name → (worker id, ISO time it runs out): which worker polls
      a centre for the whole hub (the national axis), so two never take the same item;
    - ``lost``: the deliveries the other side reported failed or lost (``deliveries.transport_reported``);
    - ``edxml_status_acks``: sender unit code → ``StatusAcks``, the entries of its status feed
      its product acknowledged one by one (a product that polls and acknowledges statuses, as
      the national axis's SDK does, instead of reading the feed with a cursor).

    The services that own them: ``services/outbound.py``, ``services/edxml_pull.py`` and
    the worker's scheduled digest.
    """

    content_type = "Transport"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]
    queues = dead = edxml_pending = edxml_statuses = None  # an object stored before generation 7
    digest_day = None
    centre_leases = None  # made at the first lease
    lost = None  # "document name/delivery key" -> {document, recipient, via, state, description, time}
    edxml_status_acks = None  # made at the first acknowledged status

    def __init__(self):
        super().__init__()
        self.queues = OOBTree()
        self.dead = OOBTree()
        self.edxml_pending = OOBTree()
        self.edxml_statuses = OOBTree()

    def lease_centre(self, name, owner, now, until):
        """Take (or renew) the lease on polling centre ``name`` for ``owner`` until ``until``
        (ISO times); False when another owner holds a lease that has not run out."""
        if self.centre_leases is None:
            self.centre_leases = OOBTree()
        holder, ends = self.centre_leases.get(name, (None, ""))
        if holder not in (None, owner) and ends > now:
            return False
        self.centre_leases[name] = (owner, until)
        return True

    def flag_lost(self, delivery, via, state, description, when):
        """A delivery the other side says it failed or lost: listed for the operator."""
        if self.lost is None:
            self.lost = OOBTree()
        self.lost[_lost_key(delivery)] = {
            "document": delivery.document.id,
            "recipient": delivery.recipient_code,
            "via": via,
            "state": state,
            "description": description,
            "time": when,
        }

    def unflag_lost(self, delivery):
        if self.lost is not None and _lost_key(delivery) in self.lost:
            del self.lost[_lost_key(delivery)]

    def centre_held(self, name, now, by_other_than=None):
        """Is polling centre ``name`` leased (to someone other than ``by_other_than``) at ``now``?"""
        holder, ends = (self.centre_leases or {}).get(name, (None, ""))
        return holder not in (None, by_other_than) and ends > now

    def release_centre(self, name, owner):
        if self.centre_leases is not None and self.centre_leases.get(name, (None, ""))[0] == owner:
            del self.centre_leases[name]


def _lost_key(delivery):
    return f"{delivery.document.id}/{delivery.key}"


class Board(Folder):
    """/board: the moderated notice board."""

    content_type = "Board"


class Catalog(Folder):
    """/catalog: indexes for listing and search.

    - ``pending``: OOTreeSet of the keys of documents and deliveries changed since the
      catalog last caught up (``services/indexing.py``);
    - ``index``: the hypatia catalog itself (``core/catalog.py``, made by ``ensure_catalog``).
    """

    content_type = "Catalog"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]
    pending = None  # an object stored before generation 7
    index = None  # until ``ensure_catalog`` made it (at site creation, or by an evolve step)

    def __init__(self):
        super().__init__()
        self.pending = OOTreeSet()
