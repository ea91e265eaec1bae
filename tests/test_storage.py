"""The real application on each of the three storages of DESIGN.md, and conflict retries.

- FileStorage in a temp dir;
- ZEO: a real ``runzeo`` server in a subprocess, two app instances as its clients;
- RelStorage on the PostgreSQL at 127.0.0.1:5432, in a throw-away database;
- the shipped ``etc/zeo.conf`` and ``etc/relstorage.conf`` are valid ZConfig;
- two concurrent requests that conflict both succeed through pyramid_retry.
"""

import collections
import concurrent.futures
import json
import os
import time
import urllib.error
import urllib.request

import pytest
from webtest import TestApp

from .support.app import DEMO_PASSWORD, ROOT, base_settings, close_app, free_port, login, make_app, with_site

# the storage servers are shared with test_backup.py; the fixtures are used by name below
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.storages import pg_connect as _pg_connect, pg_database, relstorage_conf, zeo_server  # noqa: F401

# --------------------------------------------------------------------------- helpers


def eventually(check, timeout=10.0):
    """Wait until ``check()`` is true: ZEO delivers invalidations to other clients
    asynchronously (ClientStorage.sync() is a no-op), so another instance sees a commit
    a moment later, not at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def populate_demo(app):
    from lienthong.core.services import demo

    return with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))


def add_user(app, login_name, password):
    from lienthong.core import permissions as sec
    from lienthong.core.services import accounts, audit
    from lienthong.core.services.demo import OPERATOR_CODE

    def add(site):
        user = accounts.add_user(
            site,
            audit.Actor.system("test"),
            login_name,
            "Người Thử Nghiệm",
            password,
            OPERATOR_CODE,
            (sec.AUDITOR,),
        )
        user.must_change_password = False

    with_site(app, add)


def blob_written_by_one_is_read_by_two(one, two):
    """Attachment bytes are ZODB blobs: one instance writes, the other reads them back."""
    from ZODB.blob import Blob

    payload = os.urandom(64 * 1024)

    def write(site):
        blob = Blob()
        with blob.open("w") as f:
            f.write(payload)
        site.test_blob = blob

    with_site(one, write)

    def read(site):
        blob = getattr(site, "test_blob", None)
        if blob is None:
            return None
        with blob.open("r") as f:
            return f.read()

    assert eventually(lambda: with_site(two, read) == payload)


def browser(app):
    return TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


def assert_app_works(app, login_name="admin", password=DEMO_PASSWORD, home_text="Quản trị hệ thống"):
    """/healthz answers from the database; the login works; the home page shows the user's panel."""
    from lienthong.core import evolve

    browser_ = browser(app)
    health = browser_.get("/healthz")
    assert health.json == {"status": "ok", "database": "ok", "generation": evolve.current_generation()}
    home = login(browser_, login_name, password).follow()
    assert home.status_int == 200
    assert home_text in home.text
    # the session really is authenticated: a wrong password does not get there
    stranger = browser(app)
    refused = login(stranger, login_name, "not-the-password", status="*")
    assert refused.status_int != 303
    return browser_


# --------------------------------------------------------------------------- FileStorage


def test_app_on_filestorage(tmp_path):
    app = make_app(base_settings(tmp_path))
    try:
        assert populate_demo(app) > 0
        assert_app_works(app)
    finally:
        close_app(app)
    assert (tmp_path / "Data.fs").stat().st_size > 0
    assert (tmp_path / "blobs").is_dir()
    # the data is on disk: a second app on the same files still has the users
    again = make_app(base_settings(tmp_path))
    try:
        assert_app_works(again)
    finally:
        close_app(again)


# --------------------------------------------------------------------------- ZEO


def zeo_settings(tmp_path, port, blob_dir, name):
    """Settings of one app instance, a ZEO client sharing the server's blob directory."""
    uri = (
        f"zeo://127.0.0.1:{port}?blob_dir={blob_dir}&shared_blob_dir=true"
        f"&wait_timeout=15&connection_cache_size=5000"
    )
    settings = base_settings(tmp_path / name, **{"zodbconn.uri": uri})
    return settings


