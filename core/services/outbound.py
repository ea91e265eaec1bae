"""The durable outbound queue (R6.5): what leaves the hub for an eOffice adapter waits here.

A message is queued in the same transaction as the send or status change that causes it
(the subscribers ``on_delivery_queued``, ``on_delivery_arrived``, ``on_delivery_acted`` of
the events ``documents`` emits), so nothing is queued for a send that did not happen and
nothing sent is left unqueued.
The worker (``core/worker.py``) drains it: at-least-once, receivers deduplicate.

Layout under ``site["transport"]`` (declared by ``resources.containers.Transport``):

* ``queues``: OOBTree destination unit code → ``Destination``; each destination holds its
  messages in an OOBTree keyed ``<UTC time>-<random>`` (so keys order by time and two
  senders never write the same key: their inserts merge by BTree conflict resolution,
  no shared counter), and the worker's lease (who delivers it now, until when);
* ``dead``: OOBTree key → ``Message``, the dead letters, with their last error.

A destination is delivered strictly in key order. A head that fails for a reason that may
pass (the product is down, a timeout) blocks only its own destination (head-of-line) until
it succeeds or becomes a dead letter after ``max_attempts``. One that can never succeed as
it is (its payload cannot be built, the other side refused it for good: ``permanent``) is a
dead letter at once, ``set_aside``, and the messages behind it go on; ``MessageSetAside``
tells the operator (an incident, the alert on ``/manage/transport``). A unit's product that
pulls (``/edxml/v1``) has its package set aside the same way (``set_aside_pulled``).
"""

import os
import threading
from datetime import UTC, datetime, timedelta

from BTrees.OOBTree import OOBTree
from persistent import Persistent
from persistent.mapping import PersistentMapping

from ..clock import iso, utc_now
from ..edxml import EdxmlError
from ..errors import NotFound
from ..events import MessageSetAside
from ..i18n import _
from ..transports import PermanentError
from . import audit

KINDS = ("document", "status")


#: the ``adapter`` of a dead letter set aside from a product's pull list (no queue holds it)
PULLED = "edxml/v1"

#: what went wrong with a message (``Message.failure``, set with its ``last_error``, which is the
#: adapter's own English words): /manage/transport explains each in the operator's language
TRANSIENT = "transient"  # it failed and is tried again after a pause
EXHAUSTED = "exhausted"  # it failed ``max_attempts`` times: a dead letter
REFUSED = "refused"  # the other side refused it for good (an adapter's ``PermanentError``)
UNBUILDABLE = "unbuildable"  # its payload cannot be built from what is stored (``Unbuildable``)
NO_ADAPTER = "no_adapter"  # its destination is gone, has no adapter or the adapter is not installed
FAILURES = (TRANSIENT, EXHAUSTED, REFUSED, UNBUILDABLE, NO_ADAPTER)


class Unbuildable(PermanentError):
    """The payload of a message can never be built as things are stored (``payload``)."""


class Message(Persistent):
    """One queued message: small, and changed alone when a delivery attempt fails."""

    dead_at = None
    permanent = False  # a dead letter that no retry could deliver as it is (set aside at once)
    failure = ""  # one of FAILURES, with last_error ("" before the first failure, and on older messages)

    def __init__(self, kind, document, document_id, recipient, sender, adapter, extra, queued_at):
        self.kind = kind  # "document" or "status"
        self.document = document  # the Document's name in site["documents"]
        self.document_id = document_id  # its edXML DocumentId
        self.recipient = recipient  # the destination unit (whose adapter carries it)
        self.sender = sender  # the unit that sent the document / acted
        self.adapter = adapter  # the adapter named when it was queued (informative)
        self.extra = PersistentMapping(extra or {})
        self.queued_at = queued_at
        self.attempts = 0
        self.next_attempt = queued_at  # ISO UTC; the head waits until then after a failure
        self.last_error = ""

    def as_dict(self):
        return {
            "kind": self.kind,
            "document": self.document,
            "document_id": self.document_id,
            "recipient": self.recipient,
            "sender": self.sender,
            "adapter": self.adapter,
            "extra": dict(self.extra),
            "queued_at": self.queued_at,
            "attempts": self.attempts,
            "next_attempt": self.next_attempt,
            "last_error": self.last_error,
            "failure": failure_of(self),
            "dead_at": self.dead_at,
            "permanent": self.permanent,
        }


