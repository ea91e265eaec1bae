"""/incidents: what went wrong (a compromised password…), for the operator and the auditors (R8.4)."""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..i18n import _, translate
from ..resources.incidents import Incident, Incidents
from ..services import audit, incidents
from .base import local_time, page, refused

KIND_TITLES = {
    "compromised_password": _("Compromised password"),
    "undeliverable_message": _("A message that cannot be delivered"),
}


def _rows(request, site):
    rows = []
    for incident in incidents.newest_first(site):
        rows.append(
            {
                "id": incident.__name__,
                "when": local_time(request, incident.time),
                "kind": translate(request, KIND_TITLES.get(incident.kind, incident.kind)),
                "subject": incident.subject,
                "reported_by": incident.reported_by,
                "unit_code": incident.unit_code or "",
                "description": incident.description,
                "actions": list(incident.actions),
                "open": incident.state == "open",
            }
        )
    return rows


@view_config(context=Incidents, renderer="incidents.pt", permission=sec.VIEW_AUDIT, request_method="GET")
def incident_list(request):
    site = request.site
    audit.record(site, request.actor, "incidents.view", "/incidents")
    return page(
        request,
        translate(request, _("Incidents")),
        incidents=_rows(request, site),
        can_close=bool(request.has_permission(sec.MANAGE, request.context)),
    )


@view_config(context=Incident, name="close", permission=sec.MANAGE, request_method="POST")
def incident_close(request):
    try:
        incidents.close(request.site, request.actor, request.context, request.POST.get("note", ""))
        request.session.flash(translate(request, _("The incident is closed.")))
    except ServiceError as exc:
        request.session.flash(refused(request, exc))
    return HTTPSeeOther(request.application_url + "/incidents")
