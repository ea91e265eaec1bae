"""The national axis for ``lienthong bench --queue N --queue-via vxp``: queue drain to the axis.

``start_destination(workdir, sender_units)`` serves the axis simulator (``simulator.py``)
on localhost with two centres: ``bench-hub``, the sending hub, serving ``sender_units``,
and ``bench-ministry``, serving ``UNITS`` (the bench's destinations). It returns a
``Destination``: the settings the sending hub adds (its place on the axis; the worker
polls and reconciles rarely, so the figure is the send), the codes to address, and
``stop()``. The figure: how fast the workers empty the queue with one signed ``sendEdoc``
per document, each checked and stored by the simulator.
"""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from lienthong.plugins.bench_common import free_port, wait_port

#: agencies of another centre on the axis (ministries), the documents' recipients
UNITS = (
    ("000.00.00.G05", "Bộ Tư pháp (trục mô phỏng)"),
    ("000.00.00.G07", "Bộ Tài chính (trục mô phỏng)"),
    ("000.00.00.G12", "Bộ Xây dựng (trục mô phỏng)"),
    ("000.00.00.G17", "Bộ Giáo dục và Đào tạo (trục mô phỏng)"),
)


@dataclass
class Destination:
    url: str
    sender_settings: dict
    units: list
    simulator: object = field(repr=False, default=None)
    stack: object = field(repr=False, default=None)
    adapter_settings: dict = field(default_factory=dict)
    workdir: str = ""
    ministry_secret: str = field(repr=False, default="")
    sender_units: list = field(default_factory=list)
    receiving: object = field(repr=False, default=None)
    target_per_second: float = 100.0  # documents/s each way through the axis, 2 workers (issue #15)

    def start_receiving(self, workers):
        """The receiving centre takes what arrives: ``workers`` of a hub of its own
        (``bench-ministry``, hosting ``UNITS``, made at the first call) poll the axis,
        import and acknowledge."""
        if self.receiving is None:
            self.receiving = _ReceivingHub(self.workdir, self.url, self.ministry_secret, self.sender_units)
            self.stack.callback(self.receiving.close)
        self.receiving.start(workers)

    def received(self):
        """Packages the receiving centre has acknowledged ``done`` (imported and committed)."""
        return self.simulator.count("bench-ministry", "edoc", "done")

    def answered(self):
        """Statuses the receiving centre has sent back to the sender (01 on arrival): the round
        trip is over when each document is stored there and its status is on its way back."""
        return self.simulator.count("bench-hub", "status")

    def stop_receiving(self):
        if self.receiving is not None:
            self.receiving.stop()

    def stop(self):
        if self.stack is not None:
            self.stack.close()


