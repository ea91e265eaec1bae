"""The worker as real processes (R6.5): ``lienthong worker`` subprocesses on ZEO and on
RelStorage/PostgreSQL, ``lienthong serve`` with the in-process worker on a FileStorage, and
a receiving product over HTTP (``tests/support/receiver.py``) in the test process.
"""

import contextlib
import os
import re
import signal
import subprocess
import time

import pytest

from lienthong.core.services import demo, documents as ds, outbound

from .support import cli
from .support.app import DEMO_PASSWORD, ROOT, base_settings, close_app, free_port, make_app, with_site
from .support.demo import build_demo_snapshot, copy_snapshot
from .support.exchange import SNV, STP, STTTT, VUNGTAU, actor, basic
from .support.receiver import Receiver, wait_until
from .support.storages import pg_database, relstorage_conf, running_zeo, runzeo_path  # noqa: F401

PLUGIN = {"lienthong.plugins.extra": "tests.support.transport_adapter"}
DESTINATIONS = [STP, VUNGTAU, STTTT, "000.00.14.H49"]


@pytest.fixture
def receiver():
    r = Receiver().start(threads=16)
    yield r
    r.stop()


def worker_env():
    return cli.clean_env(PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def start_worker(ini, log_path, worker_id):
    log = open(log_path, "ab")
    proc = subprocess.Popen(
        [cli.LIENTHONG, "-c", ini, "worker", "--id", worker_id],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=worker_env(),
    )
    log.close()
    return proc


def stop_worker(proc, log_path):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: the current batch ends first
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            raise AssertionError(f"the worker did not stop on SIGTERM:\n{open(log_path).read()}")
    text = open(log_path).read()
    assert "Traceback" not in text, text
    return proc.returncode


def bind(app, receiver, codes):
    def run(site):
        for code in codes:
            unit = site["directory"][code]
            unit.adapter = "test_push"
            unit.adapter_settings["url"] = receiver.url()

    with_site(app, run)


def issue_many(app, count, codes, batch=250, files=False):
    """``count`` real documents from SNV, each to one destination of ``codes`` in turn:
    their messages are queued by the document services in the same transactions."""
    from lienthong.core.services.env import get_env

    env = get_env(app.registry)
    ids = {code: [] for code in codes}

    def run(site, start, stop):
        unit = site["directory"][SNV]
        for i in range(start, stop):
            code = codes[i % len(codes)]
            doc = ds.compose(
                site, env, actor("vanthu.snv"), unit, basic(recipients=[code], subject=f"Văn bản {i}")
            )
            ds.issue(site, env, actor("vanthu.snv"), doc)
            ids[code].append(doc.document_id)

    for start in range(0, count, batch):
        with_site(app, lambda site: run(site, start, min(count, start + batch)))
    return ids


def queued(app):
    return with_site(app, lambda site: outbound.pending(site))


@contextlib.contextmanager
def zeo_hub(tmp_path, tmp_path_factory, venv_bin, **settings):
    """A ZEO server serving a copy of the demo site; yields (app in this process, worker ini maker)."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    (tmp_path / "zeo").mkdir()
    copy_snapshot(snapshot, str(tmp_path / "zeo"))
    with running_zeo(runzeo_path(venv_bin), tmp_path) as (port, _blobs):

        def uri(name):
            return f"zeo://127.0.0.1:{port}?blob_dir={tmp_path}/cache-{name}&wait_timeout=15"

        app = make_app(base_settings(tmp_path / "app", **{"zodbconn.uri": uri("app"), **PLUGIN, **settings}))
        try:
            yield (
                app,
                lambda name: cli.write_ini(
                    tmp_path / f"{name}.ini", uri(name), port=free_port(), **PLUGIN, **settings
                ),
            )
        finally:
            close_app(app)


def deliver_1000_with_two_workers(tmp_path, app, ini_for, receiver):
    bind(app, receiver, DESTINATIONS)
    ids = issue_many(app, 1000, DESTINATIONS)
    assert len(queued(app)) == 1000
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    started = time.monotonic()
    workers = [start_worker(ini_for(f"worker{i}"), logs[i], f"worker-{i}") for i in range(2)]
    try:
        assert wait_until(
            lambda: len(receiver.stored) == 1000 or any(w.poll() is not None for w in workers), timeout=90
        )
        elapsed = time.monotonic() - started
    finally:
        for proc, log in zip(workers, logs):
            stop_worker(proc, log)
    assert len(receiver.stored) == 1000, [open(log).read()[-3000:] for log in logs]
    assert receiver.duplicates == 0 and receiver.concurrent == 0  # leases: never the same message twice
    for code in DESTINATIONS:  # nothing lost, each destination in order
        assert [receiver.stored[k]["document_id"] for k in receiver.order[code]] == ids[code]
    assert wait_until(lambda: queued(app) == [], timeout=10)
    arrived = with_site(
        app,
        lambda site: sum(
            1
            for d in site["documents"].values()
            for code in DESTINATIONS
            if d.delivery_for(code) is not None and d.delivery_for(code).state == "01"
        ),
    )
    assert arrived == 1000
    handled = [int(re.search(r"stopped: (\d+) message", open(log).read()).group(1)) for log in logs]
    assert sum(handled) == 1000 and min(handled) > 0, handled  # both took part
    return elapsed


def test_two_worker_processes_on_zeo_deliver_1000_messages_once_each(
    tmp_path, tmp_path_factory, venv_bin, receiver
):
    with zeo_hub(tmp_path, tmp_path_factory, venv_bin) as (app, ini_for):
        elapsed = deliver_1000_with_two_workers(tmp_path, app, ini_for, receiver)
    assert elapsed < 60


def test_two_worker_processes_on_relstorage_deliver_1000_messages_once_each(tmp_path, pg_database, receiver):
    def uri(name):
        return f"zconfig://{relstorage_conf(tmp_path / name, pg_database)}"

    app = make_app(base_settings(tmp_path / "app", **{"zodbconn.uri": uri("app"), **PLUGIN}))
    try:
        with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))
        elapsed = deliver_1000_with_two_workers(
            tmp_path,
            app,
            lambda name: cli.write_ini(tmp_path / f"{name}.ini", uri(name), port=free_port(), **PLUGIN),
            receiver,
        )
    finally:
        close_app(app)
    assert elapsed < 60


def test_kill_9_in_the_middle_of_a_delivery_loses_nothing_and_the_receiver_keeps_each_once(
    tmp_path, tmp_path_factory, venv_bin, receiver
):
    settings = {"lienthong.transport.lease_seconds": "3"}
    with zeo_hub(tmp_path, tmp_path_factory, venv_bin, **settings) as (app, ini_for):
        bind(app, receiver, [STP])
        ids = issue_many(app, 10, [STP])[STP]
        receiver.hold.add(ids[4])  # the product is slow on the fifth document
        log = tmp_path / "worker.log"
        first = start_worker(ini_for("first"), log, "first")
        try:
            assert receiver.holding.wait(30), open(log).read()
            assert receiver.document_ids() == ids[:4]
            os.kill(first.pid, signal.SIGKILL)  # in the middle of the batch: nothing recorded
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        receiver.released.set()  # the product finishes the request it had
        assert wait_until(lambda: len(receiver.stored) == 5, timeout=10)
        assert len(queued(app)) == 10  # all still queued: the dead worker recorded nothing

        second = start_worker(ini_for("second"), log, "second")
        try:
            assert wait_until(lambda: queued(app) == [], timeout=30), open(log).read()
        finally:
            stop_worker(second, log)
        # every document exactly once at the receiver; the ones sent before the crash came twice
        assert [receiver.stored[k]["document_id"] for k in receiver.order[STP]] == ids
        assert receiver.duplicates == 5 and receiver.concurrent == 0
        states = with_site(
            app,
            lambda site: {
                d.document_id: d.delivery_for(STP).state
                for d in site["documents"].values()
                if d.delivery_for(STP)
            },
        )
        assert all(states[i] == "01" for i in ids)


def test_the_backlog_drains_in_order_after_the_receiver_comes_back(
    tmp_path, tmp_path_factory, venv_bin, receiver
):
    settings = {
        "lienthong.transport.backoff_base": "0.5",
        "lienthong.transport.backoff_cap": "1",
        "lienthong.transport.idle_seconds": "0.2",
    }
    with zeo_hub(tmp_path, tmp_path_factory, venv_bin, **settings) as (app, ini_for):
        bind(app, receiver, [STP, VUNGTAU])
        receiver.down = True
        log = tmp_path / "worker.log"
        proc = start_worker(ini_for("w"), log, "w")
        try:
            ids = issue_many(app, 40, [STP, VUNGTAU], batch=5)
            assert wait_until(lambda: sum(1 for _k, m in queued(app) if m["attempts"] >= 2) == 2, timeout=30)
            assert receiver.stored == {}
            receiver.down = False
            assert wait_until(lambda: len(receiver.stored) == 40, timeout=30), open(log).read()
        finally:
            stop_worker(proc, log)
        for code in (STP, VUNGTAU):
            assert [receiver.stored[k]["document_id"] for k in receiver.order[code]] == ids[code]
        assert receiver.duplicates == 0


def test_serve_runs_the_worker_in_process_on_a_filestorage_and_a_second_worker_is_refused(
    tmp_path, tmp_path_factory, receiver
):
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    copy_snapshot(snapshot, str(site_dir))
    uri = f"file://{site_dir}/Data.fs?blobstorage_dir={site_dir}/blobs"
    app = make_app(base_settings(site_dir, **PLUGIN))
    try:
        bind(app, receiver, [STP])
        ids = issue_many(app, 5, [STP])[STP]
    finally:
        close_app(app)
    port = free_port()
    ini = cli.write_ini(tmp_path / "serve.ini", uri, port=port, **PLUGIN)
    server_log = tmp_path / "serve.log"
    log = open(server_log, "wb")
    server = subprocess.Popen(
        [cli.LIENTHONG, "-c", ini, "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=worker_env(),
    )
    log.close()
    try:
        assert wait_until(lambda: len(receiver.stored) == 5, timeout=30), open(server_log).read()
        assert [receiver.stored[k]["document_id"] for k in receiver.order[STP]] == ids
        result = subprocess.run(
            [cli.LIENTHONG, "-c", ini, "worker", "--once"],
            capture_output=True,
            text=True,
            env=worker_env(),
            timeout=60,
        )
        cli.assert_clean_failure(result, "is locked by another process", "lienthong.worker.in_process = true")
    finally:
        cli.stop(server)


def test_worker_once_drains_a_filestorage_and_exits(tmp_path, tmp_path_factory, receiver):
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    copy_snapshot(snapshot, str(site_dir))
    app = make_app(base_settings(site_dir, **PLUGIN))
    try:
        bind(app, receiver, [STP, VUNGTAU])
        issue_many(app, 6, [STP, VUNGTAU])
    finally:
        close_app(app)
    ini = cli.write_ini(
        tmp_path / "w.ini", f"file://{site_dir}/Data.fs?blobstorage_dir={site_dir}/blobs", **PLUGIN
    )
    result = subprocess.run(
        [cli.LIENTHONG, "-c", ini, "worker", "--once"],
        capture_output=True,
        text=True,
        env=worker_env(),
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "6 message(s) handled" in result.stdout
    assert len(receiver.stored) == 6


def test_bench_queue_measures_drain_rates_against_the_raw_send_rate(tmp_path):
    import json

    result = subprocess.run(
        [cli.LIENTHONG, "bench", "--queue", "40", "--out", str(tmp_path / "bench")],
        capture_output=True,
        text=True,
        env=cli.clean_env(),
        cwd=tmp_path,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "bench" / "latest-queue.json").read_text())
    assert report["messages"] == 40 and set(report["per_second"]) == {
        "raw_send",
        "drain_1_worker",
        "drain_2_workers",
    }
    assert all(v > 0 for v in report["per_second"].values())
    assert "drain_2_workers_per_second" in report["targets"]
