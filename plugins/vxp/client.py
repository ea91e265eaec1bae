"""Signed calls to the national document axis, answers read as its SDK reads them.

An answer is JSON ``{"status": "OK"|"FAIL", "ErrorCode", "ErrorDesc", …}``. No answer, a
busy axis (408, 429, 5xx) or an answer that is not JSON raises ``AxisError`` with
``transient`` True (try again later); a FAIL, or any other HTTP status, with
``transient`` False and the axis's own code and description in the reason.
"""

import base64
import hashlib
import json
import threading
from datetime import timedelta

import requests

from lienthong.core.clock import utc_now

from . import xroad

RETRY_STATUSES = (408, 429, 500, 502, 503, 504)
REASON_CHARS = 300


class AxisError(Exception):
    """A call the axis did not carry out; ``code`` is its ErrorCode ("" when it did not answer)."""

    def __init__(self, reason, transient=False, code=""):
        super().__init__(reason)
        self.reason = reason
        self.transient = transient
        self.code = code


class AxisClient:
    """The axis calls this hub makes, as the centre ``config.system_id``."""

    def __init__(self, config, clock=utc_now):
        self.config = config
        self.clock = clock
        self.local = threading.local()
        self.lock = threading.Lock()
        self.last = None  # the last call's time: each call's timestamp is later (the axis refuses replays)

    def session(self):
        """One keep-alive session per thread (the worker's, a command's)."""
        session = getattr(self.local, "session", None)
        if session is None:
            session = self.local.session = requests.Session()
        return session

    def call(self, name, params=None, file=None, method="POST", raw=False):
        """``method /name`` with ``params`` signed in the headers (and ``file``, bytes, as the
        multipart part ``file_doc``): the answer's JSON (its bytes when ``raw``)."""
        headers = xroad.sign(self.config.system_id, self.config.secret, params or {}, self._moment())
        files = {"file_doc": ("edoc.edxml", file, "application/xml")} if file is not None else None
        url = f"{self.config.url}/{name}"
        try:
            response = self.session().request(
                method,
                url,
                headers=headers,
                files=files,
                timeout=self.config.timeout,
                verify=self.config.verify,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise AxisError(
                f"the axis at {self.config.url} did not answer {name}: {type(exc).__name__}: {str(exc)[:REASON_CHARS]}",
                transient=True,
            ) from exc
        if response.status_code in RETRY_STATUSES:
            raise AxisError(f"the axis answered {name} with HTTP {response.status_code}", transient=True)
        if raw and response.status_code == 200:
            return response.content
        try:
            answer = json.loads(response.content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise AxisError(
                f"the axis answered {name} with HTTP {response.status_code} and no JSON",
                transient=response.status_code == 200,
            ) from None
        if not isinstance(answer, dict):
            raise AxisError(f"the axis answered {name} with JSON that is not an object", transient=True)
        if answer.get("status") != "OK" or response.status_code != 200:
            code = str(answer.get("ErrorCode") or "")
            desc = str(answer.get("ErrorDesc") or "")[:REASON_CHARS]
            raise AxisError(f"the axis refused {name}: {code} {desc}".strip(), code=code)
        return answer

    def _moment(self):
        """Now, or a millisecond after the last call: the timestamp is the signature's only
        nonce, so two identical calls must never share it."""
        with self.lock:
            now = self.clock()
            if self.last is not None and now <= self.last + timedelta(milliseconds=1):
                now = self.last + timedelta(milliseconds=1)
            self.last = now
            return now

    # -- the calls ---------------------------------------------------------------------
    def ping(self):
        """A signed ``countReceiveEdoc``: how many packages wait for this hub."""
        return int(self.call("countReceiveEdoc", method="GET").get("total") or 0)

    def send_edoc(self, sender, recipients, data, messagetype="edoc"):
        """One package (or status message) to every code in ``recipients``: the axis's DocId."""
        answer = self.call(
            "sendEdoc",
            {
                "from": sender,
                "to": json.dumps(list(recipients)),
                "servicetype": "eDoc",
                "messagetype": messagetype,
                "hash-file": hashlib.sha256(data).hexdigest(),
            },
            file=data,
        )
        return str(answer.get("DocId") or "")

    def received(self, messagetype="edoc"):
        """What waits for this hub: the axis's rows (docId, from, to, status…)."""
        rows = self.call("getReceivedEdocList", {"messagetype": messagetype}).get("data") or []
        return [row for row in rows if isinstance(row, dict) and row.get("docId")]

    def get_edoc(self, doc_id):
        """The package ``doc_id`` (bytes)."""
        data = self.call("getEdoc", {"docId": doc_id}).get("data") or ""
        try:
            return base64.b64decode(data, validate=True)
        except (ValueError, TypeError):
            raise AxisError(f"the axis sent package {doc_id} in something that is not base64") from None

    def update_status(self, doc_id, status):
        """Acknowledge ``doc_id``: ``done`` (stored, or refused for good), ``fail`` (offer it again)."""
        self.call("updateStatus", {"docId": doc_id, "status": status})

    def sent(self):
        """The axis's rows about what this hub sent, one per recipient."""
        return [row for row in self.call("getSentEdocList").get("data") or [] if isinstance(row, dict)]
