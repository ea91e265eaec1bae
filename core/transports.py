"""What an eOffice adapter is (hook ``lienthong_transports``) and what it is given.

An adapter carries messages between the hub and one kind of eOffice product (or another
hub). The worker (``lienthong worker``) takes a message from the durable queue, builds its
payload (an edXML package or status message) in a read transaction, and calls the
adapter's ``deliver`` outside any transaction; the result is committed afterwards. A
delivery may therefore be repeated after a crash (at-least-once): receivers deduplicate
by DocumentId (documents) or by (DocumentId, unit, status code, time) (statuses).

An adapter that must look for inbound messages (a hot folder) implements ``poll``; the
worker calls it on its schedule and hands what it returns to the core's inbound service.
An adapter that is a centre of a network for the whole hub (the national document axis)
sets ``centre_poll_seconds`` and implements ``poll_centre``: the worker calls it once per
hub on that schedule, not once per unit. What one poll returned is imported in one
transaction (a savepoint each); each inbound message's ``done`` is called with an
``InboundResult`` once the hub committed or refused it, so the adapter acknowledges only
what is stored (a duplicate is a success; a refusal says whether a retry could help). The
``done`` of one poll's messages may run on several threads at once: each must be safe to
call beside the others.

What an adapter is given: the application's settings once, through ``configure``, when the
core gathers the adapters (an adapter that reads ini settings keeps what it read on
itself, never in its module); a unit's own settings (its ``Setting``s, filled in on the
unit's form) with every message (``OutboundMessage.settings``) and every ``poll``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from zope.interface import implementer

from .interfaces import IAdapter


class TransportError(RuntimeError):
    """A delivery failed. ``permanent``: retrying cannot help (the message becomes a dead letter)."""

    permanent = False

    def __init__(self, reason: str, permanent: bool | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if permanent is not None:
            self.permanent = permanent


class PermanentError(TransportError):
    permanent = True


@dataclass
class Delivered:
    """What ``deliver_batch`` may give for a delivered message instead of None: the id the
    other side gave it (the national axis's DocId), kept on the delivery's timeline."""

    reference: str = ""


@dataclass
class Setting:
    """One setting of an adapter on a unit's directory entry (shown on the unit's form)."""

    name: str
    title: str
    required: bool = False
    secret: bool = False  # never shown back once saved (passwords, HMAC keys)
    default: str = ""


@dataclass
class OutboundMessage:
    """One queued message, as the worker hands it to ``Adapter.deliver``."""

    key: str  # the queue key: stable across retries (a receiver may use it too)
    kind: str  # "document" or "status"
    document_id: str  # the edXML DocumentId
    recipient: str  # the unit code the message is for
    sender: str  # the unit code that sent the document (documents) or acted (statuses)
    payload: bytes  # the edXML package or status message (XML bytes)
    attempts: int = 0  # failed attempts so far
    settings: dict[str, str] = field(default_factory=dict)  # the recipient unit's adapter settings
    extra: dict[str, Any] = field(default_factory=dict)  # status code, delivery key… (kind-specific)


@dataclass
class InboundMessage:
    """What ``Adapter.poll`` found: an edXML package or status message from ``unit``."""

    unit: str  # the unit code whose product produced it
    kind: str  # "document" or "status"
    payload: bytes
    source: str = ""  # where it came from (file name, URL), for the audit record
    done: Callable[[InboundResult], None] | None = None  # called once committed or refused (any thread)


@dataclass
class TransportReport:
    """What the other side says of a message it was given (the axis's sent list): the worker
    puts it on the delivery's timeline and flags a lost one on ``/manage/transport``."""

    reference: str  # the id the other side gave it (``Delivered.reference``)
    recipient: str  # the unit code it was for
    state: str  # one of REPORT_STATES
    description: str = ""  # the other side's words


#: what a ``TransportReport`` may say: on its way, received by the recipient's system, or
#: failed / lost (the other side will not deliver it: flagged for the operator)
REPORT_STATES = ("pending", "received", "failed", "lost")


@dataclass
class InboundResult:
    """What became of an ``InboundMessage``: the argument of its ``done``."""

    ok: bool  # stored now, or already stored before (``duplicate``)
    reason: str = ""  # why it was refused (English, for logs)
    message: Any = None  # the same as a translatable message when the hub's rules refused it
    duplicate: bool = False  # the hub had it already: a success, never to be offered again
    permanent: bool = True  # a refusal a retry cannot change (False: the hub was busy or down)


@implementer(IAdapter)
class Adapter:
    """Base class of an adapter; plugins subclass it (start-up checks each against ``IAdapter``)."""

    name = ""  # the value of a unit's ``adapter`` field
    title = ""
    settings: Sequence[Setting] = ()  # the unit's settings this adapter reads
    batch_size = 1  # how many queued messages of one destination ``deliver_batch`` may take at once
    centre_poll_seconds: float | None = None  # set by an adapter that polls for the whole hub
    network = False  # True: its units are another hub's or the national axis's (no one works in them here)
    report_seconds: float | None = None  # set by a centre that reports on what it was given

    def configure(self, app_settings: Mapping[str, Any]) -> None:
        """Take what this adapter needs from the application's settings (the ini's ``[app:main]``).

        The core calls it once on each adapter the hook ``lienthong_transports`` returned,
        before any other method. Raise nothing: keep a setting that cannot work and say so
        from ``check_settings`` or as a ``TransportError`` from ``deliver_batch``
        (``lienthong_configure`` is where a bad setting stops the start). The default
        needs nothing.
        """

    def check_settings(self, values: Mapping[str, str]) -> list[str]:
        """Reasons (strings) why ``values`` cannot work; empty when they can."""
        missing = [s.name for s in self.settings if s.required and not values.get(s.name)]
        return [f"{name} is required" for name in missing]

    def deliver(self, message: OutboundMessage, env: Any) -> Delivered | None:
        """Send ``message`` (an ``OutboundMessage``); raise ``TransportError`` on failure.

        Return None, or a ``Delivered`` naming the id the other side gave the message."""
        raise NotImplementedError

    def deliver_batch(
        self, messages: Sequence[OutboundMessage], env: Any
    ) -> list[Delivered | TransportError | None]:
        """Deliver ``messages`` (one destination, in queue order); return the results in order.

        Each result is None or a ``Delivered`` (delivered) or the ``TransportError`` that stopped it; the list
        ends at the first failure, and the messages after it stay queued (order per
        destination is kept). The default delivers one by one.
        """
        results: list[Delivered | TransportError | None] = []
        for message in messages:
            try:
                delivered = self.deliver(message, env)
            except TransportError as exc:
                results.append(exc)
                break
            results.append(delivered)
        return results

    def poll(self, unit_code: str, settings: Mapping[str, str], env: Any) -> Sequence[InboundMessage]:
        """Inbound messages waiting for the hub from ``unit_code``'s product (default: none)."""
        return []

    def check_connection(self, env: Any) -> Any:
        """The operator's connection test (``/manage/transport``): what the other side answered
        (text, translatable), or raise ``TransportError`` saying why not. An adapter without
        a test of the whole connection keeps this default, and the page offers none."""
        return None

    def reports(self, env: Any) -> Sequence[TransportReport]:
        """What the other side says of the messages it was given (``report_seconds`` set)."""
        return []

    def poll_centre(self, env: Any) -> Sequence[InboundMessage]:
        """Inbound messages waiting for the whole hub (``centre_poll_seconds`` set; default: none)."""
        return []

    # Optional, for ``lienthong bench --queue N --queue-via NAME``: an adapter may offer
    # ``bench_destination(workdir, sender_units)`` returning an object with ``units`` (codes
    # the sending hub addresses through this adapter), ``adapter_settings`` (their settings),
    # ``sender_settings`` (ini settings the sending hub needs) and ``stop()``.
