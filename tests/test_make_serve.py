"""README's first command, for real: `make serve` sets up a demo site and serves it; a second
`make serve` keeps the data and serves again."""

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from .support.app import ROOT, free_port
from .support.cli import clean_env

pytestmark = pytest.mark.slow


def start_make_serve(ini, log_path):
    venv = sys.prefix  # the virtualenv running the tests, already installed
    log = open(log_path, "w")
    proc = subprocess.Popen(
        ["make", "-C", ROOT, "serve", f"VENV={venv}", f"CONFIG={ini}"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean_env(),
        start_new_session=True,
    )
    log.close()
    return proc


def wait_until_served(base, proc, log_path, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"make serve exited {proc.returncode}:\n{open(log_path).read()}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{base} was not served within {timeout}s:\n{open(log_path).read()}")


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)


def log_in(base, login, password):
    """Log in through the real form; return the home page's HTML."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    with opener.open(base + "/login", timeout=10) as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
    data = urllib.parse.urlencode({"login": login, "password": password, "csrf_token": token}).encode()
    with opener.open(base + "/login", data=data, timeout=10) as response:
        return response.geturl(), response.read().decode()


def test_make_serve_twice(tmp_path):
    (tmp_path / "etc").mkdir()
    port = free_port()
    ini_text = open(os.path.join(ROOT, "etc", "development.ini")).read()
    ini_text = re.sub(r"^port = 6543$", f"port = {port}", ini_text, flags=re.M)
    ini = tmp_path / "etc" / "development.ini"
    ini.write_text(ini_text)
    base = f"http://127.0.0.1:{port}"

    first_log = tmp_path / "first.log"
    proc = start_make_serve(ini, first_log)
    try:
        wait_until_served(base, proc, first_log)
    finally:
        stop(proc)
    first = first_log.read_text()
    assert "demo province created: 32 units, 13 users" in first
    password = re.search(r"demo password for every demo login \(shown once\): (\S+)", first).group(1)

    second_log = tmp_path / "second.log"
    proc = start_make_serve(ini, second_log)
    try:
        wait_until_served(base, proc, second_log)
        url, home = log_in(base, "vanthu.snv", password)  # the first run's data and password
    finally:
        stop(proc)
    second = second_log.read_text()
    assert "already there: keeping the existing data" in second
    assert password not in second  # shown once only
    assert url == base + "/" and "Đỗ Thị Hồng" in home and "Sở Nội vụ" in home
