"""/manage: the operator's management frame."""
from pyramid.view import view_config

from .. import evolve, security as sec
from ..plugins import describe
from ..resources.site import Site, get_site
from .base import page, translate


@view_config(context=Site, name="manage", renderer="manage.pt", permission=sec.MANAGE)
def manage(request):
    site = get_site(request)
    audit_log = site["audit"]
    recent = list(audit_log.iter_entries(reverse=True))[:20]
    return page(
        request, translate(request, "Management"),
        plugins=describe(request.registry.lienthong_plugins),
        generation=site.generation,
        code_generation=evolve.current_generation(),
        blob_store=request.registry.lienthong_blob_store.name,
        counts={name: len(site[name]) for name in ("directory", "users", "documents", "audit")},
        recent=recent,
    )
