"""Creating the site in a new database."""

import transaction

from .. import evolve
from ..resources.site import APP_ROOT_KEY, Site, find_site
from . import audit


def ensure_site(zodb_root, tm=None):
    """Return the Site, creating it (at the current generation) on first use."""
    site = find_site(zodb_root)
    if site is not None:
        return site, False
    site = Site()
    site.ensure_containers()
    from ..catalog import ensure_catalog

    ensure_catalog(site["catalog"])  # made once here, not by the first concurrent sends
    from .indexing import queue_of

    queue_of(site)
    site.generation = evolve.current_generation()
    zodb_root[APP_ROOT_KEY] = site
    audit.record(site, audit.Actor.system("init"), "site.create", "/", generation=site.generation)
    (tm or transaction.manager).get().note("lienthong: create site")
    return site, True
