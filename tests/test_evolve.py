"""Schema evolution: generations, `lienthong migrate`, and refusing a database newer than the code."""

import pytest
from BTrees.LOBTree import LOBTree
from BTrees.OOBTree import OOBTree

from lienthong.core import StartupError, evolve
from lienthong.core.resources.audit import GENESIS
from lienthong.core.resources.documents import Document
from lienthong.core.resources.site import TOP_LEVEL
from lienthong.core.services import demo

from .support import cli
from .support.app import DEMO_PASSWORD, base_settings, close_app, file_uri, free_port, make_app, with_site


def undo_steps(site):
    """Put the site back to generation 0: undo what each evolve step did."""
    site.generation = 0
    site.remove("incidents")  # step 1 creates the top-level containers
    for name in ("tokens", "delegations"):  # ... and step 4 the later ones
        site.remove(name)
    for user in site["users"].values():  # step 4 turned users into folders with a mailbox
        del user.data, user._num
    for unit in site["directory"].values():  # ... and gave each unit its mailbox
        unit.remove("mailbox")
        unit.remove("registers")  # step 5 gives each unit its registers
    from lienthong.core import catalog

    delattr(site["catalog"], catalog.ATTRIBUTE)  # ... and the catalog its indexes
    del site["catalog"].pending  # step 7 gives the catalog its queue of changes to index
    transport = site["transport"]  # ... and the transport its queues, pull lists and feeds
    del transport.queues, transport.dead, transport.edxml_pending, transport.edxml_statuses
    audit = site["audit"]
    del audit.head  # step 2 records the head of the audit chain
    legacy = LOBTree()  # step 3 moved the entries from one LOBTree into chunks and a tail
    for entry in audit.iter_entries():
        legacy[entry["seq"]] = entry
    audit.entries = legacy
    del audit.tail, audit.archive
    site.remove("trust")  # step 6 adds the trust store ...
    old_queue = OOBTree()  # ... and turns the single outbound queue into one queue per destination
    document = Document(
        "d" * 32,
        "000.00.02.H49",
        {"document_id": "old-doc-1", "subject": "Cũ"},
        "vanthu.snv",
        "2026-01-05T08:00:00+00:00",
    )
    document.state = "issued"
    site["documents"].add_document(document)
    old_queue["2026-01-05T08:00:00.000001+00:00-abcd1234"] = {
        "adapter": "hotfolder",
        "kind": "document",
        "document": document.id,
        "recipient": "000.00.31.H49",
        "queued_at": "2026-01-05T08:00:00.000001+00:00",
        "attempts": 2,
    }
    old_queue["2026-01-05T08:00:01.000001+00:00-abcd1235"] = {
        "adapter": "hotfolder",
        "kind": "document",
        "document": "gone",
        "recipient": "000.00.31.H49",
        "queued_at": "2026-01-05T08:00:01.000001+00:00",
        "attempts": 0,
    }
    site["transport"].queue = old_queue


def registers_and_catalog(site):
    from lienthong.core import catalog

    return (
        all("registers" in unit for unit in site["directory"].values()),
        isinstance(getattr(site["catalog"], catalog.ATTRIBUTE, None), catalog.Catalog)
        and getattr(site["catalog"], "pending", None) is not None,
    )


def transport_queues(site):
    """What step 6 made of the old queue: [(destination, key, document_id, attempts)], and whether it is gone."""
    from lienthong.core.services import outbound

    found = [
        (code, key, m.document_id, m.attempts)
        for code, dest in outbound.queues(site).items()
        for key, m in dest.messages.items()
    ]
    return found, getattr(site["transport"], "queue", None) is None


def set_generation(app, generation):
    def change(site):
        site.generation = generation

    with_site(app, change)


def state(app):
    """(generation, top-level names, audit head is the last entry's hash, chain verifies)."""

    def read(site):
        audit = site["audit"]
        if hasattr(audit, "entries"):  # not migrated yet: the legacy layout
            return site.generation, sorted(site.keys()), False, "legacy layout"
        entries = list(audit.iter_entries())
        head_ok = getattr(audit, "head", None) == (entries[-1]["hash"] if entries else GENESIS)
        return site.generation, sorted(site.keys()), head_ok, audit.verify() if head_ok else "no head"

    return with_site(app, read)


