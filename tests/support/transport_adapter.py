"""A minimal eOffice adapter for the worker tests: POSTs each message to the unit's ``url``.

Registered by the setting ``lienthong.plugins.extra = tests.support.transport_adapter``,
so a ``lienthong worker`` subprocess loads it too. 2xx: delivered; 4xx (but 408/429):
refused for good (``PermanentError``); 5xx or no connection: try again later.
"""

import threading

import requests

from lienthong.core.hookspecs import hookimpl
from lienthong.core.transports import Adapter, PermanentError, Setting, TransportError


class TestPush(Adapter):
    name = "test_push"
    title = "Test push (HTTP POST)"
    settings = (Setting("url", "Endpoint URL", required=True),)
    batch_size = 50
    timeout = 90

    def __init__(self):
        self.local = threading.local()

    def session(self):
        if getattr(self.local, "session", None) is None:
            self.local.session = requests.Session()
        return self.local.session

    def deliver(self, message, env):
        headers = {
            "Content-Type": "application/xml",
            "X-Kind": message.kind,
            "X-Document-Id": message.document_id,
            "X-Recipient": message.recipient,
            "X-Message-Key": message.key,
            "X-Status": str(message.extra.get("status", "")),
            "X-Status-Time": str(message.extra.get("time", "")),
        }
        try:
            response = self.session().post(
                message.settings["url"], data=message.payload, headers=headers, timeout=self.timeout
            )
        except requests.RequestException as exc:
            self.local.session = None
            raise TransportError(f"cannot reach {message.settings.get('url')}: {type(exc).__name__}")
        if response.status_code < 300:
            return
        if 400 <= response.status_code < 500 and response.status_code not in (408, 429):
            raise PermanentError(f"HTTP {response.status_code} from the product")
        raise TransportError(f"HTTP {response.status_code} from the product")


@hookimpl
def lienthong_transports():
    return [TestPush()]  # a new adapter for each application (its sessions and state are its own)
