"""Adapter "webhook_json": HMAC-signed JSON notifications to a URL (products, dashboards).

No edXML and no attachments: each queued message becomes a small JSON object, POSTed to
the unit's ``url``::

    {"event": "document" | "status", "message_id": "<queue key, the same on every retry>",
     "document_id": "...", "sender": "<unit code>", "recipient": "<unit code>",
     "notation": "15/QĐ-SNV", "subject": "...", "status": "01" | null,
     "description": "...", "time": "<ISO 8601>"}

Signed with the unit's ``secret`` (HMAC-SHA256)::

    X-LienThong-Timestamp: 1767225600            (Unix seconds when sent)
    X-LienThong-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver checks it with ``verify_signature`` (importable from this module, no hub
needed): the body is the raw bytes received, before any JSON parsing. Timestamps more
than ``tolerance`` seconds away are refused (a replay of an old notification), and
``ReplayGuard`` also refuses a (timestamp, signature) pair seen before within that
window. Deduplicate on ``message_id``: delivery is at least once.
"""

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime

from lienthong.core.hookspecs import hookimpl
from lienthong.core.i18n import _
from lienthong.core.transports import PermanentError, Setting

from ..http_common import HttpAdapter, tls_settings

TIMESTAMP_HEADER = "X-LienThong-Timestamp"
SIGNATURE_HEADER = "X-LienThong-Signature"
SCHEME = "sha256="
DEFAULT_TOLERANCE = 300
DEFAULT_TIMEOUT = 15.0


class SignatureError(ValueError):
    """A webhook that must not be believed; ``reason`` says why."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _bytes(value):
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


def sign(secret, timestamp, body):
    """The ``X-LienThong-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(_bytes(secret), _bytes(str(timestamp)) + b"." + _bytes(body), hashlib.sha256)
    return SCHEME + mac.hexdigest()


def verify_signature(secret, timestamp, body, signature, tolerance=DEFAULT_TOLERANCE, now=None):
    """Check a received webhook; return True, or raise ``SignatureError`` saying why not.

    ``timestamp`` and ``signature`` are the two headers as received, ``body`` the raw request
    body (bytes). Refused: a missing or malformed header, a timestamp more than ``tolerance``
    seconds before or after ``now`` (a replayed old message), a signature made with another
    secret or over other bytes. The comparison takes constant time.
    """
    if not secret:
        raise SignatureError("no secret is configured")
    if not timestamp or not signature:
        raise SignatureError("the timestamp or signature header is missing")
    try:
        sent = int(str(timestamp).strip())
    except ValueError:
        raise SignatureError("the timestamp is not a number of seconds") from None
    now = time.time() if now is None else now
    if abs(now - sent) > tolerance:
        raise SignatureError(
            f"the timestamp is {int(now - sent)} s away from now (tolerance {tolerance} s): "
            "a replayed or delayed message"
        )
    expected = sign(secret, sent, body)
    if not hmac.compare_digest(_bytes(expected), _bytes(str(signature).strip())):
        raise SignatureError("the signature does not match the body (tampered, or another secret)")
    return True


class ReplayGuard:
    """Refuse a webhook whose (timestamp, signature) was already accepted within the tolerance.

    Keeps the signatures of the last ``tolerance`` seconds (at most ``size``); anything
    older is refused by ``verify_signature``'s timestamp check anyway. One guard per
    receiving process; thread-safe.
    """

    def __init__(self, tolerance=DEFAULT_TOLERANCE, size=100_000):
        self.tolerance = tolerance
        self.size = size
        self.seen = OrderedDict()  # signature -> timestamp
        self.lock = threading.Lock()

    def check(self, secret, timestamp, body, signature, now=None):
        now = time.time() if now is None else now
        verify_signature(secret, timestamp, body, signature, tolerance=self.tolerance, now=now)
        key = str(signature).strip()
        with self.lock:
            while self.seen and (
                len(self.seen) >= self.size or next(iter(self.seen.values())) < now - self.tolerance
            ):
                self.seen.popitem(last=False)
            if key in self.seen:
                raise SignatureError("this signed message was already received (a replay)")
            self.seen[key] = int(str(timestamp).strip())
        return True


def notification(message):
    """The JSON object (a dict) for ``message``, from its edXML payload's header."""
    from lienthong.core import edxml

    body = {
        "event": message.kind,
        "message_id": message.key,
        "document_id": message.document_id,
        "sender": message.sender,
        "recipient": message.recipient,
        "notation": "",
        "subject": "",
        "status": None,
        "description": "",
        "time": "",
    }
    if message.kind == "status":
        status = edxml.parse_status(message.payload)
        body.update(
            status=status["status_code"],
            description=status.get("description") or "",
            time=status.get("timestamp") or "",
            notation=(status.get("response_for") or {}).get("code") or "",
        )
        return body
    meta = edxml.parse_document(message.payload)
    try:
        number, notation = meta.get("code_number") or "", meta.get("code_notation") or ""
        body.update(
            notation=f"{number}/{notation}" if number else notation,
            subject=meta.get("subject") or "",
            time=datetime.now(UTC).isoformat(timespec="seconds"),
            promulgation_date=meta.get("promulgation_date") or "",
            attachments=len(meta.get("attachments") or ()),
        )
    finally:
        for attachment in meta.get("attachments") or ():
            attachment["file"].close()
    return body


class WebhookJson(HttpAdapter):
    name = "webhook_json"
    title = "Webhook (signed JSON notifications)"
    settings = (
        Setting("url", _("URL that receives the notifications"), required=True),
        Setting("secret", _("HMAC secret shared with the receiver"), required=True, secret=True),
    ) + tls_settings(DEFAULT_TIMEOUT)
    default_timeout = DEFAULT_TIMEOUT

    def check_settings(self, values):
        reasons = super().check_settings(values)
        if values.get("secret") and len(str(values["secret"])) < 16:
            reasons.append("secret must be at least 16 characters")
        return reasons

    def deliver(self, message, env):
        settings = self.checked_settings(message)
        try:
            payload = notification(message)
        except ValueError as exc:  # the codec refuses the payload: retrying cannot help
            raise PermanentError(f"cannot read the message: {exc}") from None
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-LienThong-Message-Id": message.key,
            "X-LienThong-Kind": message.kind,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(settings["secret"], timestamp, body),
        }
        self.send(settings, body, headers)


@hookimpl
def lienthong_transports():
    return [WebhookJson()]  # a new adapter for each application (its sessions and state are its own)