def mailboxes(site):
    """(every user has a personal mailbox, every unit has its mailbox)"""
    users = all(u["mailbox"].owner_login == u.login for u in site["users"].values())
    units = all("mailbox" in unit for unit in site["directory"].values())
    return users and len(site["users"]) > 0, units and len(site["directory"]) > 0


def test_fresh_site_is_at_the_current_generation(tmp_path):
    assert evolve.current_generation() == len(evolve.STEPS) >= 2
    app = make_app(base_settings(tmp_path))
    try:
        generation, names, head_ok, broken = state(app)
        assert generation == evolve.current_generation()
        assert names == sorted(TOP_LEVEL)
        assert head_ok and broken is None
        assert with_site(app, evolve.pending) == []
    finally:
        close_app(app)


def make_old_site(tmp_path):
    """A FileStorage site in ``tmp_path`` put back to generation 0; returns its settings."""
    settings = base_settings(tmp_path)
    app = make_app(settings)
    try:
        with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))  # users and units for step 4
        with_site(app, undo_steps)
        generation, names, head_ok, _ = state(app)
        assert generation == 0 and "incidents" not in names and not head_ok
    finally:
        close_app(app)
    return settings


def test_migrate_runs_pending_steps_and_restores_what_they_make(tmp_path):
    make_old_site(tmp_path)
    ini = cli.write_ini(
        tmp_path / "site.ini", file_uri(tmp_path), port=free_port(), lienthong__auto_migrate="false"
    )

    # with auto_migrate off, `lienthong serve` refuses the old database and says what to do
    cli.assert_clean_failure(cli.run(["serve"], ini), "generation 0", "run `lienthong migrate`")

    result = cli.run(["migrate"], ini)
    assert result.returncode == 0, result.stderr
    for generation in range(1, evolve.current_generation() + 1):
        assert f"evolve: generation {generation}:" in result.stdout
    assert f"migrated to generation {evolve.current_generation()}" in result.stdout

    again = cli.run(["migrate"], ini)
    assert again.returncode == 0, again.stderr
    assert f"nothing to do: the database is at generation {evolve.current_generation()}" in again.stdout
    assert "evolve:" not in again.stdout

    # now the application starts without auto_migrate, and what the steps make is back
    app = make_app(base_settings(tmp_path, **{"lienthong.auto_migrate": "false"}))
    try:
        generation, names, head_ok, broken = state(app)
        assert generation == evolve.current_generation()
        assert names == sorted(TOP_LEVEL)  # the container step 1 makes
        assert head_ok and broken is None  # the head step 2 records
        assert with_site(app, mailboxes) == (True, True)  # the mailboxes step 4 makes
        assert with_site(app, registers_and_catalog) == (True, True)  # the registers and catalog of step 5
        assert with_site(
            app, transport_queues
        ) == (  # the queues of step 6; a gone document's message dropped
            [("000.00.31.H49", "2026-01-05T08:00:00.000001+00:00-abcd1234", "old-doc-1", 2)],
            True,
        )
    finally:
        close_app(app)
    verify = cli.run(["audit", "verify"], ini)
    assert verify.returncode == 0 and "audit log intact" in verify.stdout, verify.stderr


def test_start_up_refuses_pending_steps_without_auto_migrate(tmp_path):
    settings = make_old_site(tmp_path)
    with pytest.raises(StartupError) as refused:
        make_app({**settings, "lienthong.auto_migrate": "false"})
    message = str(refused.value)
    assert "generation 0" in message and "run `lienthong migrate`" in message
    assert "\n" not in message


def test_auto_migrate_runs_pending_steps_at_start_up(tmp_path):
    app = make_app(base_settings(tmp_path))
    try:

        def lower(site):
            site.generation = 1
            del site["audit"].head

        with_site(app, lower)
    finally:
        close_app(app)
    app = make_app(base_settings(tmp_path, **{"lienthong.auto_migrate": "true"}))
    try:
        generation, _, head_ok, broken = state(app)
        assert generation == evolve.current_generation()
        assert head_ok and broken is None
    finally:
        close_app(app)


