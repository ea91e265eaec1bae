"""``lienthong bench --directory N --directory-via ADAPTER``: a national directory, measured.

The adapter ``via`` offers a directory of ``N`` agencies to synchronize from
(``Adapter.bench_directory(workdir, agencies)``, e.g. ``vxp``: the axis simulator over
HTTP). The figures: the full sync into an empty hub (the adapter's own path, committed in
its batches), an incremental sync after a few changes, then the search at that size: the
directory service's ``find``, the address book page ``/directory?q=`` and
``/api/v1/organizations?q=`` over HTTP (waitress), and the compose page's recipient picker
(logged in, with its CSRF token), each as p50/p95 of the same queries. The baseline of the
HTTP figures is a plain WSGI "hello" on the same waitress, in the same run.
"""

import http.client
import os
import re
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime

import transaction

from .harness import machine, percentiles, serve, write_report

#: what people type: a department, a kind of unit, a code's part, a place, one letter
QUERIES = (
    "so noi vu",
    "truong tieu hoc",
    "h49",
    "ubnd xa",
    "000.00.12",
    "y te",
    "binh",
    "a",
    "thanh hoa",
)
ROUNDS = 5  # the queries are asked this many times per figure, after one round to warm up
TARGET_MS = 50  # the target for the search p95 at national scale
CHANGED = 20  # agencies changed between the full and the incremental sync
CLERK, CLERK_UNIT = "vanthu.snv", "000.00.02.H49"  # a demo clerk, whose compose page has the picker


def _directory_source(via, settings, workdir, agencies):
    from ..plugins import adapters_of, make_plugin_manager

    adapter = adapters_of(make_plugin_manager(settings)).get(via)
    if adapter is None or not hasattr(adapter, "bench_directory"):
        raise RuntimeError(f"no enabled adapter {via!r} offers a bench directory (Adapter.bench_directory)")
    return adapter.bench_directory(workdir, agencies)


class _Client:
    """A keep-alive HTTP client that keeps the session cookie."""

    def __init__(self, port):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies = {}

    def request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _sep, rest = value.partition("=")
                self.cookies[key.strip()] = rest.split(";", 1)[0]
        if response.status >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status}")
        return text

    def close(self):
        self.conn.close()


