"""What eOffice products that pull (the /edxml/v1 API, R3.3) find waiting for them.

Two persistent indexes under ``site["transport"]`` (declared by ``resources.containers.Transport``):

- ``edxml_pending``: unit code → OOTreeSet of ``"<arrived_at>|<document id>"``: the
  deliveries that arrived in the unit's hub mailbox and that its product has not
  acknowledged. Kept for the units served by the hub's own mailbox (``adapter == ""``)
  whose directory entry names their eOffice product (``eoffice_product``): their product
  may pull. Units served by an adapter get their documents pushed and are never listed;
  units that work on the hub's pages only are not listed either (nothing would ever
  acknowledge their entries).
- ``edxml_statuses``: sender unit code → OOBTree ``"<time>|<suffix>"`` → a small dict: one
  entry each time a delivery of one of the unit's documents changes state; the feed a
  sender's product reads with a cursor (kept for the same units as the pending lists).

Keys start with an ISO UTC time, so both read in arrival order; writers touch only their
unit's tree (BTrees resolve concurrent inserts). Nothing here is in the catalog.
"""

import uuid

from BTrees.OOBTree import OOBTree, OOTreeSet

SEPARATOR = "|"


def _pending_tree(site):
    return site["transport"].edxml_pending


def _status_tree(site):
    return site["transport"].edxml_statuses


def pending_key(delivery):
    return f"{delivery.arrived_at or ''}{SEPARATOR}{delivery.document.id}"


def product_pulls(unit):
    """Whether ``unit``'s eOffice product may pull from /edxml/v1: its mail is on the hub (no
    adapter pushes it) and its directory entry names the product. A unit that works on the
    hub's own pages only has nothing that would ever acknowledge or read its lists."""
    return unit is not None and not unit.adapter and bool(unit.eoffice_product)


def _pulls(site, delivery):
    """A unit delivery that arrived in the hub mailbox of a unit whose product pulls."""
    if not delivery.recipient_code or delivery.transport:
        return False
    return product_pulls(site["directory"].get(delivery.recipient_code))


def on_delivery_arrived(event):
    """Subscriber of ``DeliveryArrived``: list the delivery for the recipient unit's product."""
    site, delivery = event.site, event.delivery
    if not _pulls(site, delivery):
        return
    tree = _pending_tree(site)
    code = delivery.recipient_code
    pending = tree.get(code)
    if pending is None:
        pending = tree[code] = OOTreeSet()
    pending.add(pending_key(delivery))


def unlist(site, delivery):
    """Take ``delivery`` off its unit's pending list without a fetch (its package cannot be
    built: ``outbound.set_aside_pulled``). True if it was listed."""
    found = _pending_tree(site).get(delivery.recipient_code)
    key = pending_key(delivery)
    if found is None or key not in found:
        return False
    found.remove(key)
    return True


def relist(site, delivery):
    """Put ``delivery`` back on its unit's pending list, at its place (a set-aside package the
    operator retries once the document is mended)."""
    tree = _pending_tree(site)
    pending = tree.get(delivery.recipient_code)
    if pending is None:
        pending = tree[delivery.recipient_code] = OOTreeSet()
    pending.add(pending_key(delivery))


def pending(site, unit_code, after="", limit=50):
    """Up to ``limit`` (key, delivery) of the unit's pending list after the cursor ``after``, oldest first."""
    found = _pending_tree(site).get(unit_code)
    if found is None:
        return []
    documents = site["documents"]
    out = []
    keys = found.keys(min=after, excludemin=True) if after else found.keys()
    for key in keys:
        document = documents.get(key.rsplit(SEPARATOR, 1)[1])
        delivery = document.delivery_for(unit_code) if document is not None else None
        if delivery is not None:
            out.append((key, delivery))
        if len(out) >= limit:
            break
    return out


def pending_count(site, unit_code):
    found = _pending_tree(site).get(unit_code)
    return len(found) if found is not None else 0


def acknowledge(site, env, delivery):
    """The product has the package: off the pending list, ``fetched_at`` set once. True if it was listed."""
    found = _pending_tree(site).get(delivery.recipient_code)
    listed = False
    if found is not None:
        key = pending_key(delivery)
        if key in found:
            found.remove(key)
            listed = True
    if delivery.fetched_at is None:
        delivery.fetched_at = env.now().isoformat(timespec="microseconds")
    return listed