class Destination(Persistent):
    """The queue of one destination unit and its lease (written only by workers)."""

    lease_owner = None
    lease_until = None  # ISO UTC

    def __init__(self, code):
        self.code = code
        self.messages = OOBTree()

    def head(self):
        if not self.messages:
            return None, None
        key = self.messages.minKey()
        return key, self.messages[key]

    def leased(self, now_iso, worker_id=None):
        """Held by another worker whose lease has not run out?"""
        return bool(self.lease_owner and self.lease_owner != worker_id and (self.lease_until or "") > now_iso)


# -- keys --------------------------------------------------------------------------------
_last = [0]
_lock = threading.Lock()


def new_key(now=None):
    """``<UTC time, microseconds>-<8 hex>``: ordered by time, strictly increasing in this process."""
    with _lock:
        micros = int((now or utc_now()).timestamp() * 1_000_000)
        micros = max(micros, _last[0] + 1)
        _last[0] = micros
    when = datetime.fromtimestamp(micros / 1_000_000, UTC)
    return f"{when.strftime('%Y-%m-%dT%H:%M:%S.%f')}Z-{os.urandom(4).hex()}"


# -- structure ---------------------------------------------------------------------------
def queues(site):
    return site["transport"].queues


def dead_letters(site):
    return site["transport"].dead


def destination(site, code, create=False):
    found = queues(site).get(code)
    if found is None and create:
        found = queues(site)[code] = Destination(code)
    return found


# -- enqueueing --------------------------------------------------------------------------
def enqueue(site, adapter, kind, document_id, recipient, sender=None, extra=None, now=None):
    """Queue a ``kind`` message about the document named ``document_id`` for unit ``recipient``.

    ``adapter``: the recipient's adapter (informative; the worker uses the unit's current
    one). ``sender``: the unit that sent or acted (default: the document's sender).
    ``extra``: kind-specific fields (a status: its code, time, delivery key…).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown kind of message {kind!r}")
    document = site["documents"][document_id]
    now = now or utc_now()
    key = new_key(now)
    destination(site, recipient, create=True).messages[key] = Message(
        kind,
        document_id,
        document.document_id,
        recipient,
        sender or document.sender_code,
        adapter,
        extra,
        iso(now),
    )
    return key


def status_extra(delivery):
    """What a status message must say as it was at this change (a later change may overwrite the
    delivery before the worker runs): the code, time, reason and who."""
    last = delivery.history[-1] if delivery.history else {}
    return {
        "delivery": delivery.key,
        "status": delivery.state,
        "time": last.get("time") or delivery.arrived_at,
        "description": last.get("reason") or last.get("note") or "",
        "staff": last.get("actor", ""),
    }


def status_changed(site, delivery, side="recipient"):
    """Queue ``delivery``'s new status for the end that an adapter serves.

    A recipient's change (arrival, every act) goes to the document's sender when the
    sender's unit has an adapter; a sender's act (recall) goes to the recipient when its
    delivery went through an adapter.
    """
    if delivery.recipient_code is None:
        return None  # a personal delivery: no eOffice end to tell
    document = delivery.document
    if side == "sender":
        if not delivery.transport:
            return None
        extra = dict(status_extra(delivery), reporter=document.sender_code)  # the sender speaks (13: recall)
        return enqueue(
            site,
            delivery.transport,
            "status",
            document.id,
            delivery.recipient_code,
            sender=document.sender_code,
            extra=extra,
        )
    sender = site["directory"].get(document.sender_code)
    if sender is None or not sender.adapter:
        return None
    return enqueue(
        site,
        sender.adapter,
        "status",
        document.id,
        sender.code,
        sender=delivery.recipient_code,
        extra=status_extra(delivery),
    )


# -- subscribers (core/exchange.py): what a send or a status change queues, in its transaction ---------
def on_delivery_queued(event):
    """``DeliveryQueued``: the document goes to the recipient unit's adapter.

    The message names the ``group``: every recipient of the document reached through the
    same adapter, so that an adapter that can carry one package to many (the national axis)
    sends it once and answers the group's other messages from that send."""
    delivery, site = event.delivery, event.site
    directory = site["directory"]
    group = [
        code
        for code in delivery.document.recipients
        if code in directory and directory[code].adapter == delivery.transport
    ]
    extra = {"group": group} if len(group) > 1 else None
    enqueue(site, delivery.transport, "document", delivery.document.id, delivery.recipient_code, extra=extra)


