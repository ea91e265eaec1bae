"""The adapter ``vxp``: units reached through the national document axis.

Outbound, the worker hands one destination's messages in queue order; each leaves as one
signed ``sendEdoc`` (``messagetype`` edoc or status) and the axis's DocId is kept on the
delivery. A busy or silent axis is a retry; a FAIL (an agency it does not know, a hash it
refuses) is a dead letter with the axis's reason.

Inbound, the adapter is a centre for the whole hub: the worker calls ``poll_centre`` every
``lienthong.vxp.poll_seconds``; each waiting item is fetched with ``getEdoc`` and handed to
the hub's one inbound door; once the hub committed it (or had it already) the item is
acknowledged ``done``, a refusal for good is ``done`` too (the axis would offer it forever),
and only a refusal that may pass later (the hub busy or down) is ``fail``, offered again.
"""

import logging

from lienthong.core.transports import Adapter, Delivered, InboundMessage, PermanentError, TransportError

from . import config as axis_config
from .client import AxisClient, AxisError

log = logging.getLogger(__name__)
KINDS = (("edoc", "document"), ("status", "status"))
ROUND = 100  # items of each kind fetched in one poll


class VxpAdapter(Adapter):
    name = "vxp"
    title = "The national document axis (VXP)"
    settings = ()

    def __init__(self):
        self.config = None  # this hub's AxisConfig, None when it is not on the axis
        self.problem = ""
        self.client = None

    def configure(self, app_settings):
        try:
            self.config = axis_config.load(app_settings)
        except axis_config.AxisConfigError as exc:  # lienthong_configure stops the start; a command says so
            self.config, self.problem = None, str(exc)
        self.client = AxisClient(self.config) if self.config is not None else None

    @property
    def centre_poll_seconds(self):
        return self.config.poll_seconds if self.config is not None else None

    def _client(self):
        if self.client is None:
            raise PermanentError(
                self.problem or "this hub is not on the national axis: set lienthong.vxp.url (docs/vxp.md)"
            )
        return self.client

    def deliver(self, message, env):
        client = self._client()
        messagetype = "edoc" if message.kind == "document" else "status"
        try:
            doc_id = client.send_edoc(message.sender, [message.recipient], message.payload, messagetype)
        except AxisError as exc:
            raise TransportError(exc.reason, permanent=not exc.transient) from exc
        return Delivered(reference=doc_id)

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
            for row in rows[:ROUND]:
                doc_id = str(row["docId"])
                try:
                    payload = self.client.get_edoc(doc_id)
                except AxisError as exc:
                    log.warning("vxp: cannot fetch %s: %s", doc_id, exc.reason)
                    continue
                found.append(
                    InboundMessage(
                        unit=str(row.get("from") or ""),
                        kind=kind,
                        payload=payload,
                        source=f"vxp:{doc_id}",
                        done=self._acknowledger(doc_id),
                    )
                )
        return found

    def _acknowledger(self, doc_id):
        def acknowledge(result):
            status = "done" if result.ok or result.permanent else "fail"
            if not result.ok:
                log.warning("vxp: %s refused, acknowledged %s: %s", doc_id, status, result.reason)
            try:
                self.client.update_status(doc_id, status)
            except AxisError as exc:  # it will be offered again; the hub's door deduplicates it
                log.warning("vxp: cannot acknowledge %s as %s: %s", doc_id, status, exc.reason)

        return acknowledge
