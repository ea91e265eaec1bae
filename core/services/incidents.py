"""Incidents (R8.2, R8.4): opened by the services that detect them, read by the operator."""

import uuid

from pyramid.i18n import TranslationString

from ..clock import now_iso
from ..errors import Conflict, ServiceError
from ..i18n import _
from ..resources.incidents import CLOSED, Incident
from . import audit


def open_incident(site, actor, kind, subject, unit_code=None, description="", actions=()):
    """Record an incident. ``description`` and ``actions`` may be translatable messages (``_()``):
    they are kept as messages and shown in the reader's language (the text in English too,
    for the logs and the record)."""
    incident_id = uuid.uuid4().hex
    incident = Incident(
        kind,
        subject,
        actor.login,
        now_iso(),
        unit_code=unit_code,
        description=_text(description),
        actions=[str(a) for a in actions],  # a message's msgid: translated when shown
    )
    if isinstance(description, TranslationString):
        incident.description_msgid = str(description)
        incident.description_mapping = {k: str(v) for k, v in (description.mapping or {}).items()}
    site["incidents"].add(incident_id, incident)
    audit.record(site, actor, "incident.open", f"/incidents/{incident_id}", kind=kind, subject=subject)
    return incident_id


#: a message the transport can never deliver as it is (``outbound.set_aside``)
UNDELIVERABLE = "undeliverable_message"


def on_message_set_aside(event):
    """Subscriber of ``MessageSetAside``: an incident for the operator (R8.4), in the same
    transaction as the dead letter; the alert on /manage/transport lists the letter too."""
    message = event.message
    open_incident(
        event.site,
        audit.Actor.system("transport"),
        UNDELIVERABLE,
        f"/transport/dead/{event.key}",
        unit_code=message.sender,
        description=_(
            "The message about document ${document} for ${recipient} (${adapter}) can never be "
            "delivered as it is (${reason}). It is a dead letter on /manage/transport and the "
            "messages behind it went on. Mend the document or ask its sender for a corrected one, "
            "then retry or discard the letter.",
            mapping={
                "document": message.document_id,
                "recipient": message.recipient,
                "adapter": message.adapter or "-",
                "reason": message.last_error[:500],
            },
        ),
        actions=[_("set aside as a dead letter; the messages behind it went on")],
    )


def _text(description):
    """The English text of a description (a message interpolated, or a plain text as given)."""
    if isinstance(description, TranslationString):
        return description.interpolate()
    return str(description or "")


def close(site, actor, incident, note):
    """The operator closes an incident, saying what was done; the record stays."""
    note = (note or "").strip()
    if not note:
        raise ServiceError(_("Say what was done before closing the incident."), field="note")
    if incident.state == CLOSED:
        raise Conflict(_("The incident is already closed."), field="state")
    incident.state = CLOSED
    incident.closed_by, incident.closed_note = actor.login, note[:1000]
    incident.closed = now_iso()
    audit.record(site, actor, "incident.close", f"/incidents/{incident.__name__}", note=note[:1000])


def newest_first(site):
    return sorted(site["incidents"].values(), key=lambda i: i.time, reverse=True)
