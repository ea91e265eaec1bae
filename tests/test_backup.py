"""`lienthong backup` and `lienthong restore`, run for real on real storages.

- a backup of a FileStorage site is taken while `lienthong serve` runs on it and writes to
  it, and holds the site, its blob and a manifest whose digests are those of the files;
- it restores into a fresh FileStorage and into RelStorage on PostgreSQL: the app starts,
  the admin logs in, the blob reads back the same bytes, new objects do not collide with
  restored ones, `lienthong audit verify` passes, and the restore is the last audit entry;
- a backup is taken from a real ZEO server, and a restore through a ZEO client is refused;
- restore never writes into a database that holds a site, nor from an altered, truncated or
  half-made backup; `--keep` deletes only complete backups, the oldest first.
"""

import hashlib
import http.cookiejar
import io
import json
import os
import re
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from types import SimpleNamespace

import pytest
from ZODB import DB
from ZODB.FileStorage import FileStorage

from lienthong.core.app_objects import app_objects

from .support import cli
from .support.app import (
    DEMO_PASSWORD,
    base_settings,
    close_app,
    file_uri,
    free_port,
    login,
    make_app,
    with_site,
)
from .support.demo import build_demo_snapshot, copy_snapshot
from .support.storages import (
    pg_connect,
    pg_database,  # noqa: F401 - fixture
    relstorage_conf,
    running_zeo,
    runzeo_path,
)

# not a multiple of any buffer size, every byte value present
PAYLOAD = bytes(range(256)) * 389 + b"LienThong backup test payload"
PAYLOAD_KEY = hashlib.sha256(PAYLOAD).hexdigest()
NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z$")


# --------------------------------------------------------------------------- helpers


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def make_site(directory, tmp_path_factory):
    """A fresh demo site in ``directory`` (a copy of the session's snapshot) with PAYLOAD
    stored through the registry's blob store; returns the blob's key."""
    directory.mkdir(parents=True, exist_ok=True)
    copy_snapshot(build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot")), str(directory))
    app = make_app(base_settings(directory))
    try:
        return with_site(
            app, lambda site: app_objects(app.registry).blob_store.put(site, io.BytesIO(PAYLOAD))
        )
    finally:
        close_app(app)


def on_filestorage(path, fn, blob_dir=None):
    """``fn(site, storage)`` on a FileStorage opened read-only (nothing is written)."""
    from lienthong.core.db import run_in_site

    storage = FileStorage(str(path), read_only=True, blob_dir=str(blob_dir) if blob_dir else None)
    db = DB(storage)
    try:
        return run_in_site(db, lambda site: fn(site, storage), attempts=1, commit=False)
    finally:
        db.close()


def audit_hashes(site, _storage=None):
    return [entry["hash"] for entry in site["audit"].iter_entries()]


def transactions_in(data_fs):
    storage = FileStorage(str(data_fs), read_only=True)
    try:
        return sum(1 for _ in storage.iterator())
    finally:
        storage.close()


def tree_state(directory):
    """relative path -> (size, mtime, sha256) of every file under ``directory``."""
    state = {}
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            path = os.path.join(dirpath, name)
            st = os.stat(path)
            state[os.path.relpath(path, directory)] = (st.st_size, st.st_mtime_ns, sha256_file(path))
    return state


def failed_logins(port, stop, done):
    """Keep the server writing: failed logins are audited, each in a committed transaction."""
    base = f"http://127.0.0.1:{port}"
    n = 0
    while not stop.is_set():
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        with opener.open(f"{base}/login", timeout=10) as response:
            token = re.search(r'name="csrf_token" value="([^"]+)"', response.read().decode()).group(1)
        form = urllib.parse.urlencode({"login": f"ghost{n}", "password": "wrong", "csrf_token": token})
        try:
            opener.open(f"{base}/login", data=form.encode(), timeout=10)
        except urllib.error.HTTPError as exc:
            assert exc.code == 401, exc.code
            done.append(n)
        n += 1


def restored_site_runs(settings, manifest, key):
    """The app starts on a restored database; the restore is the last audit entry; the
    blob reads back; a new object gets a fresh oid; the admin logs in. Returns the app's
    audit entry count."""
    from webtest import TestApp

    from lienthong.core import evolve

    app = make_app(settings)
    try:
        last = with_site(app, lambda site: list(site["audit"].iter_entries(reverse=True))[0])
        assert last["action"] == "system.restore" and last["actor"] == "system:cli"
        assert last["target"] == manifest["name"]
        assert last["details"]["backup"] == manifest["name"]
        assert last["details"]["data_fs_sha256"] == manifest["files"]["Data.fs"]["sha256"]
        store = app_objects(app.registry).blob_store

        def read(site, k):
            with store.open(site, k) as f:
                return f.read()

        assert with_site(app, lambda site: read(site, key)) == PAYLOAD
        # objects made after the restore get new oids: nothing restored is overwritten
        other = os.urandom(5000)
        other_key = with_site(app, lambda site: store.put(site, io.BytesIO(other)))
        assert with_site(app, lambda site: (read(site, key), read(site, other_key))) == (PAYLOAD, other)
        browser = TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})
        assert browser.get("/healthz").json["generation"] == evolve.current_generation()
        home = login(browser, "admin", DEMO_PASSWORD).follow()
        assert home.status_int == 200 and "Quản trị hệ thống" in home.text
        assert login(TestApp(app), "admin", "not-the-password", status="*").status_int == 401
        return with_site(app, lambda site: len(site["audit"]))
    finally:
        close_app(app)


