"""The top-level containers of the site that later parts of the system fill."""
from pyramid.authorization import Allow, Deny, Everyone, ALL_PERMISSIONS

from .folder import Folder
from .. import permissions as sec
from .incidents import Incidents  # noqa: F401  (older databases name it here)
from .documents import Documents  # noqa: F401  (older databases name it here)


class Transport(Folder):
    """/transport: outbound queue, dead letters, peer endpoints."""
    content_type = "Transport"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]


class Board(Folder):
    """/board: the moderated notice board."""
    content_type = "Board"


class Catalog(Folder):
    """/catalog: indexes for listing and search."""
    content_type = "Catalog"
    __acl__ = [(Allow, f"role:{sec.SYSTEM_ADMIN}", ALL_PERMISSIONS), (Deny, Everyone, ALL_PERMISSIONS)]
