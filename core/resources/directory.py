"""The directory of units (Organization) keyed by their QCVN 102 identifier codes."""

from persistent.list import PersistentList
from persistent.mapping import PersistentMapping
from zope.interface import implementer

from .. import permissions as sec
from ..edxml import remote_code
from ..interfaces import IDirectory, IOrganization
from .folder import Folder
from .mailbox import Mailbox

KINDS = ("operator", "province", "department", "district", "agency", "commune", "other")

# R11: a unit's road to electronic exchange
NOT_CONNECTED = "not_connected"
PILOT = "pilot"
OFFICIAL = "official"
CONNECTION_STATES = (NOT_CONNECTED, PILOT, OFFICIAL)

# life of a unit through reorganizations
ACTIVE = "active"
MERGED = "merged"
SPLIT = "split"
DISSOLVED = "dissolved"
STATUSES = (ACTIVE, MERGED, SPLIT, DISSOLVED)

# policy keys and their defaults (R7.5): every unit has them, the admin changes them
DEFAULT_POLICIES = {
    "deadline_days": 10,  # processing deadline in working days
    "must_sign": False,  # outgoing documents must carry a digital signature
    "issuers": (sec.CLERK,),  # roles that may issue an outgoing document
    "approval": False,  # a leader approves a draft before the clerk issues it
}


@implementer(IDirectory)
class Directory(Folder):
    """/directory/<code>"""

    content_type = "Directory"
    title = "Directory"


@implementer(IOrganization)
class Organization(Folder):
    """A unit: its identity, place in the hierarchy and, as sub-objects, its mailbox and registers.

    Fields added after generation 3 have class-level defaults so that older units read
    correctly before ``lienthong migrate`` touches them.
    """

    content_type = "Organization"
    __acl__ = sec.UNIT_ACL

    eoffice_product = ""
    adapter = ""  # the name of a transport plugin; "" = this hub's own mailbox
    adapter_settings = None  # PersistentMapping of the adapter's settings
    connection_state = NOT_CONNECTED
    pilot_start = None  # ISO date when the pilot began
    connection_history = None  # PersistentList of {state, date, actor, note}
    status = ACTIVE
    successors = ()  # codes of the units that took over (merge, split, dissolve)
    predecessors = ()  # codes of the units it took over
    former_names = ()  # ({name, short_name, until, actor}, ...) after renames
    symbol = ""  # the unit's sign in notations ("UBND" in 15/QĐ-UBND); "" = derived

    def __init__(
        self, code, name, short_name="", kind="agency", parent_code=None, email="", phone="", address=""
    ):
        super().__init__()
        if not remote_code(code):  # the directory service issues ddd.dd.dd.Xdd; a remote unit keeps its own
            raise ValueError(
                f"invalid identifier code {code!r} (expected a dotted code such as ddd.dd.dd.Xdd)"
            )
        if kind not in KINDS:
            raise ValueError(f"unknown unit kind {kind!r}")
        self.code = code
        self.name = name
        self.short_name = short_name or name
        self.kind = kind
        self.parent_code = parent_code
        self.email = email
        self.phone = phone
        self.address = address
        self.policies = PersistentMapping(DEFAULT_POLICIES)
        self.adapter_settings = PersistentMapping()
        self.connection_history = PersistentList()
        self.ensure_children()

    def ensure_children(self):
        """Every unit has its mailbox (generation 4) and its registers (generation 5)."""
        if "mailbox" not in self:
            self.add("mailbox", Mailbox())
        if "registers" not in self:
            from .registers import Registers

            self.add("registers", Registers())

    @property
    def notation_symbol(self):
        """What follows the dash in a notation: the set symbol, else the short name's first word."""
        return self.symbol or (self.short_name or self.code).split()[0]

    @property
    def title(self):
        return self.name

    @property
    def mailbox(self):
        return self["mailbox"]

    def policy(self, key):
        return (self.policies or {}).get(key, DEFAULT_POLICIES.get(key))

    def is_active(self):
        return self.status == ACTIVE
