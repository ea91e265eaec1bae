"""A receiving eOffice product for the transport tests: a real HTTP endpoint on localhost.

It stores each message it gets once (deduplicating the way a real receiver must: by
DocumentId for packages, by (DocumentId, unit, status code, time) for statuses), counts
the copies it got, can be switched down (503), told to refuse some documents for good
(422), or to hold a request (a slow product) so a test can kill the worker meanwhile.
Served by waitress in a thread of the test process.
"""

import threading
import time

from .app import free_port


class Receiver:
    def __init__(self):
        self.lock = threading.Lock()
        self.down = False
        self.reject = set()  # document ids answered 422
        self.hold = set()  # document ids whose request waits for ``released``
        self.released = threading.Event()
        self.holding = threading.Event()  # set when a held request is waiting
        self.stored = {}  # dedupe key -> first message (dict)
        self.order = {}  # recipient -> [dedupe keys in the order first received]
        self.copies = {}  # dedupe key -> copies received (answered 2xx)
        self.in_flight = {}  # dedupe key -> requests being handled now
        self.concurrent = 0  # copies that arrived while another copy was being handled
        self.requests = 0
        self.refused = 0
        self.port = None
        self.server = None

    # -- what the tests read -----------------------------------------------------------
    @property
    def duplicates(self):
        with self.lock:
            return sum(n - 1 for n in self.copies.values())

    def document_ids(self, kind="document"):
        with self.lock:
            return [m["document_id"] for m in self.stored.values() if m["kind"] == kind]

    def url(self, path="/inbox"):
        return f"http://127.0.0.1:{self.port}{path}"

    # -- WSGI --------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        h = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        message = {
            "kind": h.get("x-kind", ""),
            "document_id": h.get("x-document-id", ""),
            "recipient": h.get("x-recipient", ""),
            "status": h.get("x-status", ""),
            "time": h.get("x-status-time", ""),
            "key": h.get("x-message-key", ""),
            "size": len(body),
        }
        with self.lock:
            self.requests += 1
        if environ["REQUEST_METHOD"] != "POST" or not body.lstrip().startswith(b"<"):
            return self._answer(start_response, "400 Bad Request")
        if self.down:
            return self._answer(start_response, "503 Service Unavailable")
        if message["document_id"] in self.reject:
            with self.lock:
                self.refused += 1
            return self._answer(start_response, "422 Unprocessable Entity")
        dedupe = (
            message["kind"],
            message["document_id"],
            message["recipient"],
            message["status"],
            message["time"],
        )
        with self.lock:
            if self.in_flight.get(dedupe):
                self.concurrent += 1
            self.in_flight[dedupe] = self.in_flight.get(dedupe, 0) + 1
        try:
            if message["document_id"] in self.hold:
                self.holding.set()
                self.released.wait(60)
            with self.lock:
                self.copies[dedupe] = self.copies.get(dedupe, 0) + 1
                if dedupe not in self.stored:
                    self.stored[dedupe] = message
                    self.order.setdefault(message["recipient"], []).append(dedupe)
        finally:
            with self.lock:
                self.in_flight[dedupe] -= 1
        return self._answer(start_response, "200 OK")

    @staticmethod
    def _answer(start_response, status):
        start_response(status, [("Content-Type", "text/plain")])
        return [status.encode()]

    # -- serving -----------------------------------------------------------------------
    def start(self, threads=8):
        import waitress

        self.port = free_port()
        self.server = waitress.create_server(self, host="127.0.0.1", port=self.port, threads=threads)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.released.set()
        if self.server is not None:
            self.server.close()
            time.sleep(0.05)


def wait_until(predicate, timeout=60.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
