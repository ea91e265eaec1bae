"""`lienthong blobs migrate` and `lienthong blobs verify` on a real site, run as the console script.

Migration moves every attachment between stores with every digest checked, in one
transaction per batch; killed half-way it resumes where it stopped; a damaged source is
named and left where it is. Verify reads everything back (R5.4, R6.6).
"""

import hashlib
import io
import os
import signal
import subprocess
import time

import pytest

from lienthong.core.services import documents as ds
from lienthong.core.services.env import get_env
from lienthong.plugins.blobstore_fs import FilesystemBlobStore

from .support.app import base_settings, close_app, file_uri, make_app, with_site
from .support.cli import LIENTHONG, assert_clean_failure, clean_env, run, write_ini
from .support.demo import build_demo_snapshot, copy_snapshot
from .support.exchange import PDF, SNV, STTTT, VUNGTAU, actor, basic
from .test_blobstore_fs import damage, files_under

MiB = 1 << 20


def make_site(directory, snapshot, documents, size=2000):
    """A demo site with ``documents`` issued documents in the default (ZODB) store; every third
    one carries a second attachment, and documents 0 and 1 share the same bytes."""
    copy_snapshot(snapshot, str(directory))
    app = make_app(base_settings(directory))
    try:

        def issue(site, n):
            env = get_env(app.registry)
            body = PDF + f"% van ban {max(n, 1)} ".encode() * (size // 16)
            files = [(f"van-ban-{n}.pdf", io.BytesIO(body), "")]
            if n % 3 == 2:
                files.append((f"phu-luc-{n}.pdf", io.BytesIO(PDF + f"% phu luc {n}".encode()), "Phụ lục"))
            doc = ds.compose(
                site,
                env,
                actor("vanthu.snv"),
                site["directory"][SNV],
                basic(subject=f"Văn bản số {n}", recipients=[STTTT, VUNGTAU]),
                files,
            )
            ds.issue(site, env, actor("vanthu.snv"), doc)

        for n in range(documents):
            with_site(app, lambda site: issue(site, n))
    finally:
        close_app(app)


def attachments(directory):
    """[(document id, notation, name, store, sha256)] of the site in ``directory``."""
    app = make_app(base_settings(directory))
    try:

        def collect(site):
            return [
                (d.id, d.notation, a.name, a.store, a.sha256)
                for d in site["documents"].values()
                for a in d.attachments.values()
            ]

        return with_site(app, collect)
    finally:
        close_app(app)


def audit_of(directory, action):
    app = make_app(base_settings(directory))
    try:
        return with_site(app, lambda site: [e for e in site["audit"].iter_entries() if e["action"] == action])
    finally:
        close_app(app)


@pytest.fixture
def site(tmp_path, tmp_path_factory):
    """(ini, data directory, fs directory) of a site with 7 documents (9 attachments) in the ZODB store."""
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    data = tmp_path / "data"
    data.mkdir()
    make_site(data, snapshot, 7)
    fs = tmp_path / "fs-store"
    ini = write_ini(tmp_path / "site.ini", file_uri(data), lienthong__blob_store__fs__path=str(fs))
    return ini, data, fs


def test_migrate_moves_everything_in_batches_verifying_and_back_again(site):
    ini, data, fs = site
    before = attachments(data)
    assert len(before) == 9 and {a[3] for a in before} == {"zodb"}
    keys = {a[4] for a in before}
    assert len(keys) == 8  # documents 0 and 1 carry the same bytes

    result = run(["blobs", "migrate", "--to", "fs", "--batch", "2"], ini=ini)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    entries = audit_of(data, "blobs.migrate")
    # a batch closes after the document that fills it (a document's attachments are never split)
    sizes = [e["details"]["moved"] for e in entries]
    assert sum(sizes) == 9 and all(2 <= n <= 3 for n in sizes[:-1]) and 1 <= sizes[-1] <= 3
    assert f"9 attachments (11.8 kB) moved to fs in {len(sizes)} batches" in result.stdout
    assert result.stdout.count("committed:") == len(sizes)
    assert "1 reused a verified copy already there" in result.stdout  # the second document of the same bytes
    after = attachments(data)
    assert [a[:3] + a[4:] for a in after] == [a[:3] + a[4:] for a in before] and {a[3] for a in after} == {
        "fs"
    }
    assert sorted(files_under(fs)) == sorted(f"{k[:2]}/{k[2:4]}/{k}" for k in keys)  # stored once
    for key in keys:
        with open(os.path.join(fs, key[:2], key[2:4], key), "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == key
    assert all(e["details"]["to"] == "fs" and e["actor"] == "system:cli" for e in entries)

    # run again: nothing to do
    again = run(["blobs", "migrate", "--to", "fs"], ini=ini)
    assert (
        again.returncode == 0
        and "0 attachments (0 B) moved" in again.stdout
        and "9 already in fs" in again.stdout
    )

    verified = run(["blobs", "verify"], ini=ini)
    assert verified.returncode == 0, verified.stderr
    assert (
        "7 documents, 9 attachments intact" in verified.stdout and "0 damaged, 0 missing" in verified.stdout
    )
    assert "0 orphan files in fs" in verified.stdout

    back = run(["blobs", "migrate", "--to", "zodb", "--batch", "100"], ini=ini)
    assert back.returncode == 0, back.stderr
    assert {a[3] for a in attachments(data)} == {"zodb"}
    assert run(["blobs", "verify", "--store", "zodb"], ini=ini).returncode == 0


def test_an_unknown_store_is_refused_listing_the_stores_and_changes_nothing(site):
    ini, data, fs = site
    for args in (["blobs", "migrate", "--to", "s3"], ["blobs", "verify", "--store", "s3"]):
        result = run(args, ini=ini)
        assert result.returncode == 2
        line = assert_clean_failure(result, "no attachment store named s3")
        assert "available: fs, zodb" in line
    assert {a[3] for a in attachments(data)} == {"zodb"}
    assert audit_of(data, "blobs.migrate") == []
    assert not os.path.exists(fs) or files_under(fs) == []


def test_a_killed_migration_resumes_and_ends_with_every_digest_verified(tmp_path, tmp_path_factory):
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    data = tmp_path / "data"
    data.mkdir()
    make_site(data, snapshot, 30, size=MiB)  # 40 attachments, ~30 MB: a run takes long enough to kill it
    fs = tmp_path / "fs-store"
    ini = write_ini(tmp_path / "site.ini", file_uri(data), lienthong__blob_store__fs__path=str(fs))
    total = len(attachments(data))

    proc = subprocess.Popen(
        [LIENTHONG, "-c", ini, "blobs", "migrate", "--to", "fs", "--batch", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            line = proc.stdout.readline()
            assert line, f"the migration ended before its first batch: {proc.wait()} {proc.stderr.read()}"
            if "batch 1 committed" in line:
                break
            assert time.monotonic() < deadline
        proc.send_signal(signal.SIGKILL)  # no clean-up, as a power cut or `kill -9`
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    halfway = attachments(data)
    moved = sum(1 for a in halfway if a[3] == "fs")
    assert 1 <= moved < total, moved

    resumed = run(["blobs", "migrate", "--to", "fs", "--batch", "5"], ini=ini, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{moved} already in fs" in resumed.stdout
    after = attachments(data)
    assert {a[3] for a in after} == {"fs"} and len(after) == total
    moved_now = sum(e["details"]["moved"] for e in audit_of(data, "blobs.migrate"))
    assert moved_now == total  # every attachment moved exactly once on the record

    verified = run(["blobs", "verify", "--store", "fs"], ini=ini, timeout=300)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"30 documents, {total} attachments intact" in verified.stdout
    # at most the file being written at the kill is left; it goes when a day old (see test_blobstore_fs)
    assert len(os.listdir(fs / "tmp")) <= 1


def test_a_copy_already_in_the_target_is_reused_and_a_damaged_one_is_written_again(site):
    ini, data, fs = site
    before = attachments(data)
    app = make_app(base_settings(data))
    try:
        unique = [a[4] for a in before if sum(1 for b in before if b[4] == a[4]) == 1]

        def read(site_):
            return {key: site_._blobstore_zodb[key].open("r").read() for key in unique[:2]}

        contents = with_site(app, read)
    finally:
        close_app(app)
    store = FilesystemBlobStore(str(fs))
    good, bad = unique[:2]
    store.put(None, io.BytesIO(contents[good]))
    store.put(None, io.BytesIO(contents[bad]))
    damage(store.path_for(bad), offset=3)

    result = run(["blobs", "migrate", "--to", "fs"], ini=ini)
    assert result.returncode == 0, result.stderr
    # the good copy, and the second of the two documents that share their bytes
    assert "2 reused a verified copy already there" in result.stdout
    with open(store.path_for(bad), "rb") as f:
        assert f.read() == contents[bad]  # the damaged copy was replaced by the source's bytes
    assert run(["blobs", "verify"], ini=ini).returncode == 0


def test_a_damaged_source_is_named_left_in_place_and_the_run_goes_on(site):
    ini, data, fs = site
    before = attachments(data)
    # (id, notation, name, store, sha256) of an attachment whose bytes no other one shares
    victim = next(a for a in before if sum(1 for b in before if b[4] == a[4]) == 1)
    app = make_app(base_settings(data))
    try:
        path = with_site(app, lambda s: s._blobstore_zodb[victim[4]].committed())
    finally:
        close_app(app)
    damage(path, offset=len(PDF) + 2)

    verified = run(["blobs", "verify"], ini=ini)
    assert verified.returncode == 1
    assert (
        f"BAD: document {victim[0]} ({victim[1]}), attachment {victim[2]}: damaged in the zodb store"
        in verified.stdout
    )
    assert "8 attachments intact" in verified.stdout and "1 damaged, 0 missing" in verified.stdout
    assert verified.stderr.strip() == "Error: 1 attachment failed verification (listed above)"

    result = run(["blobs", "migrate", "--to", "fs", "--batch", "3"], ini=ini)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert f"NOT MOVED: document {victim[0]} ({victim[1]}), attachment {victim[2]}: damaged" in result.stdout
    assert "8 attachments" in result.stdout
    assert (
        result.stderr.strip()
        == "Error: 1 attachment could not be moved (listed above) and stay in their store"
    )
    after = {a[:3]: a[3] for a in attachments(data)}
    assert after.pop(victim[:3]) == "zodb" and set(after.values()) == {"fs"}
    assert not os.path.exists(os.path.join(fs, victim[4][:2], victim[4][2:4], victim[4]))
    failed = [f for e in audit_of(data, "blobs.migrate") for f in e["details"]["failed"]]
    assert failed == [f"{victim[0]}/{victim[2]}"]
    # fs alone is all good now; the whole site is not
    assert run(["blobs", "verify", "--store", "fs"], ini=ini).returncode == 0
    assert run(["blobs", "verify"], ini=ini).returncode == 1


def test_verify_reports_missing_files_and_counts_orphans(site):
    ini, data, fs = site
    assert run(["blobs", "migrate", "--to", "fs"], ini=ini).returncode == 0
    before = attachments(data)
    victim = before[0]
    store = FilesystemBlobStore(str(fs))
    os.unlink(store.path_for(victim[4]))
    store.put(None, io.BytesIO(b"a file no attachment names"))
    result = run(["blobs", "verify", "--store", "fs"], ini=ini)
    assert result.returncode == 1
    shared = sum(1 for a in before if a[4] == victim[4])  # documents 0 and 1 share their bytes
    assert (
        f"BAD: document {victim[0]} ({victim[1]}), attachment {victim[2]}: missing in the fs store"
        in result.stdout
    )
    assert f"{shared} missing" in result.stdout and "1 orphan file in fs" in result.stdout