def test_a_refused_start_up_releases_the_database(tmp_path):
    from lienthong.core.db import StorageError, open_database

    settings = make_old_site(tmp_path)
    with pytest.raises(StartupError):
        make_app({**settings, "lienthong.auto_migrate": "false"})
    try:
        db = open_database(settings["zodbconn.uri"])
    except StorageError as exc:
        pytest.fail(f"after a refused start-up: {exc}")
    db.close()


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    newer = evolve.current_generation() + 1
    app = make_app(base_settings(tmp_path))
    try:
        set_generation(app, newer)
    finally:
        close_app(app)
    expected = (
        f"schema generation {newer}",
        f"knows only up to {evolve.current_generation()}",
        "upgrade LienThong",
    )

    ini = cli.write_ini(tmp_path / "site.ini", file_uri(tmp_path), port=free_port())
    for command in (
        ["migrate"],
        ["serve"],
        ["init"],
        ["adduser", "x.user", "--fullname", "X", "--password", "Mat-khau-dai-2024"],
    ):
        result = cli.run(command, ini, timeout=60)
        cli.assert_clean_failure(result, *expected)

    # make_app (the paste app factory) refuses too, with the same one-line message
    with pytest.raises(StartupError) as refused:
        make_app(base_settings(tmp_path))
    assert all(fragment in str(refused.value) for fragment in expected)
    assert "\n" not in str(refused.value)


GENERATION_7_ATTRIBUTES = ("dead", "edxml_pending", "edxml_statuses")


def test_a_generation_6_database_opens_migrates_and_works(tmp_path):
    """Up to generation 6 the services made /transport's queues, dead letters, pull lists and status
    feeds and /catalog's queue of changes on first use. A site of then, whose outbound queue had been
    used and whose other attributes were never made, is refused without auto_migrate, migrates at
    start-up keeping what it had, and then sends: queued, listed, catalogued."""
    from lienthong.core.services import documents as ds, edxml_pull, indexing, outbound
    from lienthong.core.services.env import get_env

    from .support.exchange import SNV, STP, STTTT, actor, basic

    app = make_app(base_settings(tmp_path))
    try:
        with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))

        def as_generation_6(site):
            site.generation = 6
            transport = site["transport"]
            transport.queues[STP] = outbound.Destination(STP)  # used once by then, empty now
            for name in GENERATION_7_ATTRIBUTES:
                delattr(transport, name)
            del site["catalog"].pending
            site["directory"][STP].adapter = "edxml_push"

        with_site(app, as_generation_6)

        def stored_state(site):
            return sorted(site["transport"].__getstate__()), "pending" in site["catalog"].__getstate__()

        names, catalog_queue = with_site(app, stored_state)
        assert "queues" in names and not set(GENERATION_7_ATTRIBUTES) & set(names) and not catalog_queue
    finally:
        close_app(app)

    with pytest.raises(StartupError, match="generation 6"):
        make_app(base_settings(tmp_path, **{"lienthong.auto_migrate": "false"}))

    app = make_app(base_settings(tmp_path, **{"lienthong.auto_migrate": "true"}))
    try:
        assert with_site(app, lambda site: site.generation) == evolve.current_generation()
        names, catalog_queue = with_site(app, stored_state)
        assert set(GENERATION_7_ATTRIBUTES) <= set(names) and catalog_queue
        assert with_site(app, lambda site: list(site["transport"].queues)) == [STP]  # kept as it was
        env = get_env(app.registry)

        def send(site):
            return ds.send(
                site, env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=[STP, STTTT])
            ).id

        name = with_site(app, send)

        def check(site):
            assert [m["recipient"] for _key, m in outbound.pending(site)] == [STP]
            assert [d.document.id for _key, d in edxml_pull.pending(site, STTTT)] == [name]
            total, _keys = indexing.searchable(site).query(f"in:{STTTT}")
            return total

        assert with_site(app, check) == 1
    finally:
        close_app(app)