def test_app_on_zeo_two_instances_share_the_database(tmp_path, zeo_server):
    port, blob_dir = zeo_server
    one = make_app(zeo_settings(tmp_path, port, blob_dir, "one"))
    two = None
    try:
        storage = one.registry._zodb_databases[""].storage
        assert type(storage).__name__ == "ClientStorage"
        assert populate_demo(one) > 0  # written through instance one
        two = make_app(zeo_settings(tmp_path, port, blob_dir, "two"))
        assert two.registry._zodb_databases[""].storage is not storage
        # instance two sees what one wrote: the site (no second site created) and the demo users
        assert with_site(two, lambda site: "admin" in site["users"])
        assert_app_works(two)
        # and the other way round: a user added through two can log in on one
        add_user(two, "kiemtoan.zeo", "Mat-khau-ZEO-2024")
        assert eventually(lambda: with_site(one, lambda site: "kiemtoan.zeo" in site["users"]))
        assert_app_works(one, "kiemtoan.zeo", "Mat-khau-ZEO-2024", home_text="Người Thử Nghiệm")
        # both instances end up with the same audit log (the logins on each were recorded)
        audit_len = with_site(one, lambda site: len(site["audit"]))
        assert audit_len > 1
        assert eventually(lambda: with_site(two, lambda site: len(site["audit"])) == audit_len)
        assert with_site(two, lambda site: site["audit"].verify()) is None
        blob_written_by_one_is_read_by_two(one, two)
    finally:
        close_app(one)
        if two is not None:
            close_app(two)


# --------------------------------------------------------------------------- RelStorage / PostgreSQL


