"""A document's attachments: checked and stored, read back digest-checked, damage reported (R6.6).

Bytes live in a blob store under their SHA-256 (``env.blob_store``, a plugin may give
another). ``add_attachments`` checks files by content and size before storing any;
``open_attachment`` reads them back through the store, which checks them against their
digest: a store raises ``DigestMismatch`` (or ``BlobMissing``) when stored bytes no
longer match, and that becomes ``AttachmentDamaged`` naming the document and the
attachment, after ``report_damage`` has put an incident and an ``attachment.damaged``
audit entry on the record in a transaction of their own (the request that hit the
damage ends in an error and its own transaction is aborted).
"""

import logging

from ..blobs import BlobMissing, DigestMismatch
from ..clock import now_iso
from ..db import run_in_site
from ..errors import DocumentError, ServiceError, xml_text
from ..i18n import _
from ..resources.documents import Attachment
from ..resources.incidents import OPEN
from . import audit, incidents

log = logging.getLogger(__name__)

#: the kind of incident a damaged attachment opens
DAMAGE_KIND = "attachment_damaged"


class AttachmentDamaged(ServiceError):
    """The stored bytes of an attachment are damaged or gone: a server-side fault (500),
    never served; the operator has an incident to act on."""

    status = 500


def attachment_path(attachment):
    return f"/documents/{attachment.document.id}/attachments/{attachment.name}"


# -- storing ---------------------------------------------------------------------------------
def add_attachments(site, env, document, files):
    """Check and store ``files`` [(name, fileobj, description)] on a draft; all or none.

    The files of an imported edXML package are checked as received ones (``filetypes``).
    """
    from ..filetypes import check_attachment, check_total

    policy = env.attachment_policy
    received = document.origin == "edxml"
    checked = []
    for name, fileobj, description in files:
        info = check_attachment(name, fileobj, policy, received=received)
        xml_text(description or "", "attachments.description")
        if info["name"] in document.attachments or any(c[0]["name"] == info["name"] for c in checked):
            raise DocumentError(
                _("Two attachments are named ${name}."), field="attachments", name=info["name"]
            )
        checked.append((info, fileobj, description))
    check_total([a.size for a in document.attachments.values()] + [c[0]["size"] for c in checked], policy)
    for info, fileobj, description in checked:
        fileobj.seek(0)
        key = env.blob_store.put(site, fileobj)
        if key != info["sha256"]:
            raise DocumentError(
                _("The attachment ${name} changed while it was being stored."),
                field="attachments",
                name=info["name"],
            )
        document.attachments.add(
            info["name"],
            Attachment(
                info["name"], info["content_type"], info["size"], key, env.blob_store.name, description or ""
            ),
        )


# -- reading ---------------------------------------------------------------------------------
def open_attachment(site, env, attachment, actor=None):
    """A readable file of the attachment's bytes; the store checks them against their digest.

    Damaged or missing bytes are never served: ``AttachmentDamaged`` (status 500) names the
    document and the attachment, and an incident and an ``attachment.damaged`` audit entry
    are committed on their own (the caller's transaction is aborted by the error).
    """
    store = env.store_for(attachment)
    try:
        try:
            return store.open(site, attachment.sha256)
        except (FileNotFoundError, KeyError) as exc:  # a vendor store that does not say BlobMissing
            raise BlobMissing(
                attachment.sha256,
                store.name,
                f"attachment {attachment.sha256} is missing from the {store.name} store: {exc!r}",
            ) from exc
    except DigestMismatch as exc:
        report_damage(site, actor or audit.Actor.system("blobstore"), attachment, exc)
        raise damage_error(attachment, exc) from exc


def record_download(site, actor, attachment):
    audit.record(
        site,
        actor,
        "attachment.download",
        attachment_path(attachment),
        sha256=attachment.sha256,
        size=attachment.size,
    )


# -- damage ----------------------------------------------------------------------------------
def damage_error(attachment, exc):
    """The ``AttachmentDamaged`` to raise for ``exc`` (a store's ``DigestMismatch``/``BlobMissing``)."""
    document = attachment.document
    if getattr(exc, "reason", "") == "missing":
        message = _(
            "The attachment ${name} of document ${notation} (${id}) is missing from storage. It cannot be "
            "downloaded; the operator has been told."
        )
    else:
        message = _(
            "The attachment ${name} of document ${notation} (${id}) is damaged: its stored bytes no longer "
            "match their digest. It cannot be downloaded; the operator has been told."
        )
    return AttachmentDamaged(
        message,
        field="attachment",
        name=attachment.name,
        notation=document.notation or document.document_id,
        id=document.id,
    )


def _record_damage(site, actor, attachment, exc):
    document = attachment.document
    target = attachment_path(attachment)
    reason = getattr(exc, "reason", "damaged")
    details = {
        "document": document.id,
        "notation": document.notation,
        "attachment": attachment.name,
        "sha256": attachment.sha256,
        "store": attachment.store,
        "reason": reason,
    }
    audit.record(site, actor, "attachment.damaged", target, **details)
    seen = f"{now_iso()}: {reason} on read by {actor.login}"
    for incident in site["incidents"].values():  # one open incident per attachment, however often it is read
        if incident.kind == DAMAGE_KIND and incident.subject == target and incident.state == OPEN:
            if len(incident.actions) < 100:
                incident.actions.append(seen)
            return incident.__name__
    description = _(
        "Attachment ${name} of document ${document} cannot be read from the ${store} store "
        "(SHA-256 ${sha256}): ${error}. Restore the file from a backup or from the sender; "
        "`lienthong blobs verify` lists all.",
        mapping={
            "name": attachment.name,
            "document": document.notation or document.document_id,
            "store": attachment.store,
            "sha256": attachment.sha256,
            "error": str(exc),
        },
    )
    return incidents.open_incident(
        site,
        actor,
        DAMAGE_KIND,
        target,
        unit_code=document.sender_code,
        description=description,
        actions=[seen],
    )


def report_damage(site, actor, attachment, exc, attempts=3):
    """Record the damage in a transaction of its own (retried on conflicts); never raises."""
    log.error("damaged attachment %s: %s", attachment_path(attachment), exc)
    jar = getattr(site, "_p_jar", None)
    if jar is None:  # a site outside a database (a test's bare object): the caller's transaction
        _record_damage(site, actor, attachment, exc)
        return
    doc_id, name = attachment.document.id, attachment.name

    def record(own_site):
        document = own_site["documents"].get(doc_id)
        if document is None or name not in document.attachments:
            return False
        _record_damage(own_site, actor, document.attachments[name], exc)
        return True

    try:
        committed = run_in_site(jar.db(), record, attempts)
    except Exception:
        log.exception("could not record the damaged attachment %s", attachment_path(attachment))
        return
    if not committed:  # not committed yet: only the caller's transaction has the document
        _record_damage(site, actor, attachment, exc)
