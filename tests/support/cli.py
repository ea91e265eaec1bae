"""Running the real ``lienthong`` console script on a site described by a temp ini file."""

import os
import subprocess
import sys
import time
import urllib.request

BIN = os.path.dirname(sys.executable)
LIENTHONG = os.path.join(BIN, "lienthong")
SECRET = "test-secret-" + "y" * 32


def write_ini(path, uri, port=6543, server=None, **settings):
    """Write a minimal PasteDeploy ini for ``uri``; extra settings use dots as in the ini.

    ``server``: more ``[server:main]`` (waitress) settings, by their names in the ini.
    """
    values = {
        "use": "egg:lienthong",
        "zodbconn.uri": uri,
        "lienthong.secret": SECRET,
        "lienthong.session.secure": "false",
        "lienthong.auto_migrate": "true",
    }
    values.update({k.replace("__", "."): v for k, v in settings.items()})
    lines = ["[app:main]"] + [f"{k} = {v}" for k, v in values.items()]
    waitress = {"use": "egg:waitress#main", "host": "127.0.0.1", "port": port, "threads": 4, **(server or {})}
    lines += ["", "[server:main]"] + [f"{k} = {v}" for k, v in waitress.items()] + [""]
    path.write_text("\n".join(lines))
    return str(path)


def clean_env(**extra):
    """The environment of the test run, without LienThong variables that would change behaviour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LIENTHONG_CONFIG", "LIENTHONG_DEMO_PASSWORD", "LIENTHONG_NEW_PASSWORD")
    }
    env.update(extra)
    return env


def run(args, ini=None, env=None, cwd=None, timeout=60, input=None):
    """Run ``lienthong [-c ini] args...``; return the CompletedProcess (text)."""
    command = [LIENTHONG] + (["-c", ini] if ini else []) + list(args)
    return subprocess.run(
        command, capture_output=True, text=True, env=env or clean_env(), cwd=cwd, timeout=timeout, input=input
    )


def assert_clean_failure(result, *fragments):
    """Exit status != 0, exactly one line on stderr containing ``fragments``, no traceback."""
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def start_server(ini, port, log_path, timeout=30):
    """Start ``lienthong serve`` and wait until /healthz answers 200; return the Popen."""
    log = open(log_path, "wb")
    proc = subprocess.Popen(
        [LIENTHONG, "-c", ini, "serve", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean_env(),
    )
    log.close()
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            with open(log_path) as f:
                raise AssertionError(f"lienthong serve exited ({proc.returncode}):\n{f.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return proc
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise AssertionError(f"lienthong serve did not answer /healthz within {timeout}s")
        time.sleep(0.1)


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
