"""The audit log: who did what, on whose behalf, when and from where; hash-chained.

Tampering is done the way an intruder with file access would: change the committed
FileStorage, then ask the real command (`lienthong audit verify`) whether the chain holds.
"""

import json
import os
import subprocess
from datetime import UTC, datetime, timezone

import pytest
from ZODB import DB
from ZODB.FileStorage import FileStorage

from lienthong.core.db import run_in_site
from lienthong.core.resources.audit import GENESIS, AuditLog, decode, entry_hash
from lienthong.core.services import accounts, audit

from .support.app import DEMO_PASSWORD, close_app, login, make_app, with_site

ENTRY_FIELDS = {
    "seq",
    "time",
    "actor",
    "on_behalf_of",
    "action",
    "target",
    "client",
    "details",
    "prev",
    "hash",
}


def entries(app):
    return with_site(app, lambda site: list(site["audit"].iter_entries()))


# -- writing entries --------------------------------------------------------------------------


def test_a_new_site_starts_the_chain_with_its_creation(app):
    (first,) = entries(app)
    assert first["seq"] == 1 and first["prev"] == GENESIS
    assert first["action"] == "site.create" and first["actor"] == "system:init"
    assert first["hash"] == entry_hash(first)
    assert with_site(app, audit.verify) is None


def test_services_record_actor_delegation_action_target_time_and_client(app):
    before = datetime.now(UTC)
    actor = audit.Actor(login="admin", on_behalf_of="lanhdao.stttt", client="10.1.2.3")
    with_site(
        app,
        lambda site: accounts.add_user(
            site, actor, "vanthu.moi", "Nguyễn Văn Mới", "Mat-khau-rat-manh-2024", roles=("auditor",)
        ),
    )
    with_site(
        app,
        lambda site: audit.record(
            site, audit.Actor.system("worker"), "job.run", "/transport", job="reminders", count=3
        ),
    )
    after = datetime.now(UTC)

    first, created, job = entries(app)
    assert set(created) == ENTRY_FIELDS
    assert created["seq"] == 2 and created["prev"] == first["hash"]
    assert created["actor"] == "admin"
    assert created["on_behalf_of"] == "lanhdao.stttt"
    assert created["action"] == "user.create"
    assert created["target"] == "/users/vanthu.moi"
    assert created["client"] == "10.1.2.3"
    assert created["details"]["roles"] == ["auditor"]
    when = datetime.fromisoformat(created["time"])
    assert when.tzinfo is not None and before <= when <= after
    assert "Mat-khau-rat-manh-2024" not in json.dumps(created, ensure_ascii=False)

    assert job["seq"] == 3 and job["prev"] == created["hash"]
    assert (job["actor"], job["on_behalf_of"], job["client"]) == ("system:worker", None, None)
    assert (job["action"], job["target"], job["details"]) == (
        "job.run",
        "/transport",
        {"job": "reminders", "count": 3},
    )
    assert with_site(app, audit.verify) is None