def test_app_on_relstorage_postgresql(tmp_path, pg_database):
    # each instance has its own blob cache: blobs travel through PostgreSQL, not a shared dir
    conf_one = relstorage_conf(tmp_path / "one", pg_database)
    conf_two = relstorage_conf(tmp_path / "two", pg_database)
    one = make_app(base_settings(tmp_path / "one", **{"zodbconn.uri": f"zconfig://{conf_one}"}))
    two = None
    try:
        storage = one.registry._zodb_databases[""].storage
        assert type(storage).__name__ == "RelStorage"
        assert populate_demo(one) > 0
        assert_app_works(one)
        # a second instance on the same PostgreSQL database sees the data and writes back
        two = make_app(base_settings(tmp_path / "two", **{"zodbconn.uri": f"zconfig://{conf_two}"}))
        assert_app_works(two)
        add_user(two, "kiemtoan.pg", "Mat-khau-PG-2024")
        assert eventually(lambda: with_site(one, lambda site: "kiemtoan.pg" in site["users"]))
        assert_app_works(one, "kiemtoan.pg", "Mat-khau-PG-2024", home_text="Người Thử Nghiệm")
        blob_written_by_one_is_read_by_two(one, two)
    finally:
        close_app(one)
        if two is not None:
            close_app(two)
    # the objects really are in PostgreSQL (history-free schema: object_state)
    conn = _pg_connect(pg_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM object_state")
            assert cur.fetchone()[0] > 50
            cur.execute("SELECT count(*) FROM blob_chunk")
            assert cur.fetchone()[0] >= 1
    finally:
        conn.close()


# --------------------------------------------------------------------------- shipped ZConfig files


def test_shipped_zconfig_files_are_valid(tmp_path, monkeypatch):
    import io

    import ZConfig
    import ZEO.runzeo
    import zodburi
    from plaster import get_settings
    from zodburi.resolvers import ZConfigURIResolver

    # etc/relstorage.conf, with the very schema zodburi's zconfig:// resolver uses
    schema = ZConfig.loadSchemaFile(io.BytesIO(ZConfigURIResolver.schema_xml_template))
    config, _ = ZConfig.loadConfig(schema, os.path.join(ROOT, "etc", "relstorage.conf"))
    assert len(config.databases) == 1
    db = config.databases[0].config
    rs = db.storage.config
    assert type(db.storage).__name__ == "RelStorageFactory"
    assert rs.keep_history is False
    assert rs.shared_blob_dir is False
    # the blob cache is under the project's var/ (paths are relative to the working directory)
    assert rs.blob_dir == "var/relstorage-blob-cache"
    assert rs.create_schema is True
    assert "dbname='lienthong'" in rs.adapter.config.dsn
    assert type(rs.adapter).__name__ == "PostgreSQLAdapterFactory"

    # etc/relstorage.ini names that file through zconfig://; zodburi resolves it without connecting
    uri = get_settings(os.path.join(ROOT, "etc", "relstorage.ini"), "app:main")["zodbconn.uri"]
    assert uri.startswith("zconfig://") and uri.endswith("/etc/relstorage.conf")
    factory, dbkw = zodburi.resolve_uri(uri)
    assert callable(factory) and dbkw["cache_size"] == 50000

    # etc/zeo.conf, with runzeo's own schema, from a working directory that has var/zeo
    options = ZEO.runzeo.ZEOOptions()
    zeo_schema = ZConfig.loadSchema(os.path.join(options.schemadir, options.schemafile))
    (tmp_path / "var" / "zeo").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    zeo, _ = ZConfig.loadConfig(zeo_schema, os.path.join(ROOT, "etc", "zeo.conf"))
    assert zeo.zeo.address.address == ("127.0.0.1", 8100)
    assert len(zeo.storages) == 1
    fs = zeo.storages[0]
    assert fs.name == "1"
    assert fs.config.path == "var/zeo/Data.fs" and fs.config.blob_dir == "var/zeo/blobs"

    # etc/production.ini is a client of that server (etc/zeo-client.conf): same address,
    # storage "1", and server-sync for read-your-writes across app processes
    prod = get_settings(os.path.join(ROOT, "etc", "production.ini"), "app:main")["zodbconn.uri"]
    assert prod.startswith("zconfig://") and prod.endswith("/etc/zeo-client.conf")
    client, _ = ZConfig.loadConfig(schema, os.path.join(ROOT, "etc", "zeo-client.conf"))
    cs = client.databases[0].config.storage.config
    assert cs.server[0].address == ("127.0.0.1", 8100)
    assert cs.storage == "1" and cs.server_sync is True and cs.shared_blob_dir is False
    zeo_factory, dbkw = zodburi.resolve_uri(prod)  # builds the factory; does not connect
    assert callable(zeo_factory) and dbkw["cache_size"] == 50000


# --------------------------------------------------------------------------- conflicts and retries


@pytest.fixture
def served_conflict_app(tmp_path, request):
    from webtest.http import StopableWSGIServer

    attempts = getattr(request, "param", "3")
    settings = base_settings(
        tmp_path, **{"pyramid.includes": "tests.support.conflict_view", "retry.attempts": attempts}
    )
    app = make_app(settings)
    server = StopableWSGIServer.create(app, host="127.0.0.1", port=free_port(), threads=4)
    try:
        assert server.wait(), "waitress did not start"
        yield app, server.application_url
    finally:
        server.shutdown()
        close_app(app)


def _post(url, timeout=30):
    request = urllib.request.Request(url, data=b"", method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, json.loads(response.read())


def test_conflicting_concurrent_requests_both_succeed_through_retry(served_conflict_app):
    app, url = served_conflict_app
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_post, f"{url}_test/bump?id={n}") for n in ("a", "b")]
        results = [f.result(timeout=40) for f in futures]

    assert [status for status, _ in results] == [200, 200]
    # both requests read 0 on their first attempt (the barrier held them together) ...
    attempts = app.registry.conflict_attempts
    first = sorted(a for a in attempts if a[1] == 0)
    assert [(a[0], a[2]) for a in first] == [("a", 0), ("b", 0)]
    # ... so one of them conflicted at commit and was retried, reading the other's write
    retried = [a for a in attempts if a[1] > 0]
    assert len(retried) == 1, attempts
    assert retried[0][2] == 1
    assert sorted(body["counter"] for _, body in results) == [1, 2]
    assert with_site(app, lambda site: site.test_counter) == 2


