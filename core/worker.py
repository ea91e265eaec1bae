"""The transport worker (R6.5): drains the durable queue through the adapters, polls inbound.

One loop, run by ``lienthong worker`` (a process of its own, on ZEO or RelStorage several
at once) or by ``lienthong serve`` as a thread (FileStorage, one process). Per round:

1. find destinations whose head message is due and whose lease is free;
2. claim one: a short transaction writes this worker's lease on the destination; a
   ``ConflictError`` means another worker took it first, so this one moves on. A lease
   runs out after ``lienthong.transport.lease_seconds``: a crashed worker's batch is
   delivered again by another (at-least-once; receivers deduplicate);
3. build the payloads (edXML package or status message) in a read transaction;
4. call ``adapter.deliver_batch`` outside any transaction;
5. record in one transaction: delivered documents arrive, delivered messages leave the
   queue; a failure that may pass counts an attempt and waits (exponential backoff with
   jitter) ahead of its destination's other messages, until ``max_attempts`` makes it a dead
   letter; one that cannot succeed on retry (``PermanentError``, a payload the codec cannot
   build) is a dead letter at once, the operator alerted, and the next message goes on.

Every ``poll_seconds`` it also asks each adapter's ``poll`` for inbound messages of the
units it serves, and an adapter that is a centre for the whole hub (the national axis)
its ``poll_centre`` on that adapter's own schedule; what one poll found goes to
``core.services.inbound`` in one transaction, a savepoint per message (a refused one is
rolled back alone), and once it committed each message's ``done`` learns what became of
it. Its settings are read in ``core/worker_settings.py``.
"""

import logging
import os
import random
import socket
import threading
import time
from datetime import timedelta

import transaction
from ZODB.POSException import ConflictError

from . import notice_mail, worker_inbound
from .clock import iso
from .db import run_in_site
from .jobs import ScheduledJob
from .metrics import transport_counters
from .plugins import adapters_of
from .transports import Adapter, Delivered, OutboundMessage, TransportError
from .worker_settings import setting

log = logging.getLogger(__name__)


def default_id():
    return f"{socket.gethostname()}-{os.getpid()}-{threading.get_ident() % 100000}"


