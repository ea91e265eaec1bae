"""Two (or more) real LienThong hubs talking HTTP: each `lienthong serve` process on its own ZEO
database (so the test, the CLI and the server's in-process worker all reach it at once).

``start_pair(tmp_path, tmp_path_factory, venv_bin)`` gives hub A (a copy of the demo province)
and hub B (a small province of its own, units ``B_UNITS``) configured as each other's peer;
``peer_destination(...)`` is the receiving hub of ``lienthong bench --queue``
(``lienthong.plugins.peer_hub.bench``).
"""

import contextlib
import re
import secrets
from dataclasses import dataclass, field

from lienthong.plugins.peer_hub.bench import peer_settings

from . import cli
from .app import DEMO_PASSWORD, base_settings, close_app, free_port, make_app, with_site
from .demo import build_demo_snapshot, copy_snapshot
from .storages import running_zeo, runzeo_path

B_PROVINCE = "000.00.00.G01"
B_DEPT = "000.00.01.G01"  # where hub B's clerk works
B_OTHER = "000.00.02.G01"
B_UNITS = [
    (B_PROVINCE, "Ủy ban nhân dân tỉnh Bình Phước", "UBND tỉnh BP", "province", None),
    (B_DEPT, "Sở Nội vụ tỉnh Bình Phước", "SNV BP", "department", B_PROVINCE),
    (B_OTHER, "Sở Tư pháp tỉnh Bình Phước", "STP BP", "department", B_PROVINCE),
]
B_CLERK = "vanthu.bp"

FAST = {  # the in-process worker looks often and retries soon (tests wait seconds, not minutes)
    "lienthong.worker.in_process": "true",
    "lienthong.transport.idle_seconds": "0.1",
    "lienthong.transport.backoff_base": "0.2",
    "lienthong.transport.backoff_cap": "1",
    "lienthong.transport.poll_seconds": "3600",
}


@dataclass
class HubProcess:
    name: str
    port: int
    uri: str
    ini: str
    settings: dict
    log: str
    app: object = None  # the application in the test process, on the same ZEO database
    proc: object = None
    serve_ini: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def tx(self, fn):
        return with_site(self.app, fn)

    def cli(self, *args, timeout=60):
        return cli.run(list(args), ini=self.ini, timeout=timeout)

    def stop(self):
        cli.stop(self.proc)

    def start(self):
        """``lienthong serve`` again (after ``stop``), on the same port and database."""
        self.proc = cli.start_server(self.serve_ini, self.port, self.log + ".again")


def populate_b(site):
    """Hub B's own province: three units, connected, and a clerk."""
    from lienthong.core.resources import directory as d
    from lienthong.core.services import accounts, audit, directory as dirs

    actor = audit.Actor.system("test")
    for code, name, short, kind, parent in B_UNITS:
        unit = dirs.add_unit(
            site,
            actor,
            {"code": code, "name": name, "short_name": short, "kind": kind, "parent_code": parent},
        )
        dirs.set_connection_state(site, actor, unit, d.OFFICIAL)
    accounts.add_user(
        site, actor, B_CLERK, "Văn thư Sở Nội vụ BP", DEMO_PASSWORD, B_DEPT, ["clerk", "leader"]
    )


@contextlib.contextmanager
def running_hub(tmp_path, name, peers, secret, venv_bin, snapshot=None, populate=None, **settings):
    """One hub: its ZEO server, the app in this process (``populate(site)`` run once), its ini."""
    directory = tmp_path / name
    (directory / "zeo").mkdir(parents=True)
    if snapshot:
        copy_snapshot(snapshot, str(directory / "zeo"))
    with running_zeo(runzeo_path(venv_bin), directory) as (zeo_port, _blobs):

        def uri(client):
            return f"zeo://127.0.0.1:{zeo_port}?blob_dir={directory}/cache-{client}&wait_timeout=15"

        port = settings.pop("port", None) or free_port()
        values = {**FAST, **peer_settings(name, peers, secret), **settings}
        app = make_app(base_settings(directory / "app", **{"zodbconn.uri": uri("test"), **values}))
        try:
            if populate is not None:
                with_site(app, populate)
            ini = cli.write_ini(directory / "hub.ini", uri("serve"), port=port, **values)
            cli_ini = cli.write_ini(directory / "cli.ini", uri("cli"), port=port, **values)
            hub = HubProcess(
                name, port, uri("serve"), cli_ini, values, str(directory / "serve.log"), app, serve_ini=ini
            )
            hub.proc = cli.start_server(ini, port, hub.log)
            try:
                yield hub
            finally:
                hub.stop()
        finally:
            close_app(app)


@contextlib.contextmanager
def start_pair(tmp_path, tmp_path_factory, venv_bin, **settings):
    """Hub ``hub-a`` (the demo province) and hub ``hub-b`` (``B_UNITS``), peers of each other."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    secret = secrets.token_urlsafe(32)
    port_a, port_b = free_port(), free_port()
    with (
        running_hub(
            tmp_path,
            "hub-a",
            {"hub-b": f"http://127.0.0.1:{port_b}"},
            secret,
            venv_bin,
            snapshot=snapshot,
            port=port_a,
            **settings,
        ) as a,
        running_hub(
            tmp_path,
            "hub-b",
            {"hub-a": f"http://127.0.0.1:{port_a}"},
            secret,
            venv_bin,
            populate=populate_b,
            port=port_b,
            **settings,
        ) as b,
    ):
        a.extra["secret"] = b.extra["secret"] = secret
        yield a, b


def sync_both(a, b):
    """``lienthong peer sync`` on each side; returns the two outputs."""
    outputs = []
    for hub in (a, b):
        result = hub.cli("peer", "sync")
        assert result.returncode == 0, (result.stdout, result.stderr)
        outputs.append(result.stdout)
    return outputs


@contextlib.contextmanager
def peer_destination(tmp_path, sender_name, sender_units):
    """The bench's receiving hub (``lienthong.plugins.peer_hub.bench``), stopped at the end."""
    from lienthong.plugins.peer_hub.bench import start_destination

    destination = start_destination(str(tmp_path / "peer-destination"), sender_name, sender_units)
    try:
        yield destination
    finally:
        destination.stop()


def add_peer_units(site, peer_name, units):
    """Units ``[(code, name)]`` hosted by ``peer_name``, as a sync would add them (for benches)."""
    from lienthong.core.resources import directory as d
    from lienthong.core.services import audit, directory as dirs

    actor = audit.Actor.system("test")
    for code, name in units:
        if code in site["directory"]:
            continue
        unit = dirs.add_unit(
            site,
            actor,
            {"code": code, "name": name, "adapter": "peer_hub", "adapter_settings": {"peer": peer_name}},
        )
        dirs.set_connection_state(site, actor, unit, d.OFFICIAL)


def secret_of(output):
    return re.search(r"secret \(shown once, store it now\): (\S+)", output).group(1)