def restore(backup_dir, ini):
    return cli.run(["restore", str(backup_dir), "--yes"], ini)


def assert_restored(result, manifest):
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"restored backup {manifest['name']} into "), result.stdout
    assert f"{manifest['objects']} objects" in lines[0] and "1 blob verified" in lines[0]


# --------------------------------------------------------------------------- the online backup


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A demo site with a blob, backed up by `lienthong backup` while `lienthong serve`
    runs on it and commits failed logins."""
    base = tmp_path_factory.mktemp("served")
    site = base / "site"
    key = make_site(site, tmp_path_factory)
    assert key == PAYLOAD_KEY
    before = transactions_in(site / "Data.fs")
    port = free_port()
    ini = cli.write_ini(base / "site.ini", file_uri(site), port=port)
    server = cli.start_server(ini, port, base / "serve.log")
    try:
        stop, done = threading.Event(), []
        writer = threading.Thread(target=failed_logins, args=(port, stop, done))
        writer.start()
        try:
            while len(done) < 2:  # the server is writing before the backup starts
                assert writer.is_alive(), "the writer stopped"
                time.sleep(0.05)
            during = len(done)
            result = cli.run(["backup", "--to", str(base / "backups")], ini)
        finally:
            stop.set()
            writer.join(30)
        alive = server.poll() is None
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = response.status
    finally:
        cli.stop(server)
    return SimpleNamespace(
        base=base,
        site=site,
        ini=ini,
        key=key,
        result=result,
        before=before,
        writes=(during, len(done)),
        alive=alive,
        health=health,
        backups=base / "backups",
    )


@pytest.fixture(scope="module")
def made(served):
    """(path, manifest) of the backup `served` made."""
    assert served.result.returncode == 0, served.result.stderr
    (name,) = os.listdir(served.backups)
    path = served.backups / name
    with open(path / "manifest.json", encoding="utf-8") as f:
        return path, json.load(f)


def test_backup_while_serving_holds_the_site_its_blob_and_a_true_manifest(served, made):
    from lienthong.core import evolve
    from lienthong.plugins.blobstore_zodb import ZODBBlobStore

    path, manifest = made
    # one summary line; the server served and wrote during the backup and is unharmed
    assert served.result.stderr == ""
    (line,) = served.result.stdout.splitlines()
    assert line.startswith(f"backup {path} verified: generation {evolve.current_generation()}, ")
    assert f"{manifest['objects']} objects, {manifest['transactions']} transactions, 1 blob, " in line
    assert served.alive and served.health == 200
    assert served.writes[1] > served.writes[0] >= 2  # it kept committing during and after
    # exactly one complete backup named by its UTC time; nothing half-made left behind
    assert NAME.match(path.name) and sorted(os.listdir(served.backups)) == [path.name]
    assert sorted(os.listdir(path)) == ["Data.fs", "blobs", "manifest.json"]
    assert manifest["name"] == path.name and manifest["created"].endswith("+00:00")
    assert manifest["source"] == file_uri(served.site)
    assert manifest["generation"] == evolve.current_generation()
    # the digests and sizes are those of the files, and every file of blobs/ is listed
    listed = {rel: info for rel, info in manifest["files"].items()}
    on_disk = {
        os.path.relpath(os.path.join(d, f), path).replace(os.sep, "/")
        for d, _, fs in os.walk(path)
        for f in fs
    } - {"manifest.json"}
    assert set(listed) == on_disk
    for rel, info in listed.items():
        assert (sha256_file(path / rel), os.path.getsize(path / rel)) == (info["sha256"], info["size"]), rel
    assert manifest["total_size"] == sum(info["size"] for info in listed.values())
    (blob,) = [rel for rel in listed if rel.endswith(".blob")]
    assert (path / blob).read_bytes() == PAYLOAD and listed[blob]["sha256"] == PAYLOAD_KEY
    # the counts are those of the copied FileStorage, which holds every transaction up to a
    # moment during the backup: all of the site's before the server, some of the server's
    transactions = transactions_in(path / "Data.fs")
    assert manifest["transactions"] == transactions
    assert served.before < transactions <= transactions_in(served.site / "Data.fs")

    def look(site, storage):
        with ZODBBlobStore().open(site, PAYLOAD_KEY) as f:
            return (
                len(storage),
                site.generation,
                "admin" in site["users"],
                f.read() == PAYLOAD,
                audit_hashes(site),
            )

    objects, generation, has_admin, same_blob, backed_up = on_filestorage(
        path / "Data.fs", look, path / "blobs"
    )
    assert (objects, generation, has_admin, same_blob) == (
        manifest["objects"],
        manifest["generation"],
        True,
        True,
    )
    # a consistent snapshot: the backed-up audit chain is a prefix of the live one
    live = on_filestorage(served.site / "Data.fs", audit_hashes)
    assert live[: len(backed_up)] == backed_up and len(live) > len(backed_up)


def test_restore_into_a_fresh_filestorage_runs_the_site(made, tmp_path):
    path, manifest = made
    target = tmp_path / "restored"
    ini = cli.write_ini(tmp_path / "restored.ini", file_uri(target), port=free_port())
    # without --yes it asks first; "no" copies nothing
    asked = cli.run(["restore", str(path)], ini, input="n\n")
    assert (
        f"restore backup {manifest['name']} ({manifest['source']}) into {file_uri(target)}?" in asked.stdout
    )
    cli.assert_clean_failure(asked, "restore cancelled")
    assert_restored(restore(path, ini), manifest)
    assert sha256_file(path / "Data.fs") == manifest["files"]["Data.fs"]["sha256"]  # the backup is untouched
    entries = restored_site_runs(base_settings(target), manifest, PAYLOAD_KEY)
    verify = cli.run(["audit", "verify"], ini)
    assert verify.returncode == 0 and f"audit log intact: {entries} entries" in verify.stdout, verify.stderr


def test_restore_into_relstorage_on_postgresql(made, tmp_path, pg_database):
    path, manifest = made
    conf = relstorage_conf(tmp_path / "pg", pg_database)
    ini = cli.write_ini(tmp_path / "pg.ini", f"zconfig://{conf}", port=free_port())
    assert_restored(restore(path, ini), manifest)
    entries = restored_site_runs(
        base_settings(tmp_path / "app", **{"zodbconn.uri": f"zconfig://{conf}"}), manifest, PAYLOAD_KEY
    )
    verify = cli.run(["audit", "verify"], ini)
    assert verify.returncode == 0 and f"audit log intact: {entries} entries" in verify.stdout, verify.stderr
    # the objects and the blob's bytes really are in PostgreSQL (history-free schema)
    conn = pg_connect(pg_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM object_state")
            assert cur.fetchone()[0] >= manifest["objects"]
            cur.execute("SELECT count(*) FROM blob_chunk")
            assert cur.fetchone()[0] >= 1
    finally:
        conn.close()
    # a second restore into the same database is refused: it holds a site now
    cli.assert_clean_failure(restore(path, ini), "already holds a LienThong site")


def test_backup_from_a_zeo_server_and_no_restore_through_a_zeo_client(tmp_path, tmp_path_factory, venv_bin):
    from lienthong.plugins.blobstore_zodb import ZODBBlobStore

    runzeo = runzeo_path(venv_bin)
    site = tmp_path / "zeo"  # the ZEO server serves this FileStorage
    make_site(site, tmp_path_factory)
    for leftover in ("Data.fs.lock", "Data.fs.tmp"):
        if (site / leftover).exists():
            os.remove(site / leftover)
    with running_zeo(runzeo, tmp_path) as (port, _server_blobs):
        # a client with its own blob cache: the blob travels through the ZEO protocol;
        # the credentials must not reach the manifest
        uri = (
            f"zeo://operator:s3cret-pw@127.0.0.1:{port}?blob_dir={tmp_path}/zeo-cache"
            f"&wait_timeout=15&password=s3cret-pw"
        )
        ini = cli.write_ini(tmp_path / "zeo.ini", uri, port=free_port())
        result = cli.run(["backup", "--to", str(tmp_path / "backups")], ini)
        assert result.returncode == 0, result.stderr
        (name,) = os.listdir(tmp_path / "backups")
        path = tmp_path / "backups" / name
        text = (path / "manifest.json").read_text()
        manifest = json.loads(text)
        assert "s3cret" not in text and "s3cret" not in result.stdout
        assert manifest["source"].startswith(f"zeo://operator@127.0.0.1:{port}?blob_dir=")
        # a restore into the ZEO server is refused (ZEO cannot restore blobs): nothing changes
        before = tree_state(site)
        cli.assert_clean_failure(restore(path, ini), "cannot go through a ZEO client", "blobs")
        assert tree_state(site) == before

    def look(site_, storage):
        with ZODBBlobStore().open(site_, PAYLOAD_KEY) as f:
            return len(storage), "admin" in site_["users"], f.read() == PAYLOAD, audit_hashes(site_)

    copied = on_filestorage(path / "Data.fs", look, path / "blobs")
    original = on_filestorage(site / "Data.fs", look, site / "blobs")
    assert copied == original and copied[1:3] == (True, True)
    assert copied[0] == manifest["objects"]
    assert manifest["transactions"] == transactions_in(site / "Data.fs")


# --------------------------------------------------------------------------- refusals


def test_restore_is_refused_into_a_database_that_holds_a_site(served, made):
    path, _manifest = made
    before = tree_state(served.site)
    cli.assert_clean_failure(
        restore(path, served.ini),
        "already holds a LienThong site",
        "point zodbconn.uri in the ini at an empty database",
    )
    assert tree_state(served.site) == before  # not even a lock or index file was written


def _flip_data_fs(path):
    with open(path / "Data.fs", "r+b") as f:
        f.seek(os.path.getsize(path / "Data.fs") // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0x01]))
    return "Data.fs", "SHA-256 differs"


def _flip_blob(path):
    (blob,) = path.glob("blobs/**/*.blob")
    data = bytearray(blob.read_bytes())
    data[1234] ^= 0x80
    blob.write_bytes(bytes(data))
    return str(blob.relative_to(path)), "SHA-256 differs"


def _truncate_data_fs(path):
    with open(path / "Data.fs", "r+b") as f:
        f.truncate(os.path.getsize(path / "Data.fs") - 1)
    return "Data.fs", "truncated"


def _remove_blob(path):
    (blob,) = path.glob("blobs/**/*.blob")
    blob.unlink()
    return str(blob.relative_to(path)), "is missing"


@pytest.mark.parametrize(
    "damage",
    [_flip_data_fs, _flip_blob, _truncate_data_fs, _remove_blob],
    ids=lambda f: f.__name__.strip("_"),
)
def test_an_altered_or_truncated_backup_is_refused_naming_the_file(made, tmp_path, damage):
    path, _manifest = made
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    relative, reason = damage(copy)
    target = tmp_path / "target"
    ini = cli.write_ini(tmp_path / "target.ini", file_uri(target), port=free_port())
    cli.assert_clean_failure(restore(copy, ini), str(copy / relative), reason)
    assert not target.exists()  # refused before the target was touched


def test_keep_2_after_three_backups_leaves_the_two_newest_and_no_half_made_one_counts(served, made):
    from lienthong.core.services.backup import list_backups

    path, _manifest = made
    directory = served.base / "kept"
    directory.mkdir()
    # what a crash leaves: a full copy still under its temporary name, and an old-looking
    # directory that never got its manifest
    partial = directory / ".partial-20000101T000000.000000Z-1-abcdef"
    shutil.copytree(path, partial)
    no_manifest = directory / "19990101T000000.000000Z"
    shutil.copytree(path, no_manifest)
    (no_manifest / "manifest.json").unlink()

    names = []
    for keep in ([], [], ["--keep", "2"]):
        result = cli.run(["backup", "--to", str(directory)] + keep, served.ini)
        assert result.returncode == 0, result.stderr
        names.append(re.search(r"backup \S+/(\S+) verified", result.stdout).group(1))
    assert names == sorted(names) and len(set(names)) == 3
    assert result.stdout.strip().endswith("; 1 deleted, 2 kept (--keep 2)")
    assert sorted(os.listdir(directory)) == sorted([partial.name, no_manifest.name] + names[1:])
    assert [os.path.basename(p) for p in list_backups(directory)] == names[1:]

    # neither half-made directory is ever restored
    target = served.base / "never"
    ini = cli.write_ini(served.base / "never.ini", file_uri(target), port=free_port())
    cli.assert_clean_failure(restore(partial, ini), "unfinished backup")
    cli.assert_clean_failure(restore(no_manifest, ini), "not a complete backup", "manifest.json")
    assert not target.exists()


def test_backup_errors_are_one_clear_line(served, tmp_path):
    # no database file at all
    missing = cli.write_ini(tmp_path / "missing.ini", file_uri(tmp_path / "nothing"), port=free_port())
    cli.assert_clean_failure(cli.run(["backup", "--to", str(tmp_path / "b")], missing), "does not exist")
    # a database without a site (only ZODB's root object)
    (tmp_path / "bare").mkdir()
    DB(FileStorage(str(tmp_path / "bare" / "Data.fs"))).close()
    bare = cli.write_ini(tmp_path / "bare.ini", f"file://{tmp_path}/bare/Data.fs", port=free_port())
    cli.assert_clean_failure(
        cli.run(["backup", "--to", str(tmp_path / "b")], bare), "holds no LienThong site", "lienthong init"
    )
    assert not (tmp_path / "b").exists()
    # a destination that cannot be created, for a site that can be backed up
    (tmp_path / "afile").write_text("a file, not a directory")
    cli.assert_clean_failure(
        cli.run(["backup", "--to", str(tmp_path / "afile" / "backups")], served.ini),
        "cannot create the backup directory",
        str(tmp_path / "afile"),
    )
    # a backup directory that does not exist
    cli.assert_clean_failure(restore(tmp_path / "no-such-backup", missing), "is not a directory")
