"""Adapter "edxml_push": the hub POSTs edXML packages and status messages to the product.

For eOffice products that expose an HTTP endpoint. Each queued message is one POST of
its edXML bytes (``Content-Type: application/xml``) to the unit's ``url``, with

* ``Authorization: Bearer <token>`` when the unit has a ``token``;
* ``X-LienThong-Message-Id``: the queue key, the same on every retry of the message
  (a product may deduplicate by it as well as by DocumentId);
* ``X-LienThong-Kind`` (``document`` / ``status``), ``X-LienThong-Document-Id``,
  ``X-LienThong-Sender``, ``X-LienThong-Recipient``.

What the product answers decides what happens to the message:

* 2xx: delivered;
* 409 (the product already has it — a repeat after a crash): delivered;
* 408, 429 and 5xx, a timeout, a refused connection, a TLS failure: tried again later;
* any other 3xx/4xx: refused for good (a dead letter, with the product's reason);
  retrying the same bytes cannot help.

TLS certificates are verified (``verify = yes``) against the system's CAs or the unit's
``ca_bundle`` (a PEM file on the worker's host).
"""

from lienthong.core.hookspecs import hookimpl
from lienthong.core.i18n import _
from lienthong.core.transports import Setting

from ..http_common import HttpAdapter, tls_settings


class EdxmlPush(HttpAdapter):
    name = "edxml_push"
    title = "edXML push (HTTP POST to the product)"
    settings = (
        Setting("url", _("Endpoint URL of the product"), required=True),
        Setting("token", _("Bearer token the product expects"), secret=True),
    ) + tls_settings(30)
    default_timeout = 30.0

    def headers(self, message):
        headers = {
            "Content-Type": "application/xml; charset=utf-8",
            "X-LienThong-Message-Id": message.key,
            "X-LienThong-Kind": message.kind,
            "X-LienThong-Document-Id": message.document_id,
            "X-LienThong-Sender": message.sender,
            "X-LienThong-Recipient": message.recipient,
        }
        token = message.settings.get("token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def deliver(self, message, env):
        self.send(self.checked_settings(message), message.payload, self.headers(message))


@hookimpl
def lienthong_transports():
    return [EdxmlPush()]  # a new adapter for each application (its sessions and state are its own)