def _csrf(page):
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def _timed(fn, queries):
    """p50/p95 of ``fn(query)`` over ``ROUNDS`` rounds of ``queries`` (one round first, unmeasured)."""
    for query in queries:
        fn(query)
    times = []
    for _round in range(ROUNDS):
        for query in queries:
            started = time.perf_counter()
            fn(query)
            times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def run(agencies, via, out_dir="var/bench", log=None):
    """Measure; write ``<out_dir>/directory-<time>.json`` and ``latest-directory.json``."""
    from .. import main
    from ..db import close_databases, get_database, open_transaction, run_in_site
    from ..resources.site import find_site
    from ..services import demo, directory as dirs, tokens
    from ..services.audit import Actor

    log = log or (lambda message: None)
    password = "bench-Pass-2026"
    with tempfile.TemporaryDirectory() as tmp:
        settings = {
            # production's connection cache (etc/zeo-client.conf): the national directory fits
            "zodbconn.uri": f"file://{tmp}/Directory.fs?blobstorage_dir={tmp}/blobs&connection_cache_size=50000",
            "lienthong.secret": "bench-" + "x" * 40,
            "lienthong.session.secure": "false",
            "lienthong.auto_migrate": "true",
            "lienthong.worker.in_process": "false",
        }
        log(f"directory: {agencies} agencies offered by {via}")
        source = _directory_source(via, settings, os.path.join(tmp, "source"), agencies)
        app = None
        try:
            settings.update(source.settings)
            app = main({}, **settings)
            db = get_database(app.registry)

            def fill(site):
                demo.populate(site, password)
                _token, secret = tokens.create(site, Actor.system("bench"), demo.OPERATOR_CODE, "bench")
                return secret

            token = run_in_site(db, fill, attempts=1)
            actor = Actor.system("bench-sync")
            figures = {}
            for kind in ("full", "incremental"):
                if kind == "incremental":
                    source.change(CHANGED)
                log(f"directory: {kind} sync")
                with open_transaction(db) as (root, tm):
                    site = find_site(root)

                    def commit(site=site, tm=tm):
                        tm.commit()
                        site._p_jar.cacheGC()

                    started = time.perf_counter()
                    rows = source.sync(site, actor, full=kind == "full", commit=commit)
                    tm.commit()
                    figures[f"{kind}_sync_seconds"] = round(time.perf_counter() - started, 2)
                    figures[f"{kind}_sync_rows"] = rows
            with open_transaction(db) as (root, _tm):
                site = find_site(root)
                units = len(site["directory"])
                figures["units"] = units
                log("directory: search in the service")
                figures["service_find"] = _timed(lambda q: dirs.find(site, q, limit=50), QUERIES)
                figures["service_picker"] = _timed(lambda q: dirs.picker_units(site, q), QUERIES)
            figures.update(_http_figures(app, token, password, log))
        finally:
            if app is not None:
                close_databases(app.registry)
            source.stop()
    for name in ("service_find", "service_picker", "http_directory_page", "api_organizations", "http_picker"):
        figures[name]["target_p95_ms"] = TARGET_MS
        figures[name]["met"] = figures[name]["p95_ms"] < TARGET_MS
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": dict(machine(), load_average_at_start=[round(x, 2) for x in os.getloadavg()]),
        "via": via,
        "agencies": agencies,
        "queries": list(QUERIES),
        "figures": figures,
    }
    return report, write_report(out_dir, "directory", report)


def _http_figures(app, token, password, log):
    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    figures = {}
    server, port = serve(hello)
    client = _Client(port)
    try:
        figures["waitress_hello"] = _timed(lambda q: client.request("GET", "/"), QUERIES)
    finally:
        client.close()
        server.close()
    server, port = serve(app)
    client = _Client(port)
    try:
        log("directory: search over HTTP")
        page = client.request("GET", "/login")
        client.request(
            "POST",
            "/login",
            {"login": CLERK, "password": password, "csrf_token": _csrf(page), "came_from": "/"},
        )
        figures["http_directory_page"] = _timed(
            lambda q: client.request("GET", "/directory?" + urllib.parse.urlencode({"q": q})), QUERIES
        )
        bearer = {"Authorization": f"Bearer {token}"}
        figures["api_organizations"] = _timed(
            lambda q: client.request(
                "GET", "/api/v1/organizations?" + urllib.parse.urlencode({"q": q}), headers=bearer
            ),
            QUERIES,
        )
        compose = f"/directory/{CLERK_UNIT}/mailbox/compose"
        csrf = _csrf(client.request("GET", compose))
        figures["http_picker"] = _timed(
            lambda q: client.request(
                "POST", compose, {"recipient_query": q, "do": "find", "csrf_token": csrf}
            ),
            QUERIES,
        )
    finally:
        client.close()
        server.close()
    transaction.abort()
    return figures


def summary(report):
    """(figure, value) rows for the command's table."""
    f = report["figures"]
    rows = [
        ("units in the directory", f"{f['units']:,}"),
        ("full sync", f"{f['full_sync_seconds']} s ({f['full_sync_rows']:,} agencies)"),
        ("incremental sync", f"{f['incremental_sync_seconds']} s ({f['incremental_sync_rows']} changed)"),
    ]
    for name in ("service_find", "service_picker", "http_directory_page", "api_organizations", "http_picker"):
        rows.append((f"{name} p50 / p95", f"{f[name]['p50_ms']} / {f[name]['p95_ms']} ms"))
    rows.append(
        ("waitress_hello p50 / p95", f"{f['waitress_hello']['p50_ms']} / {f['waitress_hello']['p95_ms']} ms")
    )
    return rows
