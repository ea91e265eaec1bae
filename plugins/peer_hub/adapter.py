"""The adapter ``peer_hub``: the queue's messages for a unit hosted by a peer hub, sent to that hub.

The worker hands one destination's messages in queue order; runs of documents go in one
signed ``POST /peer/v1/packages`` and runs of statuses in one ``POST /peer/v1/statuses``
(each request at most ``lienthong.peer_hub.max_body``). The peer answers per message:
created / duplicate / applied count as delivered, refused is a dead letter with the
peer's reason; no answer, a bad signature or an HTTP error is a retry. Delivery stops at
the first failure so the order per destination is kept.
"""

import base64
import logging
import threading

import requests

from lienthong.core.i18n import _
from lienthong.core.transports import Adapter, PermanentError, Setting, TransportError

from . import client, config as peer_config

log = logging.getLogger(__name__)
DELIVERED = ("created", "duplicate", "applied")
PATHS = {"document": ("/peer/v1/packages", "packages"), "status": ("/peer/v1/statuses", "statuses")}


class PeerHubAdapter(Adapter):
    name = "peer_hub"
    title = "Another LienThong hub (federation)"
    settings = (Setting("peer", _("Peer hub (a name from lienthong.peer_hub.peers)"), required=True),)
    batch_size = 50
    network = True  # units another hub hosts

    def __init__(self):
        self.hub = None  # this hub's HubConfig, read from the application's settings
        self.problem = ""  # why those settings cannot work, if they cannot
        self.local = threading.local()

    def session(self):
        """One keep-alive session per worker thread."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def configure(self, app_settings):
        try:
            self.hub = peer_config.load(app_settings)
        except peer_config.PeerConfigError as exc:  # lienthong_configure stops the start; a command says so
            self.hub, self.problem = None, str(exc)

    def check_settings(self, values):
        reasons = super().check_settings(values)
        if not reasons and self.hub is not None:
            try:
                self.hub.peer(values.get("peer"))
            except peer_config.PeerConfigError as exc:
                reasons.append(str(exc))
        return reasons

    def bench_destination(self, workdir, sender_units):
        """A receiving peer hub for ``lienthong bench --queue N --queue-via peer_hub``."""
        from .bench import start_destination

        return start_destination(workdir, "bench-hub", sender_units)

    def deliver(self, message, env):
        result = self.deliver_batch([message], env)
        if result and result[0] is not None:
            raise result[0]

    def deliver_batch(self, messages, env):
        hub = self.hub
        if hub is None:
            return [TransportError(self.problem or "the peer_hub adapter was not configured")]
        results = []
        for run in _runs(messages, hub.max_body):
            name = run[0].settings.get("peer", "")
            peer = hub.peers.get(name)
            if peer is None:
                return results + [
                    TransportError(
                        f"unit {run[0].recipient}: no peer hub called {name!r} is configured on this hub"
                    )
                ]
            path, field = PATHS[run[0].kind]
            items = [
                {"key": m.key, "recipient": m.recipient, "data": base64.b64encode(m.payload).decode("ascii")}
                for m in run
            ]
            try:
                answer = client.call(hub, peer, "POST", path, {field: items}, session=self.session())
            except client.PeerCallError as exc:
                return results + [TransportError(exc.reason)]
            by_key = {r.get("key"): r for r in answer.get("results") or () if isinstance(r, dict)}
            for message in run:
                found = by_key.get(message.key)
                if found is None:
                    return results + [TransportError(f"peer {peer.name} did not answer for {message.key}")]
                if found.get("result") in DELIVERED:
                    results.append(None)
                    continue
                reason = f"refused by peer hub {peer.name}: {found.get('reason') or 'no reason given'}"
                return results + [PermanentError(reason)]
        return results


def _runs(messages, max_body):
    """Consecutive messages of one kind and one peer, each run small enough for one request."""
    runs, size = [], 0
    for message in messages:
        cost = len(message.payload) * 4 // 3 + 200
        last = runs[-1] if runs else None
        if (
            last is None
            or last[0].kind != message.kind
            or last[0].settings.get("peer") != message.settings.get("peer")
            or size + cost > max_body * 0.9
        ):
            runs.append([message])
            size = cost
        else:
            last.append(message)
            size += cost
    return runs
