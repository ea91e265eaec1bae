"""Real storage servers for tests: a ZEO server (``runzeo``) and a throw-away PostgreSQL
database for RelStorage. Test modules import the fixtures they use from here."""

import contextlib
import os
import secrets
import socket
import subprocess
import time

import pytest

from . import cli
from .app import free_port, need

PG_HOST, PG_PORT = "127.0.0.1", 5432


def wait_for_port(port, proc=None, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the server exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


# --------------------------------------------------------------------------- ZEO


def runzeo_path(venv_bin):
    runzeo = os.path.join(venv_bin, "runzeo")
    need("runzeo (ZEO) in the virtualenv", os.path.exists(runzeo))
    return runzeo


@contextlib.contextmanager
def running_zeo(runzeo, directory):
    """Run ``runzeo`` on the FileStorage ``directory/zeo/Data.fs`` (blobs in
    ``directory/zeo/blobs``; files already there are served); yield (port, blob dir)."""
    data = directory / "zeo"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = directory / "zeo.conf"  # like etc/zeo.conf (runzeo has no command-line blob option)
    conf.write_text(f"""\
<zeo>
  address 127.0.0.1:{port}
</zeo>
<filestorage 1>
  path {data}/Data.fs
  blob-dir {data}/blobs
</filestorage>
""")
    log = open(directory / "zeo.log", "wb")
    proc = subprocess.Popen([runzeo, "-C", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, proc)
        yield port, data / "blobs"
    finally:
        cli.stop(proc)
        log.close()


@pytest.fixture
def zeo_server(tmp_path, venv_bin):
    """A real ZEO server (runzeo) on a free port; yields (port, server blob dir)."""
    with running_zeo(runzeo_path(venv_bin), tmp_path) as server:
        yield server


# --------------------------------------------------------------------------- PostgreSQL


def pg_connect(dbname):
    import psycopg2

    return psycopg2.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=dbname, connect_timeout=3)


@pytest.fixture
def pg_database():
    """A throw-away PostgreSQL database, dropped (WITH (FORCE)) afterwards."""
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        need("psycopg2 (RelStorage's PostgreSQL driver)", False)
    admin = None
    for dbname in ("postgres", "test"):
        try:
            admin = pg_connect(dbname)
            break
        except Exception:
            continue
    need(f"PostgreSQL at {PG_HOST}:{PG_PORT}", admin is not None)
    admin.autocommit = True
    name = f"lienthong_test_{secrets.token_hex(6)}"
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def relstorage_conf(directory, dbname):
    """A ZConfig file like etc/relstorage.conf, pointing at the test database."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "relstorage.conf"
    path.write_text(f"""\
%import relstorage
<zodb main>
  cache-size 5000
  <relstorage>
    keep-history false
    shared-blob-dir false
    blob-dir {directory}/relstorage-blob-cache
    blob-cache-size 100mb
    <postgresql>
      dsn dbname='{dbname}' host='{PG_HOST}' port='{PG_PORT}' user='postgres'
    </postgresql>
  </relstorage>
</zodb>
""")
    return path