# -- the statuses of what a unit sent ----------------------------------------------------------
def on_delivery_changed(event):
    """Subscriber of ``DeliveryChanged``: a new state of a unit delivery goes to its sender's feed."""
    delivery = event.delivery
    if event.old_state == event.new_state or not event.new_state or not delivery.recipient_code:
        return
    document = delivery.document
    sender = event.site["directory"].get(document.sender_code or "")
    if not product_pulls(sender):
        return  # a sender served by an adapter gets its statuses pushed; one without a product reads pages
    last = delivery.history[-1] if delivery.history else {}
    time = last.get("time") or ""
    tree = _status_tree(event.site)
    feed = tree.get(sender.code)
    if feed is None:
        feed = tree[sender.code] = OOBTree()
    key = f"{time}{SEPARATOR}{uuid.uuid4().hex[:8]}"
    feed[key] = {
        "document": document.id,
        "delivery": delivery.key,
        "state": event.new_state,
        "index": len(delivery.history) - 1,
    }


def statuses(site, unit_code, since="", limit=50):
    """Up to ``limit`` (key, entry) of the unit's status feed after the cursor ``since``, oldest first."""
    feed = _status_tree(site).get(unit_code)
    if feed is None:
        return []
    items = feed.items(min=since, excludemin=True) if since else feed.items()
    out = []
    for key, entry in items:
        out.append((key, entry))
        if len(out) >= limit:
            break
    return out


def status_message(site, env, delivery, entry):
    """The edXML status message of one feed entry: the delivery's state as it was then."""
    from datetime import datetime

    from .. import edxml
    from . import edxml_io

    status = edxml_io.status_of(site, env, delivery)
    history = delivery.history[entry["index"]] if 0 <= entry["index"] < len(delivery.history) else {}
    status["status_code"] = entry["state"]
    if history.get("time"):
        status["timestamp"] = (
            datetime.fromisoformat(history["time"]).astimezone(env.timezone).isoformat(timespec="seconds")
        )
    status["description"] = history.get("reason") or history.get("note") or ""
    status["staff_info"] = dict(
        status.get("staff_info") or {}, staff=history.get("staff") or history.get("actor", "")
    )
    return edxml.build_status(status)


# -- statuses acknowledged one by one (a product that polls and acknowledges them) ------------
def _acks(site, unit_code, create=False):
    transport = site["transport"]
    if transport.edxml_status_acks is None:
        if not create:
            return None
        transport.edxml_status_acks = OOBTree()
    found = transport.edxml_status_acks.get(unit_code)
    if found is None and create:
        from ..resources.containers import StatusAcks

        found = transport.edxml_status_acks[unit_code] = StatusAcks()
    return found


def status_entry(site, unit_code, key):
    """The entry ``key`` of the unit's status feed, or None."""
    feed = _status_tree(site).get(unit_code)
    return feed.get(key) if feed is not None and isinstance(key, str) else None


def unacknowledged_statuses(site, unit_code, start="", limit=50):
    """Up to ``limit`` (key, entry) of the unit's status feed after ``start`` (a feed key or an
    ISO time: what came before is not offered) that its product has not acknowledged, oldest first."""
    feed = _status_tree(site).get(unit_code)
    if feed is None:
        return []
    acks = _acks(site, unit_code)
    floor = max(start or "", acks.mark if acks is not None else "")
    acked = acks.acked if acks is not None else ()
    out = []
    for key, entry in feed.items(min=floor, excludemin=True) if floor else feed.items():
        if key in acked:
            continue
        out.append((key, entry))
        if len(out) >= limit:
            break
    return out


def acknowledge_status(site, unit_code, key, settled, start=""):
    """The product has the status ``key``: not offered again. True if it was not acknowledged before.

    ``settled``: a feed key before which every entry has surely committed; the mark moves
    only up to there, so an entry committed late, with an earlier key, is still offered."""
    if status_entry(site, unit_code, key) is None:
        return False
    acks = _acks(site, unit_code, create=True)
    if key <= max(acks.mark, start or "") or key in acks.acked:
        return False
    acks.acked.add(key)
    feed = _status_tree(site)[unit_code]
    floor = max(acks.mark, start or "")
    for following in feed.keys(min=floor, excludemin=True) if floor else feed.keys():
        if following > settled or following not in acks.acked:
            break
        acks.mark = following
        acks.acked.remove(following)
    return True
