"""The directory of units (Organization) keyed by their QCVN 102 identifier codes."""
import re

from persistent.mapping import PersistentMapping
from zope.interface import implementer

from .folder import Folder
from .. import security as sec
from ..interfaces import IDirectory, IOrganization

# QCVN 102:2016 identifier code shape, e.g. 000.00.12.H49
CODE_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")

KINDS = ("operator", "province", "department", "district", "agency", "commune", "other")


def valid_code(code):
    return bool(CODE_RE.match(code or ""))


@implementer(IDirectory)
class Directory(Folder):
    """/directory/<code>"""
    content_type = "Directory"


@implementer(IOrganization)
class Organization(Folder):
    """A unit: its identity, place in the hierarchy and, as sub-objects, its mailbox and registers."""

    content_type = "Organization"
    __acl__ = sec.UNIT_ACL

    def __init__(self, code, name, short_name="", kind="agency", parent_code=None, email="", phone="", address=""):
        super().__init__()
        if not valid_code(code):
            raise ValueError(f"invalid identifier code {code!r} (expected ddd.dd.dd.Xdd)")
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
        self.policies = PersistentMapping()

    @property
    def title(self):
        return self.name