def on_delivery_arrived(event):
    """``DeliveryArrived``: "arrived" (01) to a sender served by an adapter (R6.5)."""
    status_changed(event.site, event.delivery)


def on_delivery_acted(event):
    """``DeliveryActed``: the new status to the end an adapter serves (R6.5), even when the state
    stayed the same (a reassignment is reported too)."""
    status_changed(event.site, event.delivery, side=event.side)


def status_message(site, env, delivery, extra):
    """The edXML status message bytes of ``delivery`` as it was when queued (``status_extra``)."""
    from .. import edxml
    from . import edxml_io

    status = edxml_io.status_of(site, env, delivery)
    if extra.get("status"):
        status["status_code"] = extra["status"]
    if extra.get("time"):
        status["timestamp"] = (
            datetime.fromisoformat(extra["time"]).astimezone(env.timezone).isoformat(timespec="seconds")
        )
    if "description" in extra:
        status["description"] = extra.get("description") or ""
    if "staff" in extra:
        status["staff_info"] = dict(status.get("staff_info") or {}, staff=extra.get("staff") or "")
    reporter = site["directory"].get(extra.get("reporter") or "")
    if reporter is not None:  # a sender's act: the status comes from the sender, not the recipient
        status["from"] = {"organ_id": reporter.code, "organ_name": reporter.name}
    return edxml.build_status(status)


def payload(site, env, message, unit):
    """The bytes an adapter carries for the queued ``message`` to ``unit``: its document's edXML
    package, or the status message as it was when queued.

    Raises ``Unbuildable`` (a ``PermanentError``) when they can never be built as things are
    stored: the document or its delivery is gone, or the edXML codec refuses what is stored
    (a text XML cannot carry, from before the inputs refused it). Anything else (a blob store that
    does not answer) may pass, and is the caller's to retry.
    """
    from . import edxml_io

    document = site["documents"].get(message.document)
    if document is None:
        raise Unbuildable(f"document {message.document} is no longer on the hub")
    try:
        if message.kind == "document":
            return edxml_io.export_document(site, env, document, wrap=edxml_io.wrap_for(env, unit))
        delivery = document.delivery_for(message.extra.get("delivery") or "")
        if delivery is None:
            raise Unbuildable(
                f"document {message.document_id} has no delivery {message.extra.get('delivery')}"
            )
        return status_message(site, env, delivery, message.extra)
    except EdxmlError as exc:
        raise Unbuildable(f"cannot build the message: {exc.text()}") from None


# -- reading -----------------------------------------------------------------------------
def pending(site):
    """Every queued message as ``(key, dict)``, in key order across destinations."""
    found = []
    for dest in queues(site).values():
        found += [(k, m.as_dict()) for k, m in dest.messages.items()]
    return sorted(found, key=lambda item: item[0])


def overview(site, now=None):
    """Per destination with messages: code, count, oldest queued time, head, lease."""
    now_iso = iso(now or utc_now())
    rows = []
    for code, dest in queues(site).items():
        key, head = dest.head()
        if head is None:
            continue
        rows.append(
            {
                "code": code,
                "count": len(dest.messages),
                "head_key": key,
                "head": head,
                "oldest": head.queued_at,
                "leased": dest.leased(now_iso),
                "lease_owner": dest.lease_owner,
                "lease_until": dest.lease_until,
            }
        )
    return rows


