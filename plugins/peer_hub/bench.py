"""A receiving peer hub for ``lienthong bench --queue``: queue drain to a peer over HTTP.

``start_destination(workdir, sender_name, sender_units)`` creates a small hub ``bench-peer``
on a FileStorage in ``workdir`` (its own units ``UNITS``, the sender's units as hosted by
``sender_name``), serves it with ``lienthong serve`` (no worker: the statuses it would send
back are not part of the figure) and returns a ``Destination``: its URL, the settings the
sending hub adds, the codes to make the sender's units address (adapter ``peer_hub``,
settings ``{"peer": "bench-peer"}``), and ``stop()``.
"""

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

from lienthong.plugins.bench_common import free_port

NAME = "bench-peer"
UNITS = (("000.00.01.Z01", "Sở Nội vụ (hub ngang hàng)"), ("000.00.02.Z01", "Sở Tư pháp (hub ngang hàng)"))


@dataclass
class Destination:
    url: str
    sender_settings: dict
    units: list
    proc: object = field(repr=False, default=None)
    log: str = ""
    adapter_settings: dict = field(default_factory=lambda: {"peer": NAME})

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def peer_settings(me, peers, secret, key_id="bench"):
    """The ini settings of hub ``me`` whose peers are ``{name: url}``, all sharing ``secret``."""
    out = {"lienthong.peer_hub.name": me, "lienthong.peer_hub.peers": " ".join(peers)}
    for name, url in peers.items():
        out[f"lienthong.peer_hub.peer.{name}.url"] = url
        out[f"lienthong.peer_hub.peer.{name}.key_id"] = key_id
        out[f"lienthong.peer_hub.secret.{name}"] = secret
    return out


def _populate(settings, sender_name, sender_units):
    from lienthong.core import main
    from lienthong.core.db import close_databases, get_database, run_in_site
    from lienthong.core.resources import directory as d
    from lienthong.core.services import audit, directory as dirs

    def fill(site):
        actor = audit.Actor.system("bench")
        for code, name in UNITS:
            if code not in site["directory"]:
                dirs.set_connection_state(
                    site, actor, dirs.add_unit(site, actor, {"code": code, "name": name}), d.OFFICIAL
                )
        for code, name in sender_units:
            if code not in site["directory"]:
                unit = dirs.add_unit(
                    site,
                    actor,
                    {
                        "code": code,
                        "name": name,
                        "adapter": "peer_hub",
                        "adapter_settings": {"peer": sender_name},
                    },
                )
                dirs.set_connection_state(site, actor, unit, d.OFFICIAL)

    app = main({}, **settings)
    try:
        run_in_site(get_database(app.registry), fill, attempts=1)
    finally:
        close_databases(app.registry)


def start_destination(workdir, sender_name, sender_units, timeout=30):
    """Serve a receiving hub in ``workdir``; ``sender_units``: [(code, name)] of the sending hub's senders."""
    os.makedirs(workdir, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    port = free_port()
    settings = {
        "zodbconn.uri": f"file://{os.path.abspath(workdir)}/Data.fs?blobstorage_dir={os.path.abspath(workdir)}/blobs",
        "lienthong.secret": secrets.token_urlsafe(32),
        "lienthong.session.secure": "false",
        "lienthong.auto_migrate": "true",
        "lienthong.worker.in_process": "false",
        **peer_settings(NAME, {sender_name: "http://127.0.0.1:9"}, secret),
    }
    _populate(settings, sender_name, sender_units)
    ini = os.path.join(workdir, "peer.ini")
    with open(ini, "w") as f:
        f.write(
            "[app:main]\nuse = egg:lienthong\n"
            + "".join(f"{k} = {v}\n" for k, v in settings.items())
            + f"\n[server:main]\nuse = egg:waitress#main\nhost = 127.0.0.1\nport = {port}\nthreads = 4\n"
        )
    log_path = os.path.join(workdir, "serve.log")
    with open(log_path, "wb") as log:
        command = [os.path.join(os.path.dirname(sys.executable), "lienthong"), "-c", ini, "serve"]
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    destination = Destination(
        url, peer_settings(sender_name, {NAME: url}, secret), [c for c, _n in UNITS], proc, log_path
    )
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            with open(log_path) as f:
                raise RuntimeError(f"the peer hub did not start:\n{f.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return destination
        except OSError:
            pass
        if time.monotonic() > deadline:
            destination.stop()
            raise RuntimeError(f"the peer hub did not answer /healthz within {timeout}s")
        time.sleep(0.1)
