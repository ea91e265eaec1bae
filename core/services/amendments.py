"""Update, replacement and revocation: what a later package does to documents already here (R3.3).

The field reuses the original's DocumentId for all three (``../shared/interop/README.md``),
so a package is known by (sender, DocumentId, business type) and its content digest
(``inbound``). What each does:

- **update (2)**: a document of its own, linked to the original, delivered to the receivers
  its ``BussinessDocumentInfo/ReceiverList`` names (``update_recipients``), else to its To;
- **replacement (3)**: a document of its own, delivered to its To; each ``ReplacementInfo``
  names a document of the same sender and the units for which it is superseded: their
  deliveries say so (``superseded_by``), a subscriber of ``DocumentSent`` (``on_document_sent``);
- **revocation (1)**: no document of its own. Every delivery, to the package's recipients
  here, of the sender's documents with that DocumentId is revoked (``revoke``): its files
  withdrawn (the attachment's ACL denies them to that recipient; the record and its
  history stay) and a take-back asked (13), which the recipient answers with 15 or 16.
  The revocation is kept on each revoked document's ``links`` with its digest, so the same
  package twice is recognised.
"""

from ..clock import iso
from ..errors import NotFound
from ..i18n import _
from ..resources.documents import REPLACE, REVOKE, path_of
from . import audit, deliveries, workflow

REPLACEMENT_ACTOR = audit.Actor.system("replacement")


def update_recipients(parsed, codes):
    """The units an update goes to: its ReceiverList when it names any (within ``codes``), else ``codes``."""
    listed = [
        r["organ_id"] for r in (parsed.get("business_info") or {}).get("receivers") or () if r["organ_id"]
    ]
    chosen = [code for code in dict.fromkeys(listed) if code in codes]
    return chosen or list(codes)


def revocation_seen(documents, digest):
    """Whether a revocation with this content digest was applied to one of ``documents``."""
    return any(
        link.get("business_doc_type") == REVOKE and link.get("digest") == digest
        for document in documents
        for link in document.links
    )


def revoke(site, env, actor, targets, codes, parsed, digest, via):
    """Revoke the deliveries to ``codes`` of ``targets`` (the sender's documents with the DocumentId).

    Returns the deliveries revoked now. A delivery already revoked, refused or taken back
    is left as it is; one that can still be asked back is moved to 13 with the package's
    reason. Raises NotFound when the hub carried no such document to those units.
    """
    reason = (parsed.get("business_reason") or "").strip() or _("Revoked by its sender.").interpolate()
    now = iso(env.now())
    concerned = [
        delivery
        for document in targets
        for delivery in document.deliveries.values()
        if delivery.recipient_code in codes
    ]
    if not concerned:
        raise NotFound(
            _("No document ${id} of ${sender} was delivered here to the units this revocation names."),
            field="MessageHeader/DocumentId",
            id=(parsed.get("document_id") or "")[:100],
            sender=(parsed.get("from") or {}).get("organ_id", "")[:40],
        )
    revoked = []
    for delivery in concerned:
        if delivery.revoked_at is not None:
            continue
        delivery.revoked_at, delivery.revoked_reason = now, reason
        if delivery.state in workflow.ACTIONS["recall"].sources:
            deliveries.act(site, env, actor, delivery, "recall", reason=reason, system=True)
        audit.record(site, actor, "delivery.revoke", path_of(delivery), via=via, reason=reason)
        revoked.append(delivery)
    for document in targets:
        document.links.append(
            {
                "document": document.id,
                "business_doc_type": REVOKE,
                "notation": document.notation,
                "time": now,
                "reason": reason,
                "digest": digest,
            }
        )
    return revoked


def on_document_sent(event):
    """Subscriber of ``DocumentSent``: a replacement marks the deliveries it supersedes."""
    document, site = event.document, event.site
    if document.business_doc_type != REPLACE:
        return
    for item in document.meta.get("replacement_info") or ():
        for original in site["documents"].carrying(item.get("document_id") or "", document.sender_code):
            if original is document:
                continue
            for code in item.get("organ_id_list") or ():
                delivery = original.delivery_for(code)
                if delivery is None or delivery.is_personal or delivery.superseded_by:
                    continue
                delivery.superseded_by = document.id
                audit.record(
                    site,
                    REPLACEMENT_ACTOR,
                    "delivery.supersede",
                    path_of(delivery),
                    by=document.id,
                    notation=document.notation,
                )
