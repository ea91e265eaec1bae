"""``lienthong bench``: throughput of LienThong's paths against baselines measured in the same run.

Each figure is a ratio to a baseline on the same machine and moment, so the numbers
mean something across machines:

* ``commits.py`` — ``audit_append`` against a raw ZODB commit (``zodb_commit``), alone
  and with 4 writers at once;
* ``web.py`` — ``http_healthz`` / ``http_login_page`` / searches: requests through the
  full application served by waitress, against a plain WSGI "hello" (``waitress_hello``);
* ``documents.py`` — the document exchange: send against a raw commit of a similar
  object graph, the same send over HTTP against ``waitress_hello``, fan-out, inbox and
  search at ``documents`` documents, edXML import; each against its target;
* ``queue.py`` — ``lienthong bench --queue N``: the workers draining the outbound queue
  (a run of its own); ``catalog.py`` — the catalog alone, with synthetic records.

``harness.py`` holds what they share (threads, rates, a waitress server, the machine).
"""

import os
import tempfile
import time
from datetime import UTC, datetime

from . import documents as bd
from .commits import bench_commits
from .harness import machine, write_report
from .web import bench_http


def run(seconds=2.0, out_dir="var/bench", documents=None, fanout=None, edxml_mb=None, log=None):
    """Measure everything; write ``<out_dir>/bench-<time>.json`` and ``latest.json``."""
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]  # other work on the machine skews every rate
    log = log or (lambda message: None)
    with tempfile.TemporaryDirectory() as tmp:
        log("commits")
        figures = bench_commits(tmp, seconds)
        log("http")
        figures.update(bench_http(tmp, seconds))
        docs = bd.run(
            tmp,
            seconds,
            documents=bd.DEFAULT_DOCUMENTS if documents is None else documents,
            fanout=bd.FANOUT if fanout is None else fanout,
            edxml_mb=bd.EDXML_MB if edxml_mb is None else edxml_mb,
            log=log,
        )
    figures.update(docs.pop("per_second"))
    ratios = {
        "audit_append / zodb_commit": figures["audit_append"] / figures["zodb_commit"],
        "audit_append_4_writers / zodb_commit_4_writers": figures["audit_append_4_writers"]
        / figures["zodb_commit_4_writers"],
        "http_healthz / waitress_hello": figures["http_healthz"] / figures["waitress_hello"],
        "http_login_page / waitress_hello": figures["http_login_page"] / figures["waitress_hello"],
        "http_directory_search / waitress_hello": figures["http_directory_search"]
        / figures["waitress_hello"],
        "api_organizations_search / waitress_hello": figures["api_organizations_search"]
        / figures["waitress_hello"],
        **docs.pop("ratios"),
        "http_send / waitress_hello": figures["http_send"] / figures["waitress_hello"],
    }
    targets = docs.pop("targets")
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": dict(machine(), load_average_at_start=load_before),
        "seconds_per_figure": seconds,
        "per_second": figures,
        "ratios": ratios,
        "targets": targets,
        "documents": docs,
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    return report, write_report(out_dir, "bench", report, latest="latest.json")


def summary(report):
    """``(figure, value)`` rows for the console: rates, ratios, latencies and the targets."""
    rows = [(name, f"{value:,.0f}/s") for name, value in report["per_second"].items()]
    rows += [(name, f"{value:.2f}×") for name, value in report["ratios"].items()]
    docs = report["documents"]
    rows.append(
        (f"fanout to {docs['fanout']['units']} units (issue + commit)", f"{docs['fanout']['p50_ms']:.0f} ms")
    )
    built = docs["catalog_build"]
    for name, figure in docs["mailbox"].items():
        rows.append(
            (
                f"{name} at {built['documents']:,} documents p95",
                f"{figure['p95_ms']:.1f} ms (p50 {figure['p50_ms']:.1f}, cold {figure['cold_ms']:.0f})",
            )
        )
    for key, how in (("edxml", "zip-wrapped"), ("edxml_raw", "raw")):
        edx = docs[key]
        rows.append(
            (
                f"edXML import {edx['attachment_bytes'] / 2**20:.0f} MB attachment, {how} (+ commit)",
                f"{edx['p50_ms']:.0f} ms, peak {edx['peak_over_package']:.2f}× package",
            )
        )
    for name, target in report["targets"].items():
        rows.append(
            (
                f"target {name} {target['target']}",
                f"{target['value']:g} {'met' if target['met'] else 'MISSED'}",
            )
        )
    rows.append(("total time", f"{report['total_seconds']:.0f} s"))
    return rows