def test_logging_in_through_the_web_records_the_client_address(demo_app):
    from webtest import TestApp

    web = TestApp(demo_app, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    start = len(entries(demo_app))
    login(web, "admin")
    stranger = TestApp(demo_app, extra_environ={"REMOTE_ADDR": "198.51.100.20"})
    login(stranger, "vanthu.snv", password="not-the-password", status=401)
    new = entries(demo_app)[start:]

    ok = [e for e in new if e["action"] == "auth.login"]
    assert len(ok) == 1
    assert ok[0]["actor"] == "admin" and ok[0]["target"] == "/users/admin"
    assert ok[0]["client"] == "203.0.113.7"
    failed = [e for e in new if e["action"] == "auth.login_failed"]
    assert len(failed) == 1
    assert failed[0]["actor"] == "vanthu.snv" and failed[0]["client"] == "198.51.100.20"
    text = json.dumps(new, ensure_ascii=False)
    assert DEMO_PASSWORD not in text and "not-the-password" not in text
    assert with_site(demo_app, audit.verify) is None


def test_a_forged_x_forwarded_for_header_does_not_change_the_recorded_client(demo_app):
    from webtest import TestApp

    web = TestApp(demo_app, extra_environ={"REMOTE_ADDR": "203.0.113.7"})
    web.extra_environ["HTTP_X_FORWARDED_FOR"] = "127.0.0.1"
    login(web, "admin")
    last_login = [e for e in entries(demo_app) if e["action"] == "auth.login"][-1]
    assert last_login["client"] == "203.0.113.7"


def test_entries_handed_out_cannot_alter_the_stored_chain(app):
    """Reading an entry and changing the copy must not change the log (nor break its chain)."""
    details = {"items": ["a"]}
    with_site(app, lambda site: audit.record(site, audit.Actor.system("t"), "x.one", "/", **details))
    details["items"].append("changed by the caller afterwards")

    def meddle(site):
        entry = list(site["audit"].iter_entries())[-1]
        entry["details"]["items"].append("changed by a reader")
        entry["details"]["new"] = True
        # another write in the same transaction rewrites the bucket holding the entry
        audit.record(site, audit.Actor.system("t"), "x.two", "/")

    with_site(app, meddle)

    stored = [e for e in entries(app) if e["action"] == "x.one"][0]
    assert stored["details"] == {"items": ["a"]}
    assert with_site(app, audit.verify) is None


def test_entries_read_newest_first_and_from_a_start(app):
    def fill(site):
        for n in range(5):
            audit.record(site, audit.Actor.system("t"), f"x.{n}", "/")

    with_site(app, fill)

    def read(site):
        log = site["audit"]
        return (
            [e["seq"] for e in log.iter_entries()],
            [e["seq"] for e in log.iter_entries(reverse=True)],
            [e["seq"] for e in log.iter_entries(start=4)],
            [e["seq"] for e in log.iter_entries(start=4, reverse=True)],
            next(log.iter_entries(reverse=True))["action"],
        )

    forward, backward, from4, from4_back, newest = with_site(app, read)
    assert forward == [1, 2, 3, 4, 5, 6]
    assert backward == [6, 5, 4, 3, 2, 1]
    assert from4 == [4, 5, 6] and from4_back == [6, 5, 4]
    assert newest == "x.4"


# -- nothing can edit or delete entries --------------------------------------------------------


def test_the_audit_log_offers_no_way_to_change_or_remove_entries():
    import re

    writes = re.compile(
        r"(set|del|edit|remove|pop|clear|update|replace|truncate|rewrite|drop|purge)", re.IGNORECASE
    )
    methods = {name for name, value in vars(AuditLog).items() if callable(value)}
    assert "append" in methods and "verify" in methods
    offending = {name for name in methods if writes.search(name)}
    assert not offending, f"AuditLog must not offer {sorted(offending)}"
    for name in ("__setitem__", "__delitem__", "__setslice__", "__iadd__"):
        assert not hasattr(AuditLog, name), name


def test_no_view_or_route_changes_the_audit_log(testapp):
    # every view registered on the audit log, or on a route under /audit, only reads
    introspector = testapp.app.registry.introspector
    for item in introspector.get_category("views"):
        view = item["introspectable"]
        context = view["context"]
        route = view["route_name"] or ""
        on_audit = (isinstance(context, type) and issubclass(context, AuditLog)) or "audit" in route
        if on_audit:
            methods = view["request_methods"]
            assert methods is not None, view["callable"]
            methods = {methods} if isinstance(methods, str) else set(methods)
            assert methods <= {"GET", "HEAD"}, (view["callable"], methods)
    for item in introspector.get_category("routes"):
        route = item["introspectable"]
        if "audit" in route["pattern"]:
            assert set(route["request_methods"] or {"GET"}) <= {"GET", "HEAD"}, route["pattern"]

    # and an administrator who tries anyway changes nothing
    login(testapp, "admin")
    token = testapp.get("/").text.split('name="csrf_token" value="', 1)[-1].split('"', 1)[0]
    before = entries(testapp.app)
    for method, path in [
        ("DELETE", "/audit"),
        ("DELETE", "/audit/1"),
        ("PUT", "/audit/1"),
        ("PATCH", "/audit/1"),
        ("POST", "/audit"),
        ("POST", "/audit/1/delete"),
        ("POST", "/audit/clear"),
        ("GET", "/audit/1/delete"),
    ]:
        res = testapp.request(
            path,
            method=method,
            headers={"X-CSRF-Token": token},
            body=b"seq=1",
            content_type="application/x-www-form-urlencoded",
            expect_errors=True,
        )
        assert res.status_int >= 400 or method == "GET", (method, path, res.status)
    after = entries(testapp.app)
    assert after[: len(before)] == before
    assert with_site(testapp.app, audit.verify) is None


# -- tampering, checked with the real command --------------------------------------------------


@pytest.fixture
def chain(settings, tmp_path):
    """A committed FileStorage with a chain of 6 entries and a closed database; yields tools."""
    application = make_app(settings)
    try:

        def fill(site):
            for n in range(2, 7):
                audit.record(
                    site,
                    audit.Actor(login=f"user{n}", client="10.0.0.%d" % n),
                    "document.read",
                    f"/documents/{n}",
                    n=n,
                )

        with_site(application, fill)
        assert len(entries(application)) == 6
    finally:
        close_app(application)  # the CLI needs the FileStorage lock
    ini = tmp_path / "site.ini"
    ini.write_text(
        "[app:main]\n"
        "use = egg:lienthong\n"
        f"zodbconn.uri = {settings['zodbconn.uri']}\n"
        f"lienthong.secret = {settings['lienthong.secret']}\n"
        "lienthong.session.secure = false\n",
        encoding="utf-8",
    )
    return Chain(tmp_path, str(ini))


def rewrite(log, entries):
    """Store ``entries`` in ``log`` as it keeps them: sealed chunks of ``tail_size`` and a tail."""
    from BTrees.LOBTree import LOBTree

    from lienthong.core.resources.audit import AuditChunk, encode

    texts = [encode(entry) for entry in entries]
    size = log.tail_size
    sealed = max(0, len(texts) - (len(texts) % size or size))
    log.archive = LOBTree()
    for start in range(0, sealed, size):
        log.archive[start + 1] = AuditChunk(texts[start : start + size])
    log.tail = texts[sealed:]


class Chain:
    def __init__(self, directory, ini):
        self.directory = directory
        self.ini = ini

    def tamper(self, change):
        """Run ``change(entries, audit_log)`` on the committed database and commit.

        ``entries`` maps sequence numbers to the stored entries; what ``change`` leaves in it
        is written back in key order, in sealed chunks and a tail as the log keeps them:
        what someone with write access to the database could do.
        """
        storage = FileStorage(str(self.directory / "Data.fs"), blob_dir=str(self.directory / "blobs"))
        db = DB(storage)

        def rewritten(site):
            log = site["audit"]
            entries = {entry["seq"]: entry for entry in log._stored()}
            change(entries, log)
            rewrite(log, [entries[k] for k in sorted(entries)])

        try:
            run_in_site(db, rewritten, attempts=1)
        finally:
            db.close()

    def broken_at(self, venv_bin, seq):
        """Run `lienthong audit verify`: it must fail naming entry ``seq``; return its stderr."""
        result = self.verify(venv_bin)
        assert result.returncode == 1
        assert f"BROKEN at entry {seq}:" in result.stderr
        return result.stderr

    def verify(self, venv_bin):
        env = {k: v for k, v in os.environ.items() if k != "LIENTHONG_CONFIG"}
        return subprocess.run(
            [os.path.join(venv_bin, "lienthong"), "--config", self.ini, "audit", "verify"],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=str(self.directory),
        )


def test_cli_reports_an_intact_chain(chain, venv_bin):
    result = chain.verify(venv_bin)
    assert result.returncode == 0, result.stderr
    assert "audit log intact: 6 entries" in result.stdout


def test_cli_reports_an_entry_changed_without_recomputing_its_hash(chain, venv_bin):
    def change(entries, log):
        entries[4] = {**entries[4], "actor": "someone-else"}

    chain.tamper(change)
    assert "entry 4 was changed" in chain.broken_at(venv_bin, 4)


def test_cli_reports_a_rehashed_change_as_the_next_entrys_broken_link(chain, venv_bin):
    def change(entries, log):
        forged = {**entries[3], "target": "/documents/other"}
        forged["hash"] = entry_hash(forged)
        entries[3] = forged

    chain.tamper(change)
    assert "does not follow entry 3" in chain.broken_at(venv_bin, 4)


def test_cli_reports_a_rehashed_change_of_the_last_entry(chain, venv_bin):
    def change(entries, log):
        forged = {**entries[6], "client": "192.0.2.1"}
        forged["hash"] = entry_hash(forged)
        entries[6] = forged

    chain.tamper(change)
    chain.broken_at(venv_bin, 6)


@pytest.mark.parametrize("removed", [1, 3, 6])
def test_cli_reports_a_removed_entry(chain, venv_bin, removed):
    chain.tamper(lambda entries, log: entries.pop(removed))
    assert "missing" in chain.broken_at(venv_bin, removed)


def test_cli_reports_a_removed_entry_even_when_the_rest_is_renumbered(chain, venv_bin):
    def change(entries, log):
        moved = [dict(entries[k]) for k in range(4, 7)]
        for k in range(3, 7):
            del entries[k]
        for entry in moved:
            entry["seq"] -= 1
            entry["hash"] = entry_hash(entry)
            entries[entry["seq"]] = entry
        log.next_seq = 6
        log.head = moved[-1]["hash"]

    chain.tamper(change)
    chain.broken_at(venv_bin, 3)


def test_cli_reports_two_swapped_entries(chain, venv_bin):
    def change(entries, log):
        entries[2], entries[5] = entries[5], entries[2]

    chain.tamper(change)
    chain.broken_at(venv_bin, 2)


def test_cli_reports_two_swapped_entries_with_their_numbers_swapped_too(chain, venv_bin):
    def change(entries, log):
        a, b = dict(entries[2]), dict(entries[5])
        a["seq"], b["seq"] = 5, 2
        a["hash"], b["hash"] = entry_hash(a), entry_hash(b)
        entries[2], entries[5] = b, a

    chain.tamper(change)
    chain.broken_at(venv_bin, 2)


# -- many writers at once ------------------------------------------------------------------------


def append_concurrently(db, threads=8, each=60, attempts=5):
    """``threads`` writers appending ``each`` entries on their own connections; returns retries."""
    import threading

    from ZODB.POSException import ConflictError

    retries = []
    failures = []

    def writer(n):
        for i in range(each):
            try:
                run_in_site(
                    db,
                    lambda site: audit.record(
                        site, audit.Actor(login=f"writer{n}"), "document.read", f"/documents/{n}-{i}"
                    ),
                    attempts,
                    on_conflict=lambda attempt: retries.append(n),
                )
            except ConflictError:
                retries.append(n)
                failures.append((n, i))

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not failures, f"{len(failures)} appends gave up after {attempts} conflicts"
    return retries


def test_concurrent_appends_merge_into_one_unbroken_chain(app):
    """Appends from concurrent transactions are merged by conflict resolution, not refused:
    only the rare moment when two of them seal the tail into a chunk at once is retried."""
    from lienthong.core.db import get_database

    before = len(entries(app))
    retries = append_concurrently(get_database(app.registry))
    stored = entries(app)
    assert len(stored) == before + 8 * 60
    assert [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
    assert sorted(e["target"] for e in stored[before:]) == sorted(
        f"/documents/{n}-{i}" for n in range(8) for i in range(60)
    )
    assert with_site(app, lambda site: site["audit"].verify()) is None
    assert with_site(app, lambda site: len(site["audit"].archive)) >= 6  # sealed chunks of 64
    # unresolved, nearly every append conflicts (and many give up); sealing collisions stay few
    assert len(retries) < 0.25 * 8 * 60, f"{len(retries)} conflicts were not resolved"


@pytest.fixture
def small_tail(monkeypatch):
    """Seal the tail every 4 entries, so a 6-entry chain has a sealed chunk and a tail."""
    from lienthong.core.resources.audit import AuditLog

    monkeypatch.setattr(AuditLog, "tail_size", 4)


def test_a_change_inside_a_sealed_chunk_is_reported(small_tail, chain, venv_bin):
    def change(entries, log):
        assert len(log.archive) == 1 and [decode(t)["seq"] for t in log.tail] == [5, 6]
        entries[2] = {**entries[2], "action": "document.delete"}

    chain.tamper(change)
    assert "entry 2 was changed" in chain.broken_at(venv_bin, 2)


def test_a_removed_chunk_is_reported(small_tail, chain, venv_bin):
    chain.tamper(lambda entries, log: [entries.pop(k) for k in (1, 2, 3, 4)])
    chain.broken_at(venv_bin, 1)
