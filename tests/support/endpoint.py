"""A scriptable HTTP endpoint for the adapter tests: waitress in a thread on 127.0.0.1.

It records every request (method, path, headers, body) and answers with the next status
of ``answers`` (default 200), optionally after ``delay`` seconds (a slow product). An
``app`` callable may replace the scripted answers (a receiver with its own logic).
"""

import threading
import time

from .app import free_port


class Endpoint:
    def __init__(self, app=None):
        self.requests = []
        self.answers = []  # statuses to answer, in order ("409 Conflict", ...)
        self.body = b"ok"
        self.delay = 0.0
        self.app = app
        self.lock = threading.Lock()
        self.port = None
        self.server = None

    def url(self, path="/inbox"):
        return f"http://127.0.0.1:{self.port}{path}"

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        request = {
            "method": environ["REQUEST_METHOD"],
            "path": environ.get("PATH_INFO", ""),
            "headers": headers,
            "body": body,
        }
        with self.lock:
            self.requests.append(request)
            status = self.answers.pop(0) if self.answers else "200 OK"
        if self.app is not None:
            return self.app(request, start_response)
        if self.delay:
            time.sleep(self.delay)
        start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
        return [self.body]

    def start(self):
        from webtest.http import StopableWSGIServer  # waitress, with a clean shutdown

        self.port = free_port()
        self.server = StopableWSGIServer.create(self, host="127.0.0.1", port=self.port, threads=4)
        self.server.wait()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server = None