def _post_status(url, timeout=30):
    request = urllib.request.Request(url, data=b"", method="POST", headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


@pytest.mark.parametrize("served_conflict_app", ["1"], indirect=True)
def test_a_conflict_that_outlasts_the_retries_is_a_clear_503_and_saves_nothing(served_conflict_app):
    app, url = served_conflict_app
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(_post_status, f"{url}_test/bump?id={n}") for n in ("a", "b")]
        results = sorted((f.result(timeout=40) for f in futures), key=lambda r: r[0])
    (ok, _, _), (busy, headers, body) = results
    assert (ok, busy) == (200, 503)
    assert headers["Retry-After"] == "2"
    assert "Hệ thống đang bận" in body and "Traceback" not in body
    assert with_site(app, lambda site: site.test_counter) == 1  # the refused write left nothing


# --------------------------------------------------------------------------- audit appends from two processes' worth of writers

THREADS, EACH = 3, 40


def assert_two_instances_merge_their_appends(settings_one, settings_two):
    """Writers on two app instances append to the one audit log at once; the result is one
    unbroken chain holding every entry, with few conflicts left for a retry."""
    from lienthong.core.db import get_database

    from .test_audit import append_concurrently

    expected = 2 * THREADS * EACH
    one, two = make_app(settings_one), None
    try:
        two = make_app(settings_two)
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(append_concurrently, get_database(app.registry), THREADS, EACH)
                for app in (one, two)
            ]
            retries = sum(len(f.result(timeout=180)) for f in futures)
    finally:
        close_app(one)
        if two is not None:
            close_app(two)

    def read(site):
        log = site["audit"]
        return log.verify(), sum(1 for e in log.iter_entries() if e["action"] == "document.read")

    reopened = make_app(settings_one)
    try:
        broken, reads = with_site(reopened, read)
    finally:
        close_app(reopened)
    assert reads == expected and broken is None
    assert retries < 0.25 * expected, f"{retries} conflicts were not resolved"


def test_concurrent_audit_appends_merge_on_the_zeo_server(tmp_path, zeo_server):
    """With ZEO the conflict resolution runs in the server process (runzeo imports lienthong)."""
    port, blob_dir = zeo_server
    assert_two_instances_merge_their_appends(
        zeo_settings(tmp_path, port, blob_dir, "one"), zeo_settings(tmp_path, port, blob_dir, "two")
    )


def test_concurrent_audit_appends_merge_on_relstorage(tmp_path, pg_database):
    """With RelStorage the conflict resolution runs in the client that commits second."""
    settings = [
        base_settings(
            tmp_path / name, **{"zodbconn.uri": f"zconfig://{relstorage_conf(tmp_path / name, pg_database)}"}
        )
        for name in ("one", "two")
    ]
    assert_two_instances_merge_their_appends(*settings)


