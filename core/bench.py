"""``lienthong bench``: throughput of LienThong's paths against baselines measured in the same run.

Each figure is a ratio to a baseline on the same machine and moment, so the numbers
mean something across machines:

* ``audit_append`` — a service call that appends one hash-chained audit entry and
  commits, against a raw ZODB commit of one small change (``zodb_commit``); and the same
  with 4 writers at once (``audit_append_4_writers``: all append to the one log, merged by
  conflict resolution) against 4 writers committing to objects of their own;
* ``http_healthz`` / ``http_login_page`` — requests through the full application
  (tweens, transaction, traversal, templates) served by waitress, against a plain
  WSGI "hello" on the same waitress (``waitress_hello``);
* the document exchange (``bench_documents``): send against a raw commit of a similar
  object graph, the same send over HTTP against ``waitress_hello``, fan-out, inbox and
  search at ``documents`` documents, edXML import; each against its target.
"""
import http.client
import json
import os
import platform
import tempfile
import threading
import time
from datetime import datetime, timezone

import transaction
from persistent import Persistent


class _Counter(Persistent):
    value = 0


def _in_threads(target, count):
    """Run ``target(i)`` in ``count`` threads at once; return the seconds they took."""
    start = time.perf_counter()
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def _rate(fn, seconds):
    """Calls of ``fn`` per second over about ``seconds``."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        fn()
        count += 1
    return count / (time.perf_counter() - start)


def bench_commits(directory, seconds):
    from .db import open_database
    from .services import audit
    from .services.setup import ensure_site

    db = open_database(f"file://{directory}/Bench.fs?blobstorage_dir={directory}/blobs")
    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    try:
        root = conn.root()
        root["counter"] = _Counter()
        site, _ = ensure_site(root, tm)
        tm.commit()
        counter = root["counter"]

        def raw():
            counter.value += 1
            tm.commit()

        actor = audit.Actor.system("bench")

        def audited():
            audit.record(site, actor, "bench.tick", "/bench")
            tm.commit()

        figures = {"zodb_commit": _rate(raw, seconds), "audit_append": _rate(audited, seconds)}
    finally:
        tm.abort()
        conn.close()
    try:
        figures.update(_concurrent_commits(db, seconds))
    finally:
        db.close()
    return figures


def _concurrent_commits(db, seconds, writers=4):
    """``writers`` threads, each on its own connection: raw commits of one object per writer
    (no conflicts possible) against audit appends that all go to the one log."""
    from ZODB.POSException import ConflictError

    from .resources.site import find_site
    from .services import audit

    def run(work):
        counts = [0] * writers
        deadline = time.perf_counter() + seconds

        def writer(i):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            try:
                while time.perf_counter() < deadline:
                    try:
                        work(i, conn.root())
                        tm.commit()
                        counts[i] += 1
                    except ConflictError:
                        tm.abort()
            finally:
                conn.close()

        elapsed = _in_threads(writer, writers)
        return sum(counts) / elapsed

    tm = transaction.TransactionManager()
    conn = db.open(transaction_manager=tm)
    for i in range(writers):
        conn.root()[f"counter{i}"] = _Counter()
    tm.commit()
    conn.close()

    def raw(i, root):
        root[f"counter{i}"].value += 1

    def audited(i, root):
        audit.record(find_site(root), audit.Actor.system(f"bench{i}"), "bench.tick", "/bench")

    return {f"zodb_commit_{writers}_writers": run(raw), f"audit_append_{writers}_writers": run(audited)}


def _http_rate(port, path, seconds, clients=4, headers=None):
    """Requests per second from ``clients`` keep-alive connections for ``seconds``."""
    counts = [0] * clients
    errors = []
    headers = headers or {}
    warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    warm.request("GET", path, headers=headers)  # templates compile on first use: not part of the figure
    warm.getresponse().read()
    warm.close()
    deadline = time.perf_counter() + seconds

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.perf_counter() < deadline:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors.append(response.status)
                    return
                counts[i] += 1
        finally:
            conn.close()

    elapsed = _in_threads(client, clients)
    if errors:
        raise RuntimeError(f"{path} answered {errors[0]} during the benchmark")
    return sum(counts) / elapsed


def _serve(app):
    import logging

    import waitress
    # a saturated queue is the point of the benchmark, not news
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)

    def run():
        try:
            server.run()
        except OSError:  # the socket closed under the loop at the end of a figure: done, not an error
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return server, server.effective_port


def bench_http(directory, seconds):
    from . import main
    from .db import close_databases

    def hello(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello"]

    results = {}
    server, port = _serve(hello)
    try:
        results["waitress_hello"] = _http_rate(port, "/", seconds)
    finally:
        server.close()
    app = main({}, **{
        "zodbconn.uri": f"file://{directory}/Http.fs?blobstorage_dir={directory}/http-blobs",
        "lienthong.secret": "bench-" + "x" * 40, "lienthong.session.secure": "false",
        "lienthong.auto_migrate": "true",
    })
    token = _demo_directory(app)
    server, port = _serve(app)
    try:
        results["http_healthz"] = _http_rate(port, "/healthz", seconds)
        results["http_login_page"] = _http_rate(port, "/login", seconds)
        results["http_directory_search"] = _http_rate(port, "/directory?q=so+thong+tin", seconds)
        results["api_organizations_search"] = _http_rate(port, "/api/v1/organizations?q=so+thong+tin", seconds,
                                                         headers={"Authorization": f"Bearer {token}"})
    finally:
        server.close()
        close_databases(app.registry)
    return results


def _demo_directory(app):
    """Fill the benchmark's site with the demo province; return a unit's API token."""
    import secrets

    import transaction

    from .db import get_database
    from .resources.site import find_site
    from .services import demo, tokens
    from .services.audit import Actor
    tm = transaction.TransactionManager()
    conn = get_database(app.registry).open(transaction_manager=tm)
    try:
        tm.begin()
        site = find_site(conn.root())
        demo.populate(site, secrets.token_urlsafe(16))
        _token, secret = tokens.create(site, Actor.system("bench"), demo.OPERATOR_CODE, "bench")
        tm.commit()
        return secret
    finally:
        tm.abort()
        conn.close()


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}",
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def run(seconds=2.0, out_dir="var/bench", documents=None, fanout=None, edxml_mb=None, log=None):
    """Measure everything; write ``<out_dir>/bench-<time>.json`` and ``latest.json``."""
    from . import bench_documents as bd
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]    # other work on the machine skews every rate
    log = log or (lambda message: None)
    with tempfile.TemporaryDirectory() as tmp:
        log("commits")
        figures = bench_commits(tmp, seconds)
        log("http")
        figures.update(bench_http(tmp, seconds))
        docs = bd.run(tmp, seconds, documents=bd.DEFAULT_DOCUMENTS if documents is None else documents,
                      fanout=bd.FANOUT if fanout is None else fanout,
                      edxml_mb=bd.EDXML_MB if edxml_mb is None else edxml_mb, log=log)
    figures.update(docs.pop("per_second"))
    ratios = {
        "audit_append / zodb_commit": figures["audit_append"] / figures["zodb_commit"],
        "audit_append_4_writers / zodb_commit_4_writers":
            figures["audit_append_4_writers"] / figures["zodb_commit_4_writers"],
        "http_healthz / waitress_hello": figures["http_healthz"] / figures["waitress_hello"],
        "http_login_page / waitress_hello": figures["http_login_page"] / figures["waitress_hello"],
        "http_directory_search / waitress_hello": figures["http_directory_search"] / figures["waitress_hello"],
        "api_organizations_search / waitress_hello":
            figures["api_organizations_search"] / figures["waitress_hello"],
        **docs.pop("ratios"),
        "http_send / waitress_hello": figures["http_send"] / figures["waitress_hello"],
    }
    targets = docs.pop("targets")
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "machine": dict(machine(), load_average_at_start=load_before),
              "seconds_per_figure": seconds, "per_second": figures, "ratios": ratios, "targets": targets,
              "documents": docs, "total_seconds": round(time.perf_counter() - started, 1)}
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"bench-{report['date'][:19].replace(':', '')}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
    with open(os.path.join(out_dir, "latest.json"), "w") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
    return report, path


def summary(report):
    """``(figure, value)`` rows for the console: rates, ratios, latencies and the targets."""
    rows = [(name, f"{value:,.0f}/s") for name, value in report["per_second"].items()]
    rows += [(name, f"{value:.2f}×") for name, value in report["ratios"].items()]
    docs = report["documents"]
    rows.append((f"fanout to {docs['fanout']['units']} units (issue + commit)", f"{docs['fanout']['p50_ms']:.0f} ms"))
    built = docs["catalog_build"]
    for name, figure in docs["mailbox"].items():
        rows.append((f"{name} at {built['documents']:,} documents p95",
                     f"{figure['p95_ms']:.1f} ms (p50 {figure['p50_ms']:.1f}, cold {figure['cold_ms']:.0f})"))
    edx = docs["edxml"]
    rows.append((f"edXML import {edx['attachment_bytes'] / 2 ** 20:.0f} MB attachment (+ commit)",
                 f"{edx['p50_ms']:.0f} ms, peak {edx['peak_over_package']:.2f}× package"))
    for name, target in report["targets"].items():
        rows.append((f"target {name} {target['target']}",
                     f"{target['value']:g} {'met' if target['met'] else 'MISSED'}"))
    rows.append(("total time", f"{report['total_seconds']:.0f} s"))
    return rows
