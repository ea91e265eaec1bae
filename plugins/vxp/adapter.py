"""The adapter ``vxp``: units reached through the national document axis.

Outbound, the worker hands one destination's messages in queue order; a package leaves
as one signed ``sendEdoc`` to all its axis recipients (``messagetype`` edoc; a status
message to its one recipient, ``messagetype`` status) and the axis's DocId is kept on
each delivery. A busy or silent axis is a retry; a FAIL (an agency it does not know, a hash it
refuses) is a dead letter with the axis's reason.

Up to ``batch_size`` messages of a destination go in one batch, ``lienthong.vxp.calls_at_once``
``sendEdoc`` calls in flight at once; the messages of one document go one after the other,
in queue order (its statuses must arrive as they were given).

Inbound, the adapter is a centre for the whole hub: the worker calls ``poll_centre`` every
``lienthong.vxp.poll_seconds``; the waiting items are fetched with ``getEdoc``, several at
once, and handed to the hub's one inbound door; once the hub committed it (or had it already) the item is
acknowledged ``done``, a refusal for good is ``done`` too (the axis would offer it forever)
and its sender gets a refusal status (02) with the reason, from each of our units it was
for; only a refusal that may pass later (the hub busy or down) is ``fail``, offered again.
"""

import hashlib
import logging
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from lienthong.core import edxml
from lienthong.core.i18n import _, site_localizer, translate_message
from lienthong.core.transports import (
    Adapter,
    Delivered,
    InboundMessage,
    PermanentError,
    TransportError,
    TransportReport,
)

from . import config as axis_config
from .client import AxisClient, AxisError

log = logging.getLogger(__name__)
KINDS = (("edoc", "document"), ("status", "status"))
#: the axis's receiveStatus of a sent package -> what the hub's timeline says
RECEIVE_STATES = {"done": "received", "pending": "pending", "processing": "pending", "fail": "failed"}
ROUND = 100  # items of each kind fetched in one poll
SENT_KEPT = 1000  # group sends remembered, so the group's other messages are not sent again


