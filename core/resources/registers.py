"""A unit's numbered registers of incoming and outgoing documents (R3.2).

``/directory/<code>/registers/<year>-in`` and ``…-out``: one per unit, direction and
year, so numbering restarts every 1 January. The next number is a plain attribute of the
register, not a conflict-resolving counter: two transactions that take a number at the
same time conflict, one is retried, and so numbers never repeat and never skip.
"""

from BTrees.IOBTree import IOBTree
from persistent import Persistent
from pyramid.authorization import ALL_PERMISSIONS, Allow, Deny, Everyone

from .. import permissions as sec
from .folder import Folder

INCOMING = "in"
OUTGOING = "out"
DIRECTIONS = (INCOMING, OUTGOING)


def register_name(year, direction):
    return f"{int(year)}-{direction}"


class Registers(Folder):
    """/directory/<code>/registers: the unit's clerks, leaders and eOffice product read them."""

    content_type = "Registers"

    @property
    def __acl__(self):
        code = self.__parent__.code if self.__parent__ is not None else ""
        allowed = (sec.VIEW, sec.READ_MAILBOX)
        return [
            (Allow, sec.unit_role(role, code), allowed) for role in (sec.CLERK, sec.LEADER, sec.SYSTEM)
        ] + [(Deny, Everyone, ALL_PERMISSIONS)]

    def get_register(self, year, direction, create=True):
        name = register_name(year, direction)
        register = self.get(name)
        if register is None and create:
            register = self.add(name, Register(int(year), direction))
        return register


class Register(Persistent):
    """One year's numbered entries in one direction."""

    content_type = "Register"
    __name__ = None
    __parent__ = None

    def __init__(self, year, direction):
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown register direction {direction!r}")
        self.year = year
        self.direction = direction
        self.last_number = 0
        self.entries = IOBTree()

    def take(self, entry):
        """Give ``entry`` (a dict) the next number and file it; return the number."""
        number = self.last_number + 1
        self.last_number = number
        entry = dict(entry, number=number)
        self.entries[number] = entry
        return number

    def complete(self, number, values):
        """Add ``values`` to entry ``number``: what its act learnt after taking the number (the
        issue's notation and date), in the same transaction. The entry is replaced, not
        changed in place, so that the BTree stores it."""
        self.entries[number] = dict(self.entries[number], **values)

    def __len__(self):
        return self.last_number

    def rows(self, start=None, end=None):
        return [self.entries[n] for n in self.entries.keys(start, end)]
