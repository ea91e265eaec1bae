"""Incidents (R8.2, R8.4): opened by the services that detect them, read by the operator."""
import uuid

from ..resources.incidents import Incident
from . import audit


def open_incident(site, actor, kind, subject, unit_code=None, description="", actions=()):
    incident_id = uuid.uuid4().hex
    site["incidents"].add(incident_id, Incident(
        kind, subject, actor.login, audit.now_iso(), unit_code=unit_code, description=description,
        actions=actions))
    audit.record(site, actor, "incident.open", f"/incidents/{incident_id}", kind=kind, subject=subject)
    return incident_id
