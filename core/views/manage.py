"""/manage: the operator's management frame."""

from pyramid.view import view_config

from .. import evolve, permissions as sec
from ..app_objects import app_objects
from ..i18n import _, translate
from ..plugins import describe
from ..resources.site import Site
from ..services import directory
from .base import local_time, page

RECENT = 20


@view_config(context=Site, name="manage", renderer="manage.pt", permission=sec.MANAGE)
def manage(request):
    site = request.site
    audit_log = site["audit"]
    # the last RECENT entries, newest first, without walking the whole log
    recent = list(audit_log.iter_entries(start=max(1, len(audit_log) - RECENT + 1)))[::-1]
    for entry in recent:
        entry["when"] = local_time(request, entry["time"])
    return page(
        request,
        translate(request, _("Management")),
        plugins=describe(app_objects(request.registry).plugins),
        generation=site.generation,
        code_generation=evolve.current_generation(),
        blob_store=app_objects(request.registry).blob_store.name,
        counts={name: len(site[name]) for name in ("directory", "users", "documents", "audit")},
        recent=recent,
        pilot_overdue=len(directory.pilot_overdue(site, request.env.today())),
    )
