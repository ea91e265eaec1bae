"""/incidents: what went wrong (a compromised password…), for the operator and the auditors (R8.4)."""

from pyramid.httpexceptions import HTTPSeeOther
from pyramid.view import view_config

from .. import permissions as sec
from ..errors import ServiceError
from ..i18n import _, translate
from ..resources.incidents import Incident, Incidents
from ..services import audit, incidents
from .base import local_time, page, refused
from .mailboxes import person_name, unit_name

KIND_TITLES = {
    "compromised_password": _("Compromised password"),
    "undeliverable_message": _("A message that cannot be delivered"),
    "paper_without_electronic": _("A paper document without its electronic copy"),
    "attachment_damaged": _("A damaged attachment"),
}


def description_of(request, incident):
    """The incident's description in the reader's language (as written, for one recorded as text)."""
    if incident.description_msgid:
        return translate(request, _(incident.description_msgid), **(incident.description_mapping or {}))
    return incident.description


def _rows(request, site):
    rows = []
    for incident in incidents.newest_first(site):
        rows.append(
            {
                "id": incident.__name__,
                "when": local_time(request, incident.time),
                "kind": translate(request, KIND_TITLES.get(incident.kind, incident.kind)),
                "subject": incident.subject,
                "reported_by": person_name(site, incident.reported_by),
                "unit_code": incident.unit_code or "",
                "unit": unit_name(site, incident.unit_code) if incident.unit_code else "",
                "description": description_of(request, incident),
                "actions": [translate(request, _(a)) for a in incident.actions],
                "closed": translate(
                    request,
                    _("Closed by ${name}: ${note}"),
                    name=person_name(site, incident.closed_by),
                    note=incident.closed_note,
                )
                if incident.closed_by
                else "",
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
