"""Keeping the catalog current: documents and deliveries become catalog records on every change.

Subscribed to the events the document services emit (``core/exchange.py``). A document is
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
    return " ".join(filter(None, (meta.get("subject"), document.notation, meta.get("content"),
                                  (meta.get("from") or {}).get("organ_name"), meta.get("doc_type_name"))))


def document_record(document):
    box = f"out:{document.sender_code}" if document.state == ISSUED else f"draft:{document.sender_code}"
    return {
        "box": [box], "state": document.state, "sender": document.sender_code,
        "doc_type": document.meta.get("doc_type", ""), "document": document.id,
        "date": document.issued_at or document.created_at, "due": document.meta.get("due_date") or None,
        "open": False, "read": True, "text": _text(document),
    }


def delivery_record(delivery):
    document = delivery.document
    box = f"personal:{delivery.recipient_login}" if delivery.is_personal else f"in:{delivery.recipient_code}"
    return {
        "box": [box], "state": delivery.state, "sender": document.sender_code,
        "recipient": delivery.recipient_login or delivery.recipient_code,
        "doc_type": document.meta.get("doc_type", ""), "document": document.id,
        "date": delivery.arrived_at or document.issued_at, "due": delivery.due or None,
        "open": delivery.state in workflow.OPEN_STATES, "read": delivery.read_at is not None,
        "text": _text(document),
    }


def _pending(site):
    """The objects to (re)index when the site's current transaction commits: key -> object.

    A send changes its document several times (drafted, numbered, issued) and each delivery
    at least once; indexing each once, at commit, with its final state, writes every index
    bucket once per transaction instead of once per change. (A catalog query in the same
    transaction does not see these changes yet.)
    """
    jar = getattr(site, "_p_jar", None)
    if jar is None:            # a site not in a database (building one): index at once
        return None
    txn = jar.transaction_manager.get()
    catalog = catalog_of(site)
    try:
        return txn.data(catalog)
    except KeyError:
        pending = {}
        txn.set_data(catalog, pending)
        txn.addBeforeCommitHook(_flush, (catalog, pending))
        return pending


def _flush(catalog, pending):
    for key, obj in pending.items():
        _index_now(catalog, key, obj)
    pending.clear()


def _index_now(catalog, key, obj):
    if obj.content_type == "Document":
        catalog.index(key, document_record(obj))
    elif obj.state:      # a delivery queued for an adapter is not in the recipient's inbox yet
        catalog.index(key, delivery_record(obj))
    else:
        catalog.unindex(key)


def _changed(site, key, obj):
    pending = _pending(site)
    if pending is None:
        _index_now(catalog_of(site), key, obj)
    else:
        pending[key] = obj


def on_document_changed(event):
    _changed(event.site, document_key(event.document), event.document)


def on_delivery_changed(event):
    _changed(event.site, delivery_key(event.delivery), event.delivery)


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
