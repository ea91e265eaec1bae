"""Damaged attachment bytes (R6.6): refused with a clear message, and the operator is told.

A store raises ``DigestMismatch`` (or ``BlobMissing``) when stored bytes no longer match
their SHA-256. ``documents.open_attachment`` turns that into ``AttachmentDamaged`` naming
the document and the attachment, after ``report`` has put an incident and an
``attachment.damaged`` audit entry on the record in a transaction of their own: the
request that hit the damage ends in an error and its own transaction is aborted.
"""
import logging


from ..clock import now_iso
from ..db import in_own_transaction
from ..i18n import _
from ..resources.incidents import OPEN
from . import audit, incidents
from .errors import ServiceError

log = logging.getLogger(__name__)

KIND = "attachment_damaged"


class AttachmentDamaged(ServiceError):
    """The stored bytes of an attachment are damaged or gone: a server-side fault (500),
    never served; the operator has an incident to act on."""

    status = 500


def attachment_path(attachment):
    return f"/documents/{attachment.document.id}/attachments/{attachment.name}"


def error_for(attachment, exc):
    document = attachment.document
    if getattr(exc, "reason", "") == "missing":
        message = _("The attachment ${name} of document ${notation} (${id}) is missing from storage. It cannot be "
                    "downloaded; the operator has been told.")
    else:
        message = _("The attachment ${name} of document ${notation} (${id}) is damaged: its stored bytes no longer "
                    "match their digest. It cannot be downloaded; the operator has been told.")
    return AttachmentDamaged(message, field="attachment", name=attachment.name,
                             notation=document.notation or document.document_id, id=document.id)


def _record(site, actor, attachment, exc):
    document = attachment.document
    target = attachment_path(attachment)
    reason = getattr(exc, "reason", "damaged")
    details = {"document": document.id, "notation": document.notation, "attachment": attachment.name,
               "sha256": attachment.sha256, "store": attachment.store, "reason": reason}
    audit.record(site, actor, "attachment.damaged", target, **details)
    seen = f"{now_iso()}: {reason} on read by {actor.login}"
    for incident in site["incidents"].values():   # one open incident per attachment, however often it is read
        if incident.kind == KIND and incident.subject == target and incident.state == OPEN:
            if len(incident.actions) < 100:
                incident.actions.append(seen)
            return incident.__name__
    description = (f"Attachment {attachment.name} of document {document.notation or document.document_id} "
                   f"({document.id}), sha256 {attachment.sha256} in the {attachment.store} store: {exc}. "
                   f"Restore the file from a backup or from the sender; `lienthong blobs verify` lists all.")
    return incidents.open_incident(site, actor, KIND, target, unit_code=document.sender_code,
                                   description=description, actions=[seen])


def report(site, actor, attachment, exc, attempts=3):
    """Record the damage in a transaction of its own (retried on conflicts); never raises."""
    log.error("damaged attachment %s: %s", attachment_path(attachment), exc)
    jar = getattr(site, "_p_jar", None)
    if jar is None:       # a site outside a database (a test's bare object): the caller's transaction
        _record(site, actor, attachment, exc)
        return
    doc_id, name = attachment.document.id, attachment.name

    def record(own_site):
        document = own_site["documents"].get(doc_id)
        if document is None or name not in document.attachments:
            return False
        _record(own_site, actor, document.attachments[name], exc)
        return True
    try:
        committed = in_own_transaction(jar.db(), record, attempts)
    except Exception:
        log.exception("could not record the damaged attachment %s", attachment_path(attachment))
        return
    if not committed:     # not committed yet: only the caller's transaction has the document
        _record(site, actor, attachment, exc)