class Worker:
    """One worker: its own connection to the database, its id, the adapters by name."""

    def __init__(self, db, registry, worker_id=None, clock=None):
        from .services.env import get_env

        self.db = db
        self.registry = registry
        self.env = get_env(registry)
        settings = registry.settings or {}
        self.max_attempts = setting(settings, "lienthong.transport.max_attempts")
        self.backoff_base = setting(settings, "lienthong.transport.backoff_base")
        self.backoff_cap = setting(settings, "lienthong.transport.backoff_cap")
        self.lease_seconds = setting(settings, "lienthong.transport.lease_seconds")
        self.poll_seconds = setting(settings, "lienthong.transport.poll_seconds")
        self.idle_seconds = setting(settings, "lienthong.transport.idle_seconds")
        self.threads = setting(settings, "lienthong.transport.threads")
        self.inbound_batch = setting(settings, "lienthong.transport.inbound_batch")
        self._pool = None  # ``pool()``: made at the first use
        self.housekeeping_seconds = setting(settings, "lienthong.worker.housekeeping_seconds")
        self.digest_at = setting(settings, "lienthong.worker.digest_at")
        self.notice_mail_seconds = setting(settings, "lienthong.worker.notice_mail_seconds")
        self.next_notice_mail = 0.0  # monotonic time of the next round of notice mail (core/notice_mail.py)
        self.id = worker_id or default_id()
        self.clock = clock or self.env.now
        self.random = random.Random()
        self.adapters = adapters_of(self.env.plugins)
        self.metrics = transport_counters(registry)
        self.tm = transaction.TransactionManager()
        self.conn = db.open(transaction_manager=self.tm)
        self.next_poll = 0.0
        self.next_centre_poll = {}  # adapter name -> monotonic time of its next poll_centre
        self.centres = [n for n, a in self.adapters.items() if getattr(a, "centre_poll_seconds", None)]
        self.held_centres = set()  # centres whose lease this worker keeps for its next poll
        self.next_report = {}  # adapter name -> monotonic time of its next reports
        plugin_jobs = self.env.plugins.hook.lienthong_scheduled_jobs(settings=settings)
        self.jobs = [ScheduledJob("housekeeping", self.housekeeping_seconds, self.chores)]
        self.jobs += [job for found in plugin_jobs for job in found or ()]
        self.next_job = {}  # job name -> monotonic time of its next run

    def close(self):
        for name in list(self.held_centres):
            self._drop_lease(name)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        self.tm.abort()
        self.conn.close()

    # -- transactions --------------------------------------------------------------------
    def read(self, fn):
        """``fn(site)`` on a fresh snapshot; nothing is written."""
        return run_in_site(self.db, fn, attempts=1, commit=False, connection=self.conn)

    def write(self, fn, attempts=5):
        """``fn(site)`` in a transaction, committed; retried on a conflict after a growing
        pause (``retry.pause``; ``fn`` must be repeatable)."""
        return run_in_site(self.db, fn, attempts, connection=self.conn)

    def _count(self, name, adapter, n=1):
        if self.metrics and n:
            self.metrics[name].labels(adapter=adapter or "-").inc(n)

    # -- outbound ------------------------------------------------------------------------
    def due(self, adapter=None):
        """Codes of destinations whose head is due and that no other worker holds, shuffled
        (``adapter``: only the destinations of the units that adapter serves).

        While another worker holds a centre's lease (the national axis), the destinations of
        that centre's adapter are left to it: its import queues their statuses, and draining a
        queue while a transaction appends to it makes one of the two conflict (the import, the
        longer, loses and runs again). The holder drains them before it lets the lease go.
        """
        from .services import outbound

        now = iso(self.clock())

        def find(site):
            codes = []
            importing = {  # centres another worker is importing from now
                name for name in self.centres if site["transport"].centre_held(name, now, self.id)
            }
            for code, dest in outbound.queues(site).items():
                _key, head = dest.head()
                if head is None or head.next_attempt > now or dest.leased(now, self.id):
                    continue
                served_by = getattr(site["directory"].get(code), "adapter", None)
                if served_by in importing or (adapter is not None and served_by != adapter):
                    continue
                codes.append(code)
            return codes

        codes = self.read(find)
        self.random.shuffle(codes)
        return codes

    def claim(self, code):
        """Lease ``code`` and take its first messages: (adapter, keys), or None (taken, not due, dead)."""
        from .services import outbound

        now = self.clock()
        now_iso = iso(now)

        def take(site):
            dest = outbound.destination(site, code)
            if dest is None or dest.leased(now_iso, self.id):
                return None
            _key, head = dest.head()
            if head is None or head.next_attempt > now_iso:
                return None
            unit = site["directory"].get(code)
            reason = None
            if unit is None:
                reason = f"unit {code} is not in the directory"
            elif not unit.adapter:
                reason = f"unit {code} has no adapter any more"
            elif unit.adapter not in self.adapters:
                reason = f"no adapter named {unit.adapter!r} is installed (unit {code})"
            if reason:
                keys = list(dest.messages.keys())
                for key in keys:
                    outbound.bury(site, dest, key, reason, now, outbound.NO_ADAPTER)
                log.warning("transport: %s: %d message(s) moved to the dead letters", reason, len(keys))
                return ("", keys, reason)
            adapter = self.adapters[unit.adapter]
            size = max(1, int(getattr(adapter, "batch_size", 1) or 1))
            keys = []
            for key in dest.messages.keys():
                keys.append(key)
                if len(keys) >= size:
                    break
            dest.lease_owner = self.id
            dest.lease_until = iso(now + timedelta(seconds=self.lease_seconds))
            return (unit.adapter, keys, None)

        try:
            found = self.write(take, attempts=1)
        except ConflictError:
            return None  # another worker claimed it (or a sender wrote at that moment)
        if found is None:
            return None
        adapter, keys, dead = found
        if dead:
            self._count("dead", adapter, len(keys))
            return None
        return adapter, keys

    def build(self, code, keys):
        """The ``OutboundMessage`` of each key, in order; a payload that cannot be built ends
        the list with (key, error)."""
        from .services import outbound

        def make(site):
            dest = outbound.destination(site, code)
            unit = site["directory"][code]
            settings = dict(unit.adapter_settings or {})
            built = []
            for key in keys:
                message = dest.messages.get(key) if dest is not None else None
                if message is None:
                    continue  # gone meanwhile
                try:
                    payload = outbound.payload(site, self.env, message, unit)
                except TransportError as exc:  # permanent: the payload can never be built
                    return built, (key, exc)
                except Exception as exc:  # a store that is down: it may pass
                    log.exception("transport: cannot build the payload of %s", key)
                    return built, (
                        key,
                        TransportError(f"cannot build the message: {type(exc).__name__}: {exc}"),
                    )
                built.append(
                    OutboundMessage(
                        key=key,
                        kind=message.kind,
                        document_id=message.document_id,
                        recipient=message.recipient,
                        sender=message.sender,
                        payload=payload,
                        attempts=message.attempts,
                        settings=settings,
                        extra=dict(message.extra),
                    )
                )
            return built, None

        return self.read(make)

    def deliver(self, adapter, messages):
        """``adapter.deliver_batch`` outside any transaction; an unexpected exception is a failure."""
        if not messages:
            return []
        try:
            results = list(adapter.deliver_batch(messages, self.env) or [])
        except TransportError as exc:
            results = [exc]
        except Exception as exc:
            log.exception("transport: adapter %s failed", adapter.name)
            results = [TransportError(f"{type(exc).__name__}: {exc}")]
        return results[: len(messages)]

    def record(self, code, adapter_name, outcomes):
        """One transaction: delivered messages leave (documents arrive), a failure waits or dies."""
        from .services import deliveries, outbound

        now = self.clock()
        counts = {}

        def apply(site):
            counts.clear()
            dest = outbound.destination(site, code)
            for key, result in outcomes:
                message = dest.messages.get(key)
                if message is None:
                    continue
                if result is None or isinstance(result, Delivered):
                    del dest.messages[key]
                    counts["delivered"] = counts.get("delivered", 0) + 1
                    if message.kind == "document":
                        document = site["documents"].get(message.document)
                        delivery = document.delivery_for(message.recipient) if document is not None else None
                        if delivery is not None and delivery.state == "":
                            reference = result.reference if result is not None else ""
                            deliveries.arrive(site, self.env, delivery, now, reference=reference)
                    continue
                reason = getattr(result, "reason", None) or str(result)
                counts["failed"] = counts.get("failed", 0) + 1
                permanent = getattr(result, "permanent", False)  # no retry can help: aside at once
                if permanent or message.attempts + 1 >= self.max_attempts:
                    message.attempts += 1
                    if permanent:  # a dead letter, the operator alerted; the next message goes on
                        failure = outbound.failure_for(result)
                        outbound.set_aside(site, self.env, dest, key, reason, now, failure)
                    else:
                        outbound.bury(site, dest, key, reason, now)
                    counts["dead"] = counts.get("dead", 0) + 1
                    log.warning(
                        "transport: %s to %s is a dead letter after %d attempt(s): %s",
                        key,
                        code,
                        message.attempts,
                        reason,
                    )
                else:
                    delay = outbound.backoff(
                        message.attempts + 1, self.backoff_base, self.backoff_cap, self.random.random
                    )
                    outbound.failed(dest, key, reason, now, delay)
                    log.info(
                        "transport: %s to %s failed (attempt %d, next in %.0fs): %s",
                        key,
                        code,
                        message.attempts,
                        delay,
                        reason,
                    )
                break  # the rest of the batch stays queued (due at once behind a permanent failure)
            if dest.lease_owner == self.id:
                dest.lease_owner, dest.lease_until = None, None

        self.write(apply, attempts=10)
        for name, n in counts.items():
            self._count(name, adapter_name, n)
        return counts.get("delivered", 0)

    def process(self, code):
        """Claim, build, deliver and record one batch of ``code``; the number of messages handled."""
        claimed = self.claim(code)
        if claimed is None:
            return 0
        adapter_name, keys = claimed
        adapter = self.adapters[adapter_name]
        messages, broken = self.build(code, keys)
        results = self.deliver(adapter, messages)
        outcomes = list(zip((m.key for m in messages), results))
        delivered = all(r is None or isinstance(r, Delivered) for r in results)
        if broken is not None and len(results) == len(messages) and delivered:
            outcomes.append(broken)
        self.record(code, adapter_name, outcomes)
        return max(1, len(outcomes))

    def drain_once(self, stop_event=None, adapter=None):
        """One pass over the due destinations (of ``adapter``'s units only, when given); the
        number of messages handled."""
        handled = 0
        for code in self.due(adapter):
            if stop_event is not None and stop_event.is_set():
                break
            handled += self.process(code)
        return handled

    # -- inbound -------------------------------------------------------------------------
    def poll(self):
        """Ask every adapter for inbound messages of the units it serves; hand each to the hub."""

        polling = {name for name, a in self.adapters.items() if type(a).poll is not Adapter.poll}
        if not polling:  # no adapter looks per unit: no walk over a national directory
            return 0

        def units(site):
            return [
                (u.code, u.adapter, dict(u.adapter_settings or {}))
                for u in site["directory"].values()
                if u.adapter in polling
            ]

        handled = 0
        for code, name, settings in self.read(units):
            adapter = self.adapters[name]
            try:
                found = list(adapter.poll(code, settings, self.env) or ())
            except Exception:
                log.exception("transport: polling %s for %s failed", name, code)
                continue
            self.receive_all(adapter, found)
            handled += len(found)
        return handled

    def receive(self, adapter, message):
        """One inbound message (``receive_all`` of one)."""
        self.receive_all(adapter, [message])

    def receive_all(self, adapter, messages):
        """Inbound ``messages``, ``inbound_batch`` of them per transaction (``receive_batch``)."""
        results = []
        for start in range(0, len(messages), self.inbound_batch):
            results += worker_inbound.receive_batch(
                self, adapter, messages[start : start + self.inbound_batch]
            )
        return results

    def pool(self):
        """The worker's threads for an adapter's network calls (``lienthong.transport.threads``)."""
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix=f"worker-{self.id}")
        return self._pool

    def poll_centres(self):
        """Adapters that are a network's centre for the whole hub (the national axis) poll on
        their own schedule (``centre_poll_seconds``), once per hub and not once per unit.

        The worker that found something keeps the centre's lease for its next poll (renewed
        each time), so that one worker with a warm cache goes on while there is work and
        the others are not handed a cold one at each round; it lets the lease go when a poll
        finds nothing, or when it stops (a worker that dies loses it when it runs out)."""
        handled = 0
        for name, adapter in self.adapters.items():
            seconds = getattr(adapter, "centre_poll_seconds", None)
            if not seconds or time.monotonic() < self.next_centre_poll.get(name, 0.0):
                continue
            self.next_centre_poll[name] = time.monotonic() + float(seconds)
            if not self._take_lease(name):
                continue  # another worker polls it now
            found = []
            try:
                found = list(adapter.poll_centre(self.env) or ())
                self.receive_all(adapter, found)
                handled += len(found)
                self._reconcile(name, adapter)
                # the statuses the import queued, while the lease surely lasts
                deadline = time.monotonic() + self.lease_seconds / 2
                while found and time.monotonic() < deadline and self.drain_once(adapter=name):
                    pass
            except Exception:
                log.exception("transport: polling the centre %s failed", name)
                found = []
            finally:
                if found:
                    self.held_centres.add(name)
                else:
                    self._drop_lease(name)
        return handled

    def run_jobs(self):
        """The scheduled jobs that are due (the core's chores, the plugins'), each in its own
        transaction, under a lease."""
        for job in self.jobs:
            if time.monotonic() < self.next_job.get(job.name, 0.0):
                continue
            self.next_job[job.name] = time.monotonic() + float(job.seconds)
            lease = f"job:{job.name}"
            if not self._take_lease(lease):
                continue
            try:
                self.write(lambda site, job=job: job.run(site, self.env))
            except Exception:
                log.exception("worker: the scheduled job %s failed", job.name)
            finally:
                self._drop_lease(lease)

    def _reconcile(self, name, adapter):
        """Every ``report_seconds``: what the other side says of what it was given, on the
        deliveries' timelines (one transaction for the lot)."""
        from .services import deliveries

        seconds = getattr(adapter, "report_seconds", None)
        if not seconds or time.monotonic() < self.next_report.get(name, 0.0):
            return
        self.next_report[name] = time.monotonic() + float(seconds)
        reports = list(adapter.reports(self.env) or ())
        if reports:
            changed = self.write(lambda site: deliveries.transport_reported(site, self.env, name, reports))
            log.info("transport: %s reported on %d message(s), %d changed", name, len(reports), changed)

    def _take_lease(self, name):
        """This worker's lease on a centre's poll or a scheduled job (``transport.centre_leases``)."""
        now = self.clock()
        until = iso(now + timedelta(seconds=self.lease_seconds))
        try:
            return self.write(
                lambda site: site["transport"].lease_centre(name, self.id, iso(now), until), attempts=1
            )
        except ConflictError:
            return False  # another worker took it at this moment

    def _drop_lease(self, name):
        self.held_centres.discard(name)
        try:
            self.write(lambda site: site["transport"].release_centre(name, self.id))
        except Exception:  # the lease runs out by itself
            log.exception("worker: cannot release the lease on %s", name)

    # -- chores ------------------------------------------------------------------------
    def chores(self, site, env):
        """The core's own scheduled job: spent API login tokens and sessions go (their audit entries stay)."""
        from .services import sessions, tokens

        removed = tokens.prune_all_login_tokens(site, self.clock())
        removed += sessions.prune_all(site, sessions.SessionPolicy.from_settings(env.settings), self.clock())
        if removed:
            log.info("housekeeping: %d spent login token(s) and session(s) removed", removed)
        return removed

    def scheduled_digest(self):
        """The daily digest once ``digest_at`` has passed, local time: once a day, by one worker.

        The day is claimed first, in a transaction of its own (a conflict: another worker has
        it), so two workers never mail the same people; then the digest runs as
        ``lienthong digest`` does. Returns its report, or None when it is not time or not ours.
        """
        if not self.digest_at:
            return None
        from .services import digest as digests

        now = self.clock().astimezone(self.env.timezone)
        if now.strftime("%H:%M") < self.digest_at:
            return None
        day = now.date()

        def claim(site):
            transport = site["transport"]
            if transport.digest_day == day.isoformat():
                return False
            transport.digest_day = day.isoformat()
            return True

        try:
            if not self.write(claim, attempts=1):
                return None
        except ConflictError:
            return None
        sent = set()
        try:
            report = run_in_site(
                self.db,
                lambda site: digests.run(site, self.env, today=day, already_sent=sent),
                attempts=3,
                commit=lambda report: not report.skipped,
                connection=self.conn,
            )
        except ConflictError:
            log.error("the digest of %s kept conflicting; run `lienthong digest` by hand", day)
            return None
        except Exception:
            log.exception("the digest of %s failed; run `lienthong digest` by hand", day)
            return None
        if not report.skipped:
            log.info("digest of %s: %d mail(s) sent, %d refused", day, report.sent, report.refused)
        return report

    # -- the loop ------------------------------------------------------------------------
    def run(self, stop_event, once=False):
        """Until ``stop_event`` is set (or, ``once``, until nothing is due): drain, poll, do chores."""
        total = 0
        while not stop_event.is_set():
            try:
                total += self.poll_centres()
                self.run_jobs()
                notice_mail.run_due(self)  # mails of committed notices (/mail)
            except Exception:
                log.exception("transport: polling the centres failed")
            if time.monotonic() >= self.next_poll:
                self.next_poll = time.monotonic() + self.poll_seconds
                try:
                    total += self.poll()
                except Exception:
                    log.exception("transport: polling failed")
                self.scheduled_digest()
            try:
                handled = self.drain_once(stop_event)
            except ConflictError:
                handled = 1  # busy: look again at once
            except Exception:
                log.exception("transport: the worker round failed")
                handled = 0
                if once:
                    raise
            total += handled
            if handled:
                self.conn.cacheGC()
                continue
            if once:
                break
            stop_event.wait(self.idle_seconds)
        return total


def run(db, registry, stop_event, worker_id=None, once=False):
    """The worker loop on ``db`` with ``registry``'s plugins and settings; returns messages handled."""
    worker = Worker(db, registry, worker_id)
    log.info(
        "transport worker %s started (adapters: %s)", worker.id, ", ".join(sorted(worker.adapters)) or "none"
    )
    handled = 0
    try:
        handled = worker.run(stop_event, once=once)
        return handled
    finally:
        worker.close()
        log.info("transport worker %s stopped: %d message(s) handled", worker.id, handled)


def start_thread(db, registry, worker_id=None):
    """The in-process worker of ``lienthong serve`` (FileStorage): (thread, stop event)."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run,
        args=(db, registry, stop),
        kwargs={"worker_id": worker_id},
        name="lienthong-worker",
        daemon=True,
    )
    thread.start()
    return thread, stop
