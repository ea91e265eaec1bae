"""``lienthong bench --queue N``: how fast the workers drain the durable queue over HTTP.

On a ZEO database (a real ``runzeo``), ``N`` real documents are queued for four
destination units; ``lienthong worker`` subprocesses (1, then 2) deliver them through an
adapter to a receiving endpoint on localhost. The baseline is the raw send rate: the
same edXML payloads POSTed by a plain ``requests`` loop to the same receiver. The
destination is pluggable: ``adapter`` names any installed adapter and ``adapter_settings``
its settings (e.g. a peer hub); the default is ``bench_push`` below, a plain HTTP POST.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime

import requests
import transaction

from ..hookspecs import hookimpl
from ..transports import Adapter, Setting, TransportError
from .harness import write_report

DESTINATIONS = ("000.00.03.H49", "000.00.31.H49", "000.00.12.H49", "000.00.14.H49")
SENDER = "000.00.02.H49"
TARGET_2_WORKERS = 200.0


class BenchPush(Adapter):
    """POST each message to ``url`` (kept-alive session per thread)."""

    name = "bench_push"
    title = "Benchmark push"
    settings = (Setting("url", "URL", required=True),)
    batch_size = 100

    def __init__(self):
        self.local = threading.local()

    def deliver(self, message, env):
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        try:
            response = session.post(
                message.settings["url"],
                data=message.payload,
                timeout=30,
                headers={"X-Document-Id": message.document_id, "X-Recipient": message.recipient},
            )
        except requests.RequestException as exc:
            self.local.session = None
            raise TransportError(str(exc))
        if response.status_code >= 300:
            raise TransportError(f"HTTP {response.status_code}")


@hookimpl
def lienthong_transports():
    return [BenchPush()]


class Receiver:
    """Counts POSTs and the distinct (DocumentId, recipient) it got."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = 0
        self.seen = set()

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        environ["wsgi.input"].read(length)
        with self.lock:
            self.count += 1
            self.seen.add((environ.get("HTTP_X_DOCUMENT_ID"), environ.get("HTTP_X_RECIPIENT")))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _wait(predicate, timeout, every=0.05):
    """Until ``predicate()`` (True) or ``timeout`` (its last answer); asked every ``every``
    seconds, so that the watching costs the measured processes little of the machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return predicate()


def _remote_destination(via, settings, workdir):
    """The receiving end that the adapter ``via`` offers for the bench (``Adapter.bench_destination``)."""
    from ..plugins import adapters_of, make_plugin_manager

    adapter = adapters_of(make_plugin_manager(settings)).get(via)
    if adapter is None or not hasattr(adapter, "bench_destination"):
        raise RuntimeError(
            f"no enabled adapter {via!r} offers a bench destination (Adapter.bench_destination)"
        )
    return adapter.bench_destination(workdir, [(SENDER, "Sở Nội vụ")])


def _queued(site):
    from ..services import outbound

    return sum(len(dest.messages) for dest in outbound.queues(site).values())


def run(n=1000, out_dir="var/bench", adapter="bench_push", adapter_settings=None, log=None, via=None):
    """Measure; write ``<out_dir>/queue-<time>.json`` and ``latest-queue.json``; return (report, path).

    ``via``: drain through that adapter to the receiving end it offers (``peer_hub``: a second
    hub over HTTP) instead of the plain receiver; the raw baseline stays the plain receiver.
    """
    import waitress

    from .. import main
    from ..db import close_databases, get_database, run_in_site
    from ..services import demo, documents as ds, outbound
    from ..services.audit import Actor
    from ..services.env import get_env

    log = log or (lambda message: None)
    binary = os.path.dirname(sys.executable)
    receiver = Receiver()
    server = waitress.create_server(receiver, host="127.0.0.1", port=_free_port(), threads=8)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}/inbox"
    settings_for_unit = dict(adapter_settings or {"url": url})
    destinations, remote = DESTINATIONS, None
    with tempfile.TemporaryDirectory() as tmp:
        zeo_port = _free_port()
        os.makedirs(f"{tmp}/zeo")
        with open(f"{tmp}/zeo.conf", "w") as f:
            f.write(
                f"<zeo>\n address 127.0.0.1:{zeo_port}\n</zeo>\n<filestorage 1>\n path {tmp}/zeo/Data.fs\n"
                f" blob-dir {tmp}/zeo/blobs\n</filestorage>\n"
            )
        zeo = subprocess.Popen(
            [os.path.join(binary, "runzeo"), "-C", f"{tmp}/zeo.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers = []
        app = None
        try:
            _wait_port(zeo_port)

            def uri(name):
                return f"zeo://127.0.0.1:{zeo_port}?blob_dir={tmp}/cache-{name}&wait_timeout=15"

            settings = {
                "lienthong.secret": "bench-" + "x" * 40,
                "lienthong.session.secure": "false",
                "lienthong.auto_migrate": "true",
                "lienthong.plugins.extra": __name__,
                "lienthong.transport.idle_seconds": "0.02",
            }
            if via:
                log(f"queue: receiving end of {via}")
                remote = _remote_destination(via, settings, os.path.join(tmp, "destination"))
                settings.update(remote.sender_settings)
                adapter, settings_for_unit, destinations = (
                    via,
                    dict(remote.adapter_settings),
                    tuple(remote.units),
                )
            log("queue: site on ZEO")
            app = main({}, **{"zodbconn.uri": uri("bench"), **settings})
            env = get_env(app.registry)
            db = get_database(app.registry)
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)

            def tx(fn, commit=True):
                return run_in_site(db, fn, attempts=1, commit=commit, connection=conn)

            tx(lambda site: demo.populate(site, secrets.token_urlsafe(16)))

            def add_remote_units(site):
                from ..resources import directory as d
                from ..services import directory as dirs

                for code in destinations:
                    if code not in site["directory"]:
                        unit = dirs.add_unit(site, actor, {"code": code, "name": f"Đơn vị {code}"})
                        dirs.set_connection_state(site, actor, unit, d.OFFICIAL)

            actor = Actor(login="vanthu.snv")
            if remote is not None:
                tx(add_remote_units)
            # a peer imports what it receives: each run gets documents of its own, never repeats
            total = n * 2 if remote is not None else n
            log(f"queue: {total} documents")
            names = []

            def issue(site, start, stop):
                unit = site["directory"][SENDER]
                for i in range(start, stop):
                    doc = ds.compose(
                        site,
                        env,
                        actor,
                        unit,
                        {
                            "doc_type": "CV",
                            "subject": f"Công văn thử nghiệm số {i}",
                            "signer_name": "Bench",
                            "recipients": [destinations[i % len(destinations)]],
                        },
                    )
                    ds.issue(site, env, actor, doc)
                    names.append((doc.id, destinations[i % len(destinations)]))

            for start in range(0, total, 500):
                tx(lambda site: issue(site, start, min(total, start + 500)))

            def bind(site):  # after the sends: each run queues the messages once its workers wait
                for code in destinations:
                    site["directory"][code].adapter = adapter
                    site["directory"][code].adapter_settings.update(settings_for_unit)

            tx(bind)
            payloads = []

            def export(site):
                from ..services import edxml_io

                for name, _code in names[:n]:
                    document = site["documents"][name]
                    payloads.append((document.document_id, edxml_io.export_document(site, env, document)))

            tx(export, commit=False)
            log("queue: raw send loop")
            session = requests.Session()
            started = time.perf_counter()
            for document_id, payload in payloads:
                session.post(
                    url,
                    data=payload,
                    headers={"X-Document-Id": document_id, "X-Recipient": "raw"},
                    timeout=30,
                ).raise_for_status()
            raw = len(payloads) / (time.perf_counter() - started)
            payload_bytes = sum(len(p) for _d, p in payloads) // max(1, len(payloads))

            ini = os.path.join(tmp, "worker.ini")
            rates, receives = {}, {}
            for count in (1, 2):
                with open(ini, "w") as f:
                    f.write(
                        "[app:main]\nuse = egg:lienthong\n"
                        + "".join(
                            f"{k} = {v}\n" for k, v in {"zodbconn.uri": uri("w{id}"), **settings}.items()
                        )
                    )
                log(f"queue: drain with {count} worker(s)")
                workers, logs = [], []
                for i in range(count):
                    worker_ini = os.path.join(tmp, f"worker{count}-{i}.ini")
                    with open(ini) as src, open(worker_ini, "w") as dst:
                        dst.write(src.read().replace("w{id}", f"w{count}-{i}"))
                    logs.append(os.path.join(tmp, f"worker{count}-{i}.log"))
                    with open(logs[-1], "wb") as out:
                        workers.append(
                            subprocess.Popen(
                                [
                                    os.path.join(binary, "lienthong"),
                                    "-c",
                                    worker_ini,
                                    "worker",
                                    "--id",
                                    f"bench-{i}",
                                ],
                                stdout=out,
                                stderr=subprocess.STDOUT,
                            )
                        )
                if not _wait(lambda: all("started" in open(p).read() for p in logs), timeout=60):
                    raise RuntimeError("the workers did not start: " + " ".join(open(p).read() for p in logs))
                before = receiver.count
                batch = names[:n] if remote is None else names[(count - 1) * n : count * n]

                def requeue(site):
                    for name, code in batch:
                        outbound.enqueue(site, adapter, "document", name, code)

                tx(requeue)
                started = time.perf_counter()
                if remote is None:

                    def done():
                        return receiver.count - before >= n
                else:

                    def done():
                        return tx(_queued, commit=False) == 0

                if not _wait(done, timeout=max(120, n / 5)):
                    raise RuntimeError(f"the workers did not drain {n} messages; see the worker logs")
                elapsed = time.perf_counter() - started
                if remote is not None and hasattr(remote, "start_receiving"):
                    # the other half: what waits at the receiving end, taken in by its own workers
                    log(f"queue: the receiving end's {count} worker(s) take the {n} messages in")
                    received_before, answered_before = remote.received(), remote.answered()
                    remote.start_receiving(count)
                    started = time.perf_counter()

                    def taken_in():  # stored and acknowledged, and each status 01 on its way back
                        return (
                            remote.received() - received_before >= n
                            and remote.answered() - answered_before >= n
                        )

                    if not _wait(taken_in, timeout=max(120, n / 5)):
                        raise RuntimeError(
                            f"the receiving end did not take {n} messages in; see its worker logs"
                        )
                    receives[count] = n / (time.perf_counter() - started)
                    remote.stop_receiving()
                for proc in workers:
                    proc.send_signal(signal.SIGTERM)
                for proc in workers:
                    proc.wait(30)
                rates[count] = n / elapsed
            conn.close()
        finally:
            for proc in workers:
                if proc.poll() is None:
                    proc.kill()
            if app is not None:
                close_databases(app.registry)
            if remote is not None:
                remote.stop()
            zeo.terminate()
            zeo.wait(10)
            server.close()
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "messages": n,
        "destinations": len(destinations),
        "adapter": adapter,
        "receiver": "a second LienThong hub over HTTP (peer_hub)"
        if via == "peer_hub"
        else (f"the receiving end of {via}" if via else "a plain waitress endpoint"),
        "payload_bytes_mean": payload_bytes,
        "storage": "ZEO",
        "per_second": {
            "raw_send": raw,
            "drain_1_worker": rates[1],
            "drain_2_workers": rates[2],
            **{f"receive_{c}_worker{'s' if c > 1 else ''}": r for c, r in receives.items()},
        },
        "ratios": {"drain_1_worker / raw_send": rates[1] / raw, "drain_2_workers / raw_send": rates[2] / raw},
        "targets": {
            "drain_2_workers_per_second": {
                "target": f">= {TARGET_2_WORKERS:g}",
                "value": round(rates[2], 1),
                "met": rates[2] >= TARGET_2_WORKERS,
            }
        },
        "note": "timed from the commit that queues the N messages (workers already waiting) to the last "
        "send; the receive (when the receiving end has workers of its own), from the start of its "
        "workers, the messages waiting, to the last one imported and acknowledged with its status 01 "
        "on its way back",
    }
    if receives:  # each half on its own (on one machine they share its cores): the end's target
        target = getattr(remote, "target_per_second", TARGET_2_WORKERS)
        for count in (1, 2):
            name = f"{count}_worker{'s' if count > 1 else ''}_per_second"
            for half, figure in (("drain", rates[count]), ("receive", receives[count])):
                report["targets"][f"{half}_{name}"] = {
                    "target": f">= {target:g}",
                    "value": round(figure, 1),
                    "met": figure >= target,
                }
    return report, write_report(out_dir, "queue", report)


def summary(report):
    rows = [(name, f"{value:,.0f} msg/s") for name, value in report["per_second"].items()]
    rows += [(name, f"{value:.2f}×") for name, value in report["ratios"].items()]
    for name, target in report["targets"].items():
        rows.append(
            (
                f"target {name} {target['target']}",
                f"{target['value']:g} {'met' if target['met'] else 'MISSED'}",
            )
        )
    return rows
