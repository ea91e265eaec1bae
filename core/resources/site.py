"""The persistent root of the tree, and the root factory that finds it."""

from BTrees.OOBTree import OOBTree
from persistent.mapping import PersistentMapping
from zope.interface import implementer

from .. import permissions as sec
from ..interfaces import ISite
from .audit import AuditLog
from .containers import Board, Catalog, Documents, Transport
from .credentials import SystemCredentials
from .delegations import Delegations
from .directory import Directory
from .folder import Folder
from .incidents import Incidents
from .mailqueue import MailQueue
from .tokens import Tokens
from .trust import TrustStore
from .users import Users

APP_ROOT_KEY = "lienthong"

#: name -> factory for the top-level containers of DESIGN.md
TOP_LEVEL = {
    "directory": Directory,
    "users": Users,
    "documents": Documents,
    "transport": Transport,
    "board": Board,
    "incidents": Incidents,
    "audit": AuditLog,
    "catalog": Catalog,
    "tokens": Tokens,
    "delegations": Delegations,
    "trust": TrustStore,
    "credentials": SystemCredentials,
    "mail": MailQueue,
}


@implementer(ISite)
class Site(Folder):
    """/ : holds the top-level containers and the schema generation."""

    content_type = "Site"
    __acl__ = sec.SITE_ACL
    generation = 0
    title = "LienThong"
    plugin_state = None  # OOBTree: plugin name -> PersistentMapping (generation 9); see ``state_for``

    def __init__(self):
        super().__init__()
        self.plugin_state = OOBTree()

    def state_for(self, plugin):
        """The small persistent mapping that plugin ``plugin`` keeps its own state in (a last
        synchronized version, a cursor): made on first use, plain values only, kept small."""
        if self.plugin_state is None:
            self.plugin_state = OOBTree()
        state = self.plugin_state.get(plugin)
        if state is None:
            state = self.plugin_state[plugin] = PersistentMapping()
        return state

    def ensure_containers(self):
        """Add any top-level container that is missing; return the names added."""
        added = []
        for name, factory in TOP_LEVEL.items():
            if name not in self:
                self.add(name, factory())
                added.append(name)
        return added


def find_site(zodb_root):
    return zodb_root.get(APP_ROOT_KEY)


def root_factory(request):
    """The root of traversal: the request's Site (``request.site``, core/request.py)."""
    return request.site