def test_concurrent_conflicting_blob_commits_lose_no_blob(tmp_path):
    """Four writers commit a blob each time and bump one shared counter (so most conflict and
    abort): every blob of every committed transaction can be read back. Through ZODB's
    BlobStorage proxy (what zodburi builds for ``blobstorage_dir``) some were deleted."""
    import os
    import threading
    import uuid

    import transaction
    from BTrees.OOBTree import OOBTree
    from persistent.mapping import PersistentMapping
    from ZODB.blob import Blob
    from ZODB.POSException import ConflictError

    from lienthong.core.db import get_database

    app = make_app(base_settings(tmp_path))
    db = get_database(app.registry)
    try:
        tm0 = transaction.TransactionManager()
        conn0 = db.open(transaction_manager=tm0)
        tm0.begin()
        conn0.root()["blobs"], conn0.root()["counter"] = OOBTree(), PersistentMapping(n=0)
        tm0.commit()
        conn0.close()
        committed = []

        def writer(i):
            tm = transaction.TransactionManager()
            conn = db.open(transaction_manager=tm)
            for _ in range(60):
                try:
                    tm.begin()
                    root, key, data = conn.root(), uuid.uuid4().hex, os.urandom(1000)
                    blob = Blob()
                    with blob.open("w") as f:
                        f.write(data)
                    root["blobs"][key] = blob
                    root["counter"]["n"] += 1
                    tm.commit()
                    committed.append((key, data))
                except ConflictError:
                    tm.abort()
            conn.close()

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        conn = db.open()
        blobs = conn.root()["blobs"]
        lost = [key for key, data in committed if blobs[key].open("r").read() != data]
        conn.close()
        assert committed and not lost, f"{len(lost)} of {len(committed)} committed blobs lost"
    finally:
        close_app(app)


# --------------------------------------------------------------------------- parallel senders of one unit
SENDERS, SENDS = 8, 25


def test_parallel_senders_of_one_unit_get_no_503_and_numbers_stay_consecutive(demo_factory):  # noqa: F811
    """8 clients × 25 sends from one unit over HTTP at once, then 8 accepts at once: they all
    conflict on the unit's register counter, and the retries' growing pause with jitter
    (core/retry.py) lets every one through — none answered 503, every number taken once."""
    import requests
    from webtest.http import StopableWSGIServer

    from lienthong.core.services import audit as audit_service, tokens

    from .support.exchange import SNV, STTTT
    from .test_api_documents import send_body

    web = demo_factory(drop=("retry.attempts",))  # the application's own number of attempts
    secret = with_site(
        web.app, lambda site: tokens.create(site, audit_service.Actor.system("test"), SNV, "eOffice")[1]
    )
    receiver = with_site(
        web.app, lambda site: tokens.create(site, audit_service.Actor.system("test"), STTTT, "eOffice")[1]
    )
    server = StopableWSGIServer.create(web.app, host="127.0.0.1", port=free_port(), threads=8)
    try:
        assert server.wait(), "waitress did not start"
        url = server.application_url.rstrip("/")

        def sender(i):
            session, answers = requests.Session(), []
            for n in range(SENDS):
                body = send_body(recipients=[STTTT], subject=f"Công văn song song {i}-{n}")
                response = session.post(
                    f"{url}/api/v1/documents",
                    json=body,
                    headers={"Authorization": f"Bearer {secret}"},
                    timeout=120,
                )
                answers.append((response.status_code, response.json()))
            return answers

        with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
            answers = [
                a for f in [pool.submit(sender, i) for i in range(SENDERS)] for a in f.result(timeout=600)
            ]
        statuses = collections.Counter(status for status, _body in answers)
        assert statuses == {201: SENDERS * SENDS}, statuses
        numbers = sorted(body["register_number"] for _status, body in answers)
        assert numbers == list(range(numbers[0], numbers[0] + SENDERS * SENDS))  # none twice, none skipped

        ids = [body["id"] for _status, body in answers[:SENDERS]]

        def accept(doc_id):
            return requests.post(
                f"{url}/api/v1/documents/{doc_id}/deliveries/{STTTT}/actions",
                json={"action": "accept"},
                headers={"Authorization": f"Bearer {receiver}"},
                timeout=120,
            )

        with concurrent.futures.ThreadPoolExecutor(SENDERS) as pool:
            accepted = list(pool.map(accept, ids))
        assert [r.status_code for r in accepted] == [200] * SENDERS, [r.text[:200] for r in accepted]
        arrivals = sorted(r.json()["register_number"] for r in accepted)
        assert arrivals == list(range(arrivals[0], arrivals[0] + SENDERS))
    finally:
        server.shutdown()
