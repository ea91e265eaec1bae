"""What the shipped HTTP adapters share (``edxml_push``, ``webhook_json``): not a plugin itself.

One keep-alive ``requests`` session per worker thread, the common settings (timeout, TLS
verification, CA bundle) and their checks, and one reading of an HTTP answer: 2xx or
"already have it" is delivered; 408, 429, 5xx and connection failures are retried; any
other answer is refused for good with the receiver's reason.
"""

import os
import threading
from urllib.parse import urlsplit

import requests

from lienthong.core.i18n import _
from lienthong.core.transports import Adapter, PermanentError, Setting, TransportError

CONNECT_TIMEOUT = 10.0
REASON_CHARS = 300
YES = ("1", "true", "yes", "on")
NO = ("0", "false", "no", "off")


def _flag(value, default=True):
    text = str(value if value is not None else "").strip().lower()
    if not text:
        return default
    return text in YES


def response_reason(response):
    """``HTTP 422 Unprocessable Entity: <the start of the body>``, for the dead letter's error."""
    text = ""
    try:
        text = " ".join((response.text or "").split())[:REASON_CHARS]
    except Exception:  # an undecodable body says nothing useful
        text = ""
    reason = f"HTTP {response.status_code} {response.reason or ''}".rstrip()
    return f"{reason}: {text}" if text else reason


def outcome(response, already_have=(409,)):
    """Raise the ``TransportError`` an HTTP answer means; return None when it means delivered."""
    status = response.status_code
    if 200 <= status < 300 or status in already_have:
        return None
    if status in (408, 429) or status >= 500:
        raise TransportError(response_reason(response))
    raise PermanentError(response_reason(response))


def post(session, url, data, headers, timeout, verify):
    """``session.post`` with every connection-level failure turned into a retryable ``TransportError``."""
    try:
        return session.post(
            url,
            data=data,
            headers=headers,
            timeout=(min(CONNECT_TIMEOUT, timeout), timeout),
            verify=verify,
            allow_redirects=False,
        )
    except requests.exceptions.SSLError as exc:
        raise TransportError(f"TLS failure with {url}: {_short(exc)}") from None
    except requests.exceptions.Timeout:
        raise TransportError(f"{url} did not answer within {timeout:g} s") from None
    except requests.exceptions.ConnectionError as exc:
        raise TransportError(f"cannot connect to {url}: {_short(exc)}") from None
    except requests.exceptions.RequestException as exc:
        raise TransportError(f"request to {url} failed: {type(exc).__name__}: {_short(exc)}") from None


def _short(exc):
    return " ".join(str(exc).split())[:REASON_CHARS]


def check_url(value, name="url"):
    parts = urlsplit(value or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return [f"{name} must be an http:// or https:// address"]
    return []


def check_timeout(value):
    if value in (None, ""):
        return []
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return ["timeout must be a number of seconds"]
    if not 0 < seconds <= 600:
        return ["timeout must be between 0 and 600 seconds"]
    return []


def tls_verify(settings):
    """What ``requests`` takes as ``verify``: the CA bundle file, True, or False (verify = no)."""
    if not _flag(settings.get("verify"), True):
        return False
    return settings.get("ca_bundle") or True


def tls_settings(timeout=30):
    """The settings every HTTP adapter has, after its own."""
    return (
        Setting("timeout", _("Timeout in seconds"), default=str(int(timeout))),
        Setting("verify", _("Verify the TLS certificate (yes/no)"), default="yes"),
        Setting("ca_bundle", _("CA bundle (PEM file on the worker's host) for the other side's certificate")),
    )


class HttpAdapter(Adapter):
    """An adapter that POSTs each message to the unit's ``url``."""

    default_timeout = 30.0
    batch_size = 20

    def __init__(self):
        self.local = threading.local()

    def session(self):
        """One keep-alive session per worker thread."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def check_settings(self, values):
        reasons = super().check_settings(values)
        if values.get("url"):
            reasons += check_url(values["url"])
        reasons += check_timeout(values.get("timeout"))
        verify = str(values.get("verify") or "").strip().lower()
        if verify and verify not in YES + NO:
            reasons.append("verify must be yes or no")
        if values.get("ca_bundle") and not os.path.isabs(values["ca_bundle"]):
            reasons.append("ca_bundle must be an absolute path")
        return reasons

    def checked_settings(self, message):
        """The unit's settings, or a ``PermanentError`` saying why they cannot work."""
        settings = message.settings or {}
        problems = self.check_settings(settings)
        if problems:
            raise PermanentError(
                f"the unit's {self.name} settings cannot work: {'; '.join(map(str, problems))}"
            )
        return settings

    def send(self, settings, body, headers):
        """POST ``body`` to the unit's ``url``; raise what the answer means (nothing: delivered)."""
        timeout = float(settings.get("timeout") or self.default_timeout)
        try:
            response = post(self.session(), settings["url"], body, headers, timeout, tls_verify(settings))
        except TransportError:
            self.local.session = None  # a broken connection is not reused
            raise
        with response:
            outcome(response)
