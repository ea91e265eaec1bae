"""The seam to the transports: what leaves the hub for an eOffice adapter is queued here.

Written in the same transaction as the send or status change that causes it, so nothing
is queued for a send that did not happen and nothing sent is left unqueued (R6.5). The
worker and the adapters that drain the queue belong to the transports issue.
"""
import uuid
from datetime import datetime, timezone

from BTrees.OOBTree import OOBTree


def queue(site):
    transport = site["transport"]
    if getattr(transport, "queue", None) is None:
        transport.queue = OOBTree()
    return transport.queue


def enqueue(site, adapter, kind, document_id, recipient):
    """Queue a ``kind`` ("document" or "status") message for ``recipient`` through ``adapter``."""
    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    key = f"{now}-{uuid.uuid4().hex[:8]}"
    queue(site)[key] = {"adapter": adapter, "kind": kind, "document": document_id, "recipient": recipient,
                        "queued_at": now, "attempts": 0}
    return key


def pending(site):
    return list(queue(site).items())
