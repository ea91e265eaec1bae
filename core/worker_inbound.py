"""The worker's inbound half: what a poll found, into the hub through its one inbound door.

``receive_batch`` imports a batch of ``InboundMessage``s in one transaction, a savepoint
each: a message the hub refuses is rolled back alone (its refusal on the record) and the
others commit together. Only once the outcome is committed is each message's ``done`` told,
several at once on the worker's threads (an adapter acknowledges over the network).
"""

import logging

from ZODB.POSException import ConflictError

from .errors import ServiceError
from .transports import InboundResult

log = logging.getLogger(__name__)


def receive_batch(worker, adapter, messages):
    """Inbound ``messages`` in one transaction, a savepoint each; then each ``done`` is told.

    A message the hub refuses is rolled back alone (its refusal audited) and the others
    commit together, so that twenty packages cost one commit and not twenty. A conflict runs
    the transaction again, without the messages already refused for good (the inbound
    service put those on the record in a transaction of its own). ``done`` is called only
    once the outcome is committed: never "stored" for what a failed commit lost.
    """
    if not messages:
        return []
    refused = {}  # index -> InboundResult of a refusal for good, kept across attempts

    def take_all(site):
        results = dict(refused)
        for i, message in enumerate(messages):
            if i in refused:
                continue
            savepoint = worker.tm.get().savepoint()
            try:
                results[i] = InboundResult(ok=True, duplicate=_take(worker, site, adapter, message))
            except ConflictError:
                raise
            except Exception as exc:
                savepoint.rollback()
                results[i] = _refusal(site, adapter, message, exc)
                if results[i].permanent and getattr(exc, "recorded", False):
                    refused[i] = results[i]
        return [results[i] for i in range(len(messages))]

    try:
        results = worker.write(take_all)
    except Exception as exc:  # kept conflicting, or the commit failed: every one may pass later
        log.exception("transport: %d inbound message(s) from %s not stored", len(messages), adapter.name)
        reason = f"{type(exc).__name__}: {exc}"
        results = [
            refused.get(i) or InboundResult(ok=False, reason=reason, permanent=False)
            for i in range(len(messages))
        ]
    _tell(worker, adapter, list(zip(messages, results)))
    return results


def _take(worker, site, adapter, message):
    """Import ``message`` through the hub's one inbound door: True when the hub had it already."""
    from .services import inbound

    if message.kind == "status":
        _moved, applied = inbound.apply_status(site, worker.env, message.unit, message.payload, adapter.name)
        return not applied
    return not inbound.receive(site, worker.env, message.unit, message.payload, adapter.name).created


def _refusal(site, adapter, message, exc):
    """The ``InboundResult`` of ``exc``, audited in the current transaction unless the
    inbound service recorded it already: a refusal of the hub's rules stays a refusal,
    a busy or broken store may pass later."""
    from .services import audit

    reason = exc.text() if hasattr(exc, "text") else f"{type(exc).__name__}: {exc}"
    if not isinstance(exc, ValueError):
        log.exception("transport: inbound %s from %s failed", message.kind, message.unit)
    else:
        log.warning("transport: inbound %s from %s refused: %s", message.kind, message.unit, reason)
    if not getattr(exc, "recorded", False):
        audit.record(
            site,
            audit.Actor.system("worker"),
            "transport.inbound_refused",
            f"/directory/{message.unit}",
            adapter=adapter.name,
            kind=message.kind,
            source=message.source,
            reason=reason[:1000],
        )
    return InboundResult(
        ok=False,
        reason=reason,
        message=getattr(exc, "message", None) if isinstance(exc, ServiceError) else None,
        permanent=isinstance(exc, ServiceError),
    )


def _tell(worker, adapter, outcomes):
    """Each message's ``done`` with its result, several at once, all finished on return."""
    calls = [(m, r) for m, r in outcomes if m.done is not None]

    def tell(pair):
        message, result = pair
        try:
            message.done(result)
        except Exception:
            log.exception("transport: %s could not finish %s", adapter.name, message.source)

    if len(calls) <= 1:
        for pair in calls:
            tell(pair)
        return
    list(worker.pool().map(tell, calls))