# -- the worker's moves ------------------------------------------------------------------
def backoff(attempts, base, cap, rand):
    """Seconds to wait after ``attempts`` failures: min(cap, base·2^(attempts-1)) × jitter 0.5–1.5."""
    return min(cap, base * 2 ** max(0, attempts - 1)) * (0.5 + rand())


def failed(dest, key, reason, now, delay):
    message = dest.messages[key]
    message.attempts += 1
    message.last_error, message.failure = str(reason)[:2000], TRANSIENT
    message.next_attempt = iso(now + timedelta(seconds=delay))
    return message


def bury(site, dest, key, reason, now, failure=EXHAUSTED):
    """Move the message ``key`` of ``dest`` to the dead letters with its last error (``failure``: what it was)."""
    message = dest.messages.pop(key)
    message.last_error, message.failure = str(reason)[:2000], failure
    message.dead_at = iso(now)
    dead_letters(site)[key] = message
    return message


def failure_of(message):
    """What went wrong with ``message`` (one of ``FAILURES``), or "" when nothing did or it is
    not known (a dead letter from before the failure was kept: its ``last_error`` alone)."""
    if message.failure:
        return message.failure
    return TRANSIENT if message.last_error and message.dead_at is None else ""


def failure_for(error):
    """The ``FAILURES`` kind of an error that makes a message a dead letter at once (``set_aside``)."""
    return UNBUILDABLE if isinstance(error, Unbuildable) else REFUSED


def set_aside(site, env, dest, key, reason, now, failure=REFUSED):
    """A message that can never be delivered as it is: a dead letter at once, marked
    ``permanent``, and ``MessageSetAside`` for the operator; the destination's next message
    is its head now."""
    message = bury(site, dest, key, reason, now, failure)
    message.permanent = True
    env.notify(MessageSetAside(message, key, site))
    return message


def set_aside_pulled(site, env, delivery, reason):
    """The package of ``delivery`` cannot be built for the recipient's product that pulls it:
    off its pending list (so the product goes on with the next), a permanent dead letter
    (``PULLED``), ``MessageSetAside``. Once only: False when it was no longer listed."""
    from . import edxml_pull

    if not edxml_pull.unlist(site, delivery):
        return False
    document = delivery.document
    now = env.now()
    message = Message(
        "document",
        document.id,
        document.document_id,
        delivery.recipient_code,
        document.sender_code,
        PULLED,
        None,
        iso(now),
    )
    message.attempts = 1
    message.last_error, message.failure = str(reason)[:2000], UNBUILDABLE
    message.dead_at = iso(now)
    message.permanent = True
    key = new_key(now)
    dead_letters(site)[key] = message
    env.notify(MessageSetAside(message, key, site))
    return True


def get_dead(site, key):
    message = dead_letters(site).get(key or "")
    if message is None:
        raise NotFound(_("No dead letter ${key}."), field="key", key=(key or "")[:80])
    return message


def retry(site, actor, key, now=None):
    """Put a dead letter back at its place in its destination's queue, attempts reset."""
    message = get_dead(site, key)
    del dead_letters(site)[key]
    message.attempts, message.dead_at, message.permanent = 0, None, False
    message.next_attempt = iso(now or utc_now())
    document = site["documents"].get(message.document)
    delivery = document.delivery_for(message.recipient) if document is not None else None
    if message.adapter == PULLED and delivery is not None:
        from . import edxml_pull

        edxml_pull.relist(site, delivery)  # back on the product's pending list, at its place
    else:
        destination(site, message.recipient, create=True).messages[key] = message
    audit.record(
        site,
        actor,
        "transport.retry",
        f"/transport/dead/{key}",
        recipient=message.recipient,
        kind=message.kind,
        document_id=message.document_id,
        last_error=message.last_error,
    )
    return message


def discard(site, actor, key):
    """Remove a dead letter for good."""
    message = get_dead(site, key)
    del dead_letters(site)[key]
    audit.record(
        site,
        actor,
        "transport.discard",
        f"/transport/dead/{key}",
        recipient=message.recipient,
        kind=message.kind,
        document_id=message.document_id,
        last_error=message.last_error,
    )
    return message
