"""Keeping the catalog current: documents and deliveries become catalog records after every change.

Subscribed to the events the document services emit (``core/exchange.py``): a change
queues the object's key (``queue_of``); whoever reads the catalog first catches it up
(``searchable``), so every reader sees every committed change, and the index buckets
that many sends share are written once per batch instead of once per send. A document is
listed in its unit's outbox (or drafts), a delivery in its recipient's inbox or personal
mailbox; the text index holds the subject, the notation, the content summary and the
sender's name, folded so that accents and case do not matter.
"""

from ..resources.documents import ISSUED
from . import workflow


def catalog_of(site):
    from ..catalog import ensure_catalog

    return ensure_catalog(site["catalog"])


def document_key(document):
    return f"doc/{document.id}"


def delivery_key(delivery):
    return f"dlv/{delivery.document.id}/{delivery.key}"


def _text(document):
    meta = document.meta
    return " ".join(
        filter(
            None,
            (
                meta.get("subject"),
                document.notation,
                meta.get("content"),
                (meta.get("from") or {}).get("organ_name"),
                meta.get("doc_type_name"),
            ),
        )
    )


def document_record(document):
    box = f"out:{document.sender_code}" if document.state == ISSUED else f"draft:{document.sender_code}"
    return {
        "box": [box],
        "state": document.state,
        "sender": document.sender_code,
        "doc_type": document.meta.get("doc_type", ""),
        "document": document.id,
        "date": document.issued_at or document.created_at,
        "due": document.meta.get("due_date") or None,
        "open": False,
        "read": True,
        "text": _text(document),
    }


def delivery_record(delivery):
    document = delivery.document
    box = f"personal:{delivery.recipient_login}" if delivery.is_personal else f"in:{delivery.recipient_code}"
    return {
        "box": [box],
        "state": delivery.state,
        "sender": document.sender_code,
        "recipient": delivery.recipient_login or delivery.recipient_code,
        "doc_type": document.meta.get("doc_type", ""),
        "document": document.id,
        "date": delivery.arrived_at or document.issued_at,
        "due": delivery.due or None,
        "open": delivery.state in workflow.OPEN_STATES,
        "read": delivery.read_at is not None,
        "text": _text(document),
    }


def queue_of(site):
    """The keys of documents and deliveries changed since the catalog last caught up.

    A send only adds its keys here (a set: one entry per object however often it changed);
    the catalog indexes them in one batch when somebody next reads it (``searchable``).
    Measured: a send then commits ~15 objects instead of ~110, and indexing 300 sends in
    one batch costs about as much as indexing two of them one by one, because the index
    buckets they share are written once (docs/benchmarks.md).
    """
    return site["catalog"].pending


def resolve_key(site, key):
    """A catalog key back to its Document or Delivery (None if it is gone)."""
    parts = key.split("/")
    document = site["documents"].get(parts[1]) if len(parts) > 1 else None
    if document is None or parts[0] == "doc":
        return document
    return document.deliveries.get(parts[2]) if len(parts) > 2 else None


def _index_now(catalog, key, obj):
    if obj is None:
        catalog.unindex(key)
    elif obj.content_type == "Document":
        catalog.index(key, document_record(obj))
    elif obj.state:  # a delivery queued for an adapter is not in the recipient's inbox yet
        catalog.index(key, delivery_record(obj))
    else:
        catalog.unindex(key)


def catch_up(site):
    """Index what changed since the last catch-up, in this transaction; return how many objects."""
    queue = queue_of(site)
    if not queue:
        return 0
    catalog = catalog_of(site)
    keys = list(queue)
    for key in keys:
        _index_now(catalog, key, resolve_key(site, key))
        queue.remove(key)  # one by one: keys queued meanwhile by other sends stay
    return len(keys)


def searchable(site):
    """The catalog, caught up with every committed change and this transaction's own: readers use this."""
    catch_up(site)
    return catalog_of(site)


def on_document_changed(event):
    queue_of(event.site).add(document_key(event.document))


def on_delivery_changed(event):
    queue_of(event.site).add(delivery_key(event.delivery))


def reindex_all(site, commit_every=None, echo=None):
    """Rebuild the catalog from the documents themselves; return the number of records.

    For an operator after a damaged or lost catalog, or an evolve step that changes the
    indexes: the documents and deliveries are the truth, the catalog only a view of them.
    ``commit_every`` (a callable run every 1,000 documents) lets the CLI commit in batches.
    """
    from ..catalog import ATTRIBUTE, ensure_catalog

    folder = site["catalog"]
    if getattr(folder, ATTRIBUTE, None) is not None:
        delattr(folder, ATTRIBUTE)
    catalog = ensure_catalog(folder)
    queue = queue_of(site)
    for key in list(queue):
        queue.remove(key)
    records = 0
    for n, document in enumerate(site["documents"].values(), 1):
        catalog.index(document_key(document), document_record(document))
        records += 1
        for delivery in document.deliveries.values():
            if delivery.state:
                catalog.index(delivery_key(delivery), delivery_record(delivery))
                records += 1
        if n % 1000 == 0:
            if commit_every is not None:
                commit_every()
            if echo is not None:
                echo(f"{n} documents, {records} records")
    return records