class _ReceivingHub:
    """A hub on a ZEO server of its own, centre ``bench-ministry`` of the axis, whose workers
    are ``lienthong worker`` processes: one polls the axis at a time (the centre's lease), each
    document comes in through the hub's one inbound door and its status 01 goes back."""

    def __init__(self, workdir, url, secret, sender_units):
        self.workdir, self.procs = workdir, []
        os.makedirs(workdir, exist_ok=True)
        self.binary = os.path.dirname(sys.executable)
        port = free_port()
        with open(f"{workdir}/zeo.conf", "w") as f:
            f.write(
                f"<zeo>\n address 127.0.0.1:{port}\n</zeo>\n<filestorage 1>\n path {workdir}/Data.fs\n"
                f" blob-dir {workdir}/blobs\n</filestorage>\n"
            )
        self.zeo = subprocess.Popen(
            [os.path.join(self.binary, "runzeo"), "-C", f"{workdir}/zeo.conf"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(port)
        self.uri = f"zeo://127.0.0.1:{port}?blob_dir={workdir}/cache-{{}}&wait_timeout=15"
        self.settings = {
            "lienthong.secret": secrets.token_urlsafe(32),
            "lienthong.session.secure": "false",
            "lienthong.auto_migrate": "true",
            "lienthong.transport.idle_seconds": "0.02",
            "lienthong.vxp.url": url,
            "lienthong.vxp.system_id": "bench-ministry",
            "lienthong.vxp.secret": "bench",
            "lienthong.vxp.secret.bench": secret,
            "lienthong.vxp.poll_seconds": "0.05",
            "lienthong.vxp.reconcile_seconds": "3600",
        }
        self._populate(sender_units)

    def _populate(self, sender_units):
        from lienthong.core import main
        from lienthong.core.db import close_databases, get_database, run_in_site
        from lienthong.core.resources import directory as d
        from lienthong.core.services import audit, directory as dirs

        def fill(site):
            actor = audit.Actor.system("bench")
            for code, name, adapter in [(c, n, "") for c, n in UNITS] + [
                (c, n, "vxp") for c, n in sender_units
            ]:
                if code not in site["directory"]:
                    unit = dirs.add_unit(site, actor, {"code": code, "name": name, "adapter": adapter})
                    dirs.set_connection_state(site, actor, unit, d.OFFICIAL)

        app = main({}, **{**self.settings, "zodbconn.uri": self.uri.format("fill")})
        try:
            run_in_site(get_database(app.registry), fill, attempts=1)
        finally:
            close_databases(app.registry)

    def start(self, workers):
        logs = []
        for _i in range(workers):
            n = len(self.procs)
            ini = os.path.join(self.workdir, f"worker-{n}.ini")
            settings = {"zodbconn.uri": self.uri.format(f"w{n}"), **self.settings}
            with open(ini, "w") as f:
                f.write(
                    "[app:main]\nuse = egg:lienthong\n" + "".join(f"{k} = {v}\n" for k, v in settings.items())
                )
            logs.append(ini + ".log")
            with open(logs[-1], "wb") as out:
                command = [
                    os.path.join(self.binary, "lienthong"),
                    "-c",
                    ini,
                    "worker",
                    "--id",
                    f"ministry-{n}",
                ]
                self.procs.append(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while not all("started" in open(p).read() for p in logs):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the receiving workers did not start: " + " ".join(open(p).read() for p in logs)
                )
            time.sleep(0.05)

    def stop(self):
        """Stop the workers (SIGTERM: each finishes the item it holds)."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs = []

    def close(self):
        self.stop()
        self.zeo.terminate()
        self.zeo.wait(10)


def start_destination(workdir, sender_units):
    from .simulator import AxisSimulator, serve_axis

    secret = secrets.token_urlsafe(24)
    sim = AxisSimulator()
    sim.add_centre("bench-hub", secret)
    ministry_secret = secrets.token_urlsafe(24)
    sim.add_centre("bench-ministry", ministry_secret)
    sim.serve_codes("bench-hub", [code for code, _name in sender_units])
    sim.serve_codes("bench-ministry", [code for code, _name in UNITS])
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve_axis(sim, threads=8))
    settings = {
        "lienthong.vxp.url": url,
        "lienthong.vxp.system_id": "bench-hub",
        "lienthong.vxp.secret": "bench",
        "lienthong.vxp.secret.bench": secret,
        "lienthong.vxp.poll_seconds": "3600",
        "lienthong.vxp.reconcile_seconds": "3600",
    }
    return Destination(
        url,
        settings,
        [code for code, _name in UNITS],
        simulator=sim,
        stack=stack,
        workdir=os.path.join(workdir, "ministry"),
        ministry_secret=ministry_secret,
        sender_units=list(sender_units),
    )


@dataclass
class DirectorySource:
    """The national directory for ``lienthong bench --directory N --directory-via vxp``: the
    simulator's generated directory, synchronized through the plugin's own path."""

    settings: dict
    simulator: object = field(repr=False, default=None)
    stack: object = field(repr=False, default=None)
    config: object = field(repr=False, default=None)

    def sync(self, site, actor, full, commit):
        """Full or incremental sync of ``site`` (``commit()`` after each batch); the rows read."""
        from . import directory
        from .client import AxisClient

        return directory.sync(site, actor, AxisClient(self.config), full=full, commit=commit).rows

    def change(self, count):
        """Rename ``count`` agencies on the axis: what the incremental sync then brings."""
        for code in list(self.simulator.agencies)[-count:]:
            self.simulator.mark_changed(code, name=self.simulator.agencies[code]["name"] + " (đổi tên)")

    def stop(self):
        if self.stack is not None:
            self.stack.close()


def start_directory(workdir, agencies):
    from . import config as axis_config
    from .simulator import AxisSimulator, serve_axis

    secret = secrets.token_urlsafe(24)
    sim = AxisSimulator()
    sim.add_centre("bench-hub", secret)
    sim.generate_agencies(agencies)
    stack = contextlib.ExitStack()
    url = stack.enter_context(serve_axis(sim, threads=4))
    settings = {
        "lienthong.vxp.url": url,
        "lienthong.vxp.system_id": "bench-hub",
        "lienthong.vxp.secret": "bench",
        "lienthong.vxp.secret.bench": secret,
    }
    return DirectorySource(settings, simulator=sim, stack=stack, config=axis_config.load(settings))
