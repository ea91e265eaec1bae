"""etc/nginx.conf.example in front of a real `lienthong serve`, under 200 slow connections.

Debian's nginx (the Makefile's ``nginx`` target, .ci/run) runs the example as it is shipped,
but for what a test cannot have: TLS is left out (its ``ssl_*`` lines and ``listen 443 ssl``
become plain listens on free ports of 127.0.0.1) and the upstream is the test's server.
Attackers connect from 127.0.0.2 and the canary from 127.0.0.1: the limits are per address.
Skipped without nginx; a failure under LIENTHONG_REQUIRE_ALL=1.
"""

import http.client
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time

import pytest

from .support import cli
from .support.app import ROOT, file_uri, free_port, need

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
HOST = "lienthong.example.gov.vn"  # the example's server_name
ATTACKER = "127.0.0.2"
HEADER_TIMEOUT = 10  # the example's client_header_timeout
CONNECTION_LIMIT = 50  # its limit_conn


def site_config(example, app_port, https_port, http_port):
    """The example for a test: plain listens on free ports, no TLS, the test's upstream."""
    text, upstreams = re.subn(r"127\.0\.0\.1:6543\b", f"127.0.0.1:{app_port}", example)
    counts = {"upstream": upstreams}

    def listen(match):
        port = https_port if match.group(1) == "443" else http_port
        return f"listen 127.0.0.1:{port}{' default_server' if 'default_server' in match.group(2) else ''};"

    text, counts["listen"] = re.subn(r"listen\s+(443|80)\b([^;]*);", listen, text)
    text, counts["ssl"] = re.subn(r"^\s*ssl_\w+\s[^;]*;\s*(#.*)?$", "", text, flags=re.M)
    assert counts["upstream"] >= 1 and counts["listen"] >= 2 and counts["ssl"] >= 2, counts
    return text


def main_config(directory, site):
    """nginx.conf around the site: everything under ``directory``, in the foreground."""
    temp = "\n".join(
        f"    {kind}_temp_path {directory}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {directory}/nginx.pid;
error_log {directory}/error.log info;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{
    access_log {directory}/access.log;
{temp}
    include {site};
}}
"""


@pytest.fixture
def proxied(tmp_path):
    """(nginx's https port, its http port): the example in front of `lienthong serve`."""
    need("Debian's nginx", NGINX)
    app_port, https_port, http_port = free_port(), free_port(), free_port()
    ini = cli.write_ini(
        tmp_path / "site.ini",
        file_uri(tmp_path / "var"),
        port=app_port,
        server={"trusted_proxy": "127.0.0.1", "trusted_proxy_headers": "x-forwarded-for x-forwarded-proto"},
        lienthong__public_url=f"https://{HOST}",
        lienthong__allowed_hosts="127.0.0.1",  # start_server's own /healthz
    )
    assert cli.run(["init"], ini).returncode == 0
    directory = tmp_path / "nginx"
    directory.mkdir()
    with open(os.path.join(ROOT, "etc", "nginx.conf.example")) as f:
        (directory / "lienthong.conf").write_text(site_config(f.read(), app_port, https_port, http_port))
    (directory / "nginx.conf").write_text(main_config(directory, directory / "lienthong.conf"))
    args = [
        NGINX,
        "-p",
        str(directory),
        "-c",
        str(directory / "nginx.conf"),
        "-e",
        str(directory / "error.log"),
    ]
    check = subprocess.run(args + ["-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    server = cli.start_server(ini, app_port, tmp_path / "serve.log")
    nginx = None
    try:
        nginx = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert nginx.poll() is None and time.monotonic() < deadline, (
                    directory / "error.log"
                ).read_text()
                time.sleep(0.1)
        yield https_port, http_port
    finally:
        if nginx is not None:
            nginx.terminate()
            try:
                nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(timeout=10)
        cli.stop(server)


def get(port, path="/healthz", host=HOST, source="127.0.0.1", timeout=5, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        connection.request("GET", path, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Trickle:
    """Sockets that send a request a byte at a time, every half second, from one thread."""

    def __init__(self):
        self.sockets, self.closed = [], {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def open(self, port, start, count):
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(ATTACKER, 0))
            s.sendall(start)
            self.sockets.append(s)

    def _run(self):
        while not self.stopping.wait(0.5):
            for s in self.sockets:
                if s not in self.closed:
                    try:
                        s.sendall(b"a")
                    except OSError:
                        self.closed[s] = time.monotonic()

    def answered(self, sockets):
        """The first bytes each of ``sockets`` received ('' when none yet, None when closed)."""
        got = {}
        readable, _w, _x = select.select(sockets, [], [], 0)
        for s in sockets:
            got[s] = ""
            if s in readable:
                try:
                    data = s.recv(64)
                except OSError:
                    data = b""
                got[s] = data.decode("latin-1") if data else None
        return got

    def stop(self):
        self.stopping.set()
        self.thread.join(timeout=5)
        for s in self.sockets:
            s.close()


def test_two_hundred_slow_connections_do_not_stop_a_canary(proxied):
    https_port, _http_port = proxied
    assert get(https_port)[0] == 200
    trickle = Trickle()
    try:
        started = time.monotonic()
        head = f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ".encode()
        trickle.open(https_port, head, 120)  # a header that never ends
        bodies = f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 1000000\r\n"
        bodies += "Content-Type: application/x-www-form-urlencoded\r\n\r\nlogin="
        trickle.open(https_port, bodies.encode(), 80)  # a body that never ends
        trickle.thread.start()
        time.sleep(1)

        begun = time.monotonic()
        status, body = get(https_port, timeout=5)
        assert status == 200 and b'"status": "ok"' in body
        assert time.monotonic() - begun < 3

        # per address: the slow bodies beyond limit_conn were refused at once
        answers = trickle.answered(trickle.sockets[120:])
        refused = [a for a in answers.values() if a and a.startswith("HTTP/1.1 429")]
        assert len(refused) >= 80 - CONNECTION_LIMIT, answers.values()

        # the headers that never end are cut off at client_header_timeout
        while time.monotonic() - started < HEADER_TIMEOUT + 4:
            if all(s in trickle.closed for s in trickle.sockets[:120]):
                break
            time.sleep(0.5)
        headers_closed = [s for s in trickle.sockets[:120] if s in trickle.closed]
        assert len(headers_closed) == 120
        assert min(trickle.closed[s] for s in headers_closed) - started >= HEADER_TIMEOUT - 1
        assert get(https_port)[0] == 200
    finally:
        trickle.stop()


def test_the_edge_refuses_other_hosts_large_bodies_and_bursts(proxied):
    https_port, http_port = proxied
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):  # 444: no answer at all
        get(https_port, host="evil.example")
    status, _body = get(http_port, path="/login?x=1")
    assert status == 301
    # a body above client_max_body_size (320m): refused before it is sent
    connection = http.client.HTTPConnection(
        "127.0.0.1", https_port, timeout=5, source_address=("127.0.0.3", 0)
    )
    connection.putrequest("POST", "/edxml/v1/packages", skip_host=True)
    connection.putheader("Host", HOST)
    connection.putheader("Content-Length", str(400 * 1024 * 1024))
    connection.endheaders()
    assert connection.getresponse().status == 413
    connection.close()
    # a burst from one address: beyond limit_req's burst, 429
    connection = http.client.HTTPConnection(
        "127.0.0.1", https_port, timeout=5, source_address=("127.0.0.4", 0)
    )
    statuses = []
    for _ in range(80):
        connection.request("GET", "/healthz", headers={"Host": HOST})
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    assert statuses[:40] == [200] * 40 and 429 in statuses