class VxpAdapter(Adapter):
    name = "vxp"
    title = _("The national document axis (VXP)")
    settings = ()
    network = True  # the agencies of the whole country: no one of this hub works in them
    batch_size = 20  # one claim and one record for this many messages of a destination

    def __init__(self):
        self.config = None  # this hub's AxisConfig, None when it is not on the axis
        self.problem = ""
        self.client = None
        self.sent = OrderedDict()  # (DocumentId, payload digest, group) -> the axis's DocId
        self.lock = threading.Lock()
        self._pool = None

    def pool(self):
        """Threads for the calls in flight at once (``calls_at_once``), made at the first use."""
        with self.lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.config.calls_at_once, thread_name_prefix="vxp")
            return self._pool

    def configure(self, app_settings):
        try:
            self.config = axis_config.load(app_settings)
        except axis_config.AxisConfigError as exc:  # lienthong_configure stops the start; a command says so
            self.config, self.problem = None, str(exc)
        self.client = AxisClient(self.config) if self.config is not None else None

    @property
    def centre_poll_seconds(self):
        return self.config.poll_seconds if self.config is not None else None

    @property
    def report_seconds(self):
        return self.config.reconcile_seconds if self.config is not None else None

    def reports(self, env):
        """``getSentEdocList``: what the axis did with each package this hub sent, per recipient.

        A recipient the axis does not serve (``not_found``) or a package it could not send is
        lost; the receiving centre's ``fail`` is failed (the axis offers it again)."""
        if self.client is None:
            return []
        try:
            rows = self.client.sent()
        except AxisError as exc:
            log.warning("vxp: cannot read what the axis did with what we sent: %s", exc.reason)
            return []
        found = []
        for row in rows:
            reference, code = str(row.get("senderDocId") or ""), str(row.get("toCode") or "")
            if not reference or not code:
                continue
            receive = str(row.get("receiveStatus") or "")
            if row.get("sendStatus") == "fail" or receive == "not_found":
                state = "lost"
                words = row.get("sendStatusDesc") or row.get("receiveStatusDesc") or receive
            else:
                state = RECEIVE_STATES.get(receive, "pending")
                words = row.get("receiveStatusDesc") or ""
            found.append(TransportReport(reference, code, state, str(words or "")[:300]))
        return found

    def _client(self):
        if self.client is None:
            raise PermanentError(
                self.problem or "this hub is not on the national axis: set lienthong.vxp.url (docs/vxp.md)"
            )
        return self.client

    def bench_destination(self, workdir, sender_units):
        """The simulated axis for ``lienthong bench --queue N --queue-via vxp``."""
        from .bench import start_destination

        return start_destination(workdir, sender_units)

    def bench_directory(self, workdir, agencies):
        """The simulated national directory for ``lienthong bench --directory N --directory-via vxp``."""
        from .bench import start_directory

        return start_directory(workdir, agencies)

    def deliver(self, message, env):
        """One ``sendEdoc`` per package with all its axis recipients: the first message of a
        document's ``group`` sends it to the whole group; the group's other messages are
        answered from that send (a worker that restarted sends again: receivers deduplicate)."""
        client = self._client()
        messagetype = "edoc" if message.kind == "document" else "status"
        group = [message.recipient]
        if message.kind == "document":
            group = list(dict.fromkeys([*(message.extra.get("group") or ()), message.recipient]))
        key = (message.document_id, hashlib.sha256(message.payload).hexdigest(), tuple(sorted(group)))
        with self.lock:
            sent = self.sent.get(key)
        if sent is not None:
            return Delivered(reference=sent)
        try:
            doc_id = client.send_edoc(message.sender, group, message.payload, messagetype)
        except AxisError as exc:
            raise TransportError(exc.reason, permanent=not exc.transient) from exc
        if len(group) > 1:
            with self.lock:
                self.sent[key] = doc_id
                while len(self.sent) > SENT_KEPT:
                    self.sent.popitem(last=False)
        return Delivered(reference=doc_id)

    def deliver_batch(self, messages, env):
        """``deliver`` for each message, ``calls_at_once`` documents at a time; one document's
        messages in order. The results end at the first failure in queue order: a message after
        it that was sent meanwhile stays queued and goes again (the receiver deduplicates)."""
        if len(messages) <= 1 or self.client is None:
            return super().deliver_batch(messages, env)
        chains = OrderedDict()
        for index, message in enumerate(messages):
            chains.setdefault(message.document_id, []).append(index)
        results = {}  # index -> result; a message left behind a failure of its document has none

        def run(indexes):
            for index in indexes:
                try:
                    results[index] = self.deliver(messages[index], env)
                except TransportError as exc:
                    results[index] = exc
                    return  # this document's later messages wait behind it
                except Exception as exc:  # the adapter's own failure: a retry may pass
                    log.exception("vxp: sending %s failed", messages[index].key)
                    results[index] = TransportError(f"{type(exc).__name__}: {exc}")
                    return

        list(self.pool().map(run, chains.values()))
        ended = []
        for index in range(len(messages)):
            if index not in results:  # behind a failure of its own document
                break
            result = results[index]
            ended.append(result)
            if isinstance(result, TransportError):
                break
        return ended

    def poll_centre(self, env):
        if self.client is None:
            return []
        found = []
        for messagetype, kind in KINDS:
            try:
                rows = self.client.received(messagetype)
            except AxisError as exc:
                log.warning("vxp: cannot list what waits (%s): %s", messagetype, exc.reason)
                continue
            rows = rows[:ROUND]
            for row, payload in zip(rows, self.pool().map(self._fetch, rows)):
                if payload is None:
                    continue
                doc_id = str(row["docId"])
                found.append(
                    InboundMessage(
                        unit=str(row.get("from") or ""),
                        kind=kind,
                        payload=payload,
                        source=f"vxp:{doc_id}",
                        done=self._acknowledger(env, doc_id, kind, payload, row),
                    )
                )
        return found

    def _fetch(self, row):
        """The package of ``row`` (``getEdoc``), None when the axis would not give it now."""
        try:
            return self.client.get_edoc(str(row["docId"]))
        except AxisError as exc:
            log.warning("vxp: cannot fetch %s: %s", row["docId"], exc.reason)
            return None

    def _acknowledger(self, env, doc_id, kind, payload, row):
        def acknowledge(result):
            status = "done" if result.ok or result.permanent else "fail"
            if not result.ok:
                log.warning("vxp: %s refused, acknowledged %s: %s", doc_id, status, result.reason)
            try:
                self.client.update_status(doc_id, status)
            except AxisError as exc:  # it will be offered again; the hub's door deduplicates it
                log.warning("vxp: cannot acknowledge %s as %s: %s", doc_id, status, exc.reason)
            if not result.ok and result.permanent and kind == "document":
                self.send_refusal(env, payload, _codes(row.get("to")), result.message or result.reason)

        return acknowledge

    def send_refusal(self, env, payload, our_codes, reason):
        """A refusal status (02) with ``reason`` to the sender of ``payload``, from each of
        ``our_codes`` it names, in the site's language (the sender's clerk reads it; ``reason``
        a translatable message or a text); nothing when the package says too little to answer it."""
        try:
            meta = edxml.parse_document(payload)
        except edxml.EdxmlError:
            return []  # no DocumentId to answer: the refusal stays on the hub's record only
        for item in meta.get("attachments") or ():
            if item.get("file") is not None:
                item["file"].close()
        sender = (meta.get("from") or {}).get("organ_id") or ""
        localizer = site_localizer(env.registry)
        named = [t.get("organ_id") for t in meta.get("to") or ()]
        sent = []
        for code in [c for c in our_codes if c in named and c != sender]:
            notation = "/".join(p for p in (meta.get("code_number"), meta.get("code_notation")) if p)
            status = {
                "response_for": {
                    "organ_id": sender,
                    "code": notation,
                    "promulgation_date": meta.get("promulgation_date") or "",
                    "document_id": meta.get("document_id") or "",
                },
                "from": {"organ_id": code, "organ_name": ""},
                "status_code": edxml.REFUSED,
                "description": translate_message(
                    localizer, _("Refused by the receiving hub: ${reason}", mapping={"reason": reason})
                )[:1000],
                "timestamp": datetime.now(edxml.VIETNAM).isoformat(timespec="seconds"),
                "staff_info": {},
            }
            try:
                self.client.send_edoc(code, [sender], edxml.build_status(status), "status")
                sent.append(code)
            except (AxisError, edxml.EdxmlError, ValueError) as exc:
                log.warning("vxp: cannot tell %s its package was refused: %s", sender, exc)
        return sent

    def check_connection(self, env):
        client = self._client()
        try:
            waiting = client.ping()
        except AxisError as exc:
            raise TransportError(exc.reason, permanent=not exc.transient) from exc
        return _(
            "The national axis at ${url} answers this hub (${system_id}): ${count} package(s) waiting.",
            mapping={"url": self.config.url, "system_id": self.config.system_id, "count": waiting},
        )


def _codes(value):
    """The axis's ``to`` of a row: a JSON list, a list, or one code."""
    import json

    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = [value]
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value or () if v]
