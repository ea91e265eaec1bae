"""The "fs" attachment store (R6.6, R5.4): content-addressed files on a (shared) directory.

Identical bytes are stored once, writes are atomic, every read checks the digest, and a
damaged attachment is an error naming the document, never served: on the web page, in
the API, with an incident and an audit entry for the operator.
"""

import hashlib
import io
import os
import pathlib
import subprocess
import sys
import threading
import tracemalloc

import pytest

from lienthong.core.app_objects import app_objects
from lienthong.core.blobs import BlobMissing, BlobStoreError, DigestMismatch
from lienthong.core.services import attachments, documents as ds
from lienthong.plugins.blobstore_fs import FilesystemBlobStore

from .support.app import base_settings, close_app, login, make_app
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import PDF, SNV, Hub, actor, basic, pdf_file
from .test_api import Api, assert_problem, token_for

MiB = 1 << 20


def files_under(root):
    """The stored files (tmp/ excluded), relative to ``root``."""
    return sorted(
        str(p.relative_to(root))
        for p in pathlib.Path(root).rglob("*")
        if p.is_file() and p.relative_to(root).parts[0] != "tmp"
    )


def damage(path, offset=20):
    """Change one byte of a stored file, keeping its length (what a failing disk or a person does)."""
    os.chmod(path, 0o644)
    data = bytearray(pathlib.Path(path).read_bytes())
    data[offset] ^= 0xFF
    pathlib.Path(path).write_bytes(bytes(data))


class Generated(io.RawIOBase):
    """``size`` pseudo-random bytes made while read, never held whole."""

    def __init__(self, size, seed=b"lienthong"):
        self.left, self.block, self.digest = size, hashlib.sha256(seed).digest() * 4096, hashlib.sha256()

    def readable(self):
        return True

    def read(self, n=-1):
        n = self.left if n is None or n < 0 else min(n, self.left)
        out = (self.block * (n // len(self.block) + 1))[:n]
        self.left -= n
        self.digest.update(out)
        return out


# -- the store on its own ------------------------------------------------------------------
def test_put_stores_by_digest_in_a_fan_out_once_and_reads_back(tmp_path):
    store = FilesystemBlobStore(str(tmp_path / "blobs"))
    data = b"Quyet dinh so 12/QD-UBND " * 100
    key = store.put(None, io.BytesIO(data))
    assert key == hashlib.sha256(data).hexdigest()
    assert files_under(tmp_path / "blobs") == [f"{key[:2]}/{key[2:4]}/{key}"]
    assert store.exists(None, key) and not store.exists(None, "0" * 64)
    with store.open(None, key) as f:
        assert f.read() == data
    # the same bytes again: one file, unchanged, and no temporary file left behind
    before = os.stat(store.path_for(key))
    assert store.put(None, io.BytesIO(data)) == key
    after = os.stat(store.path_for(key))
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    assert files_under(tmp_path / "blobs") == [f"{key[:2]}/{key[2:4]}/{key}"]
    assert os.listdir(tmp_path / "blobs" / "tmp") == []
    assert oct(after.st_mode & 0o777) == "0o440"  # content-addressed files are never rewritten


def test_a_damaged_file_raises_digest_mismatch_naming_key_and_store(tmp_path):
    store = FilesystemBlobStore(str(tmp_path))
    key = store.put(None, io.BytesIO(b"noi dung goc " * 1000))
    damage(store.path_for(key))
    with pytest.raises(DigestMismatch, match=key) as info:
        store.open(None, key)
    assert (info.value.key, info.value.store, info.value.reason) == (key, "fs", "damaged")
    assert store.path_for(key) in str(info.value)
    # putting the good bytes again repairs the file instead of keeping the damaged one
    assert store.put(None, io.BytesIO(b"noi dung goc " * 1000)) == key
    assert store.open(None, key).read() == b"noi dung goc " * 1000


def test_a_missing_file_raises_blob_missing_and_a_bad_key_is_refused(tmp_path):
    store = FilesystemBlobStore(str(tmp_path))
    key = store.put(None, io.BytesIO(b"x"))
    os.unlink(store.path_for(key))
    with pytest.raises(BlobMissing, match="missing") as info:
        store.open(None, key)
    assert isinstance(info.value, DigestMismatch) and info.value.reason == "missing"
    with pytest.raises(ValueError, match="not a SHA-256 key"):
        store.open(None, "../../etc/passwd")


def test_a_truncated_file_is_a_mismatch_not_a_short_read(tmp_path):
    store = FilesystemBlobStore(str(tmp_path))
    key = store.put(None, io.BytesIO(b"abc" * 5000))
    os.chmod(store.path_for(key), 0o644)
    os.truncate(store.path_for(key), 100)
    with pytest.raises(DigestMismatch):
        store.open(None, key)


def test_put_and_open_stream_large_files_in_bounded_memory(tmp_path):
    store = FilesystemBlobStore(str(tmp_path))
    source = Generated(24 * MiB)
    tracemalloc.start()
    try:
        key = store.put(None, source)
        with store.open(None, key) as f:
            digest = hashlib.sha256()
            while chunk := f.read(MiB):
                digest.update(chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert key == source.digest.hexdigest() == digest.hexdigest()
    assert os.path.getsize(store.path_for(key)) == 24 * MiB
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB for a 24 MiB file"


WRITER = """
import io
from lienthong.plugins.blobstore_fs import FilesystemBlobStore
store = FilesystemBlobStore({path!r})
data = bytes(range(256)) * 4096 * 3
for _ in range(20):
    assert store.put(None, io.BytesIO(data)) == {key!r}
    with store.open(None, {key!r}) as f:
        assert f.read() == data
print("ok")
"""


def test_concurrent_writers_of_the_same_bytes_in_several_processes_all_succeed(tmp_path):
    """Separate processes (as on separate machines) with no shared lock: every put and read succeeds."""
    data = bytes(range(256)) * 4096 * 3
    key = hashlib.sha256(data).hexdigest()
    script = WRITER.format(path=str(tmp_path / "shared"), key=key)
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    store = FilesystemBlobStore(str(tmp_path / "shared"))
    errors = []

    def thread_writer():
        try:
            for _ in range(20):
                assert store.put(None, io.BytesIO(data)) == key
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread_writer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outcomes = [w.communicate(timeout=120) for w in writers]
    assert errors == []
    assert [w.returncode for w in writers] == [0] * 4, outcomes
    assert files_under(tmp_path / "shared") == [f"{key[:2]}/{key[2:4]}/{key}"]
    assert os.listdir(tmp_path / "shared" / "tmp") == []
    assert store.open(None, key).read() == data


def test_temporary_files_of_a_killed_writer_are_removed_when_a_day_old(tmp_path):
    store = FilesystemBlobStore()
    store.configure({"lienthong.blob_store": "fs", "lienthong.blob_store.fs.path": str(tmp_path)})
    old, young = tmp_path / "tmp" / "vm1-12-old.part", tmp_path / "tmp" / "vm2-13-young.part"
    old.write_bytes(b"half")
    young.write_bytes(b"being written on another machine")
    two_days_ago = os.stat(old).st_mtime - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    FilesystemBlobStore().configure(
        {"lienthong.blob_store": "fs", "lienthong.blob_store.fs.path": str(tmp_path)}
    )
    assert os.listdir(tmp_path / "tmp") == ["vm2-13-young.part"]


# -- configuration -------------------------------------------------------------------------
def issue(hub, files, unit=SNV, who="vanthu.snv", **extra):
    def run(site):
        doc = ds.compose(site, hub.env, actor(who), site["directory"][unit], basic(**extra), files)
        ds.issue(site, hub.env, actor(who), doc)
        return doc.id

    return hub.tx(run)


def read_attachments(hub, doc_id):
    def run(site):
        doc = site["documents"][doc_id]
        out = {}
        for name in doc.attachments.keys():
            with attachments.open_attachment(site, hub.env, doc.attachments[name]) as f:
                out[name] = (doc.attachments[name].store, f.read())
        return out

    return hub.tx(run)


def fs_settings(path):
    return {"lienthong.blob_store": "fs", "lienthong.blob_store.fs.path": str(path)}


def test_the_setting_alone_sends_new_attachments_to_the_fs_store_stored_once(demo_factory, tmp_path):
    shared = tmp_path / "attachments"
    hub = Hub(demo_factory(**fs_settings(shared)))
    assert hub.env.blob_store.name == "fs" and hub.env.blob_store.path == str(shared)
    first = issue(hub, [("quyet-dinh.pdf", pdf_file("mot"), "Quyết định")])
    second = issue(hub, [("quyet-dinh-ban-sao.pdf", pdf_file("mot"), "")], subject="Bản sao")  # same bytes
    assert read_attachments(hub, first) == {"quyet-dinh.pdf": ("fs", PDF + b"% mot\n")}
    assert read_attachments(hub, second) == {"quyet-dinh-ban-sao.pdf": ("fs", PDF + b"% mot\n")}
    key = hashlib.sha256(PDF + b"% mot\n").hexdigest()
    assert files_under(shared) == [f"{key[:2]}/{key[2:4]}/{key}"]  # one file for both documents
    # nothing went into the ZODB blob index
    assert hub.tx(lambda site: len(getattr(site, "_blobstore_zodb", ()) or ())) == 0


def test_the_default_directory_is_next_to_the_data_fs(tmp_path):
    settings = base_settings(tmp_path, **{"lienthong.blob_store": "fs"})
    app = make_app(settings)
    try:
        store = app_objects(app.registry).blob_store
        assert store.path == str(tmp_path / "fs-blobs")
        assert os.path.isdir(tmp_path / "fs-blobs" / "tmp")
    finally:
        close_app(app)


def test_an_unusable_directory_stops_start_up_with_one_clear_reason(tmp_path):
    (tmp_path / "a-file").write_text("not a directory")
    settings = base_settings(tmp_path, **fs_settings(tmp_path / "a-file" / "blobs"))
    with pytest.raises(
        BlobStoreError, match=r"cannot create the fs attachment store directory .*a-file/blobs"
    ):
        make_app(settings)


def test_two_hubs_on_two_databases_share_one_directory(demo_factory, tmp_path):
    shared = tmp_path / "nfs"
    one = Hub(demo_factory(**fs_settings(shared)))
    two = Hub(demo_factory(**fs_settings(shared)))
    assert one.env.blob_store is not two.env.blob_store  # a store object per application
    a = issue(one, [("a.pdf", pdf_file("tu may mot"), "")])
    b = issue(two, [("b.pdf", pdf_file("tu may hai"), "")])
    c = issue(two, [("c.pdf", pdf_file("tu may mot"), "")])  # the same bytes machine one stored
    key_a = hashlib.sha256(PDF + b"% tu may mot\n").hexdigest()
    key_b = hashlib.sha256(PDF + b"% tu may hai\n").hexdigest()
    assert sorted(files_under(shared)) == sorted(f"{k[:2]}/{k[2:4]}/{k}" for k in (key_a, key_b))
    # each reads the other's file
    assert one.tx(lambda site: one.env.blob_store.open(site, key_b).read()) == PDF + b"% tu may hai\n"
    assert two.tx(lambda site: two.env.blob_store.open(site, key_a).read()) == PDF + b"% tu may mot\n"
    assert read_attachments(one, a)["a.pdf"][1] == read_attachments(two, c)["c.pdf"][1]
    assert read_attachments(two, b)["b.pdf"] == ("fs", PDF + b"% tu may hai\n")


def test_the_fs_store_can_be_disabled_and_the_default_store_still_works(demo_factory):
    hub = Hub(demo_factory(**{"lienthong.plugins.disabled": "blobstore_fs"}))
    assert "fs" not in hub.env.blob_stores and hub.env.blob_store.name == "zodb"
    doc = issue(hub, [("quyet-dinh.pdf", pdf_file(), "")])
    assert read_attachments(hub, doc)["quyet-dinh.pdf"] == ("zodb", PDF + b"% noi dung\n")


# -- a damaged attachment at download --------------------------------------------------------
def stored_path(hub, doc_id, name):
    """The file on disk that holds an attachment's bytes, in whichever store it is."""

    def run(site):
        attachment = site["documents"][doc_id].attachments[name]
        if attachment.store == "fs":
            return hub.env.blob_stores["fs"].path_for(attachment.sha256)
        return site._blobstore_zodb[attachment.sha256].committed()

    return hub.tx(run)


def incidents_of(hub):
    return hub.tx(
        lambda site: [
            (i.kind, i.subject, i.unit_code, i.state, i.description, len(i.actions))
            for i in site["incidents"].values()
        ]
    )


def audit_actions(hub, action):
    return hub.tx(lambda site: [e for e in site["audit"].iter_entries() if e["action"] == action])


@pytest.mark.parametrize("store", ["fs", "zodb"])
def test_a_damaged_attachment_is_a_clear_error_on_the_page_and_in_the_api_and_an_incident(
    demo_factory, tmp_path, store
):
    extra = fs_settings(tmp_path / "blobs") if store == "fs" else {}
    hub = Hub(demo_factory(**extra))
    doc_id = issue(hub, [("quyet-dinh.pdf", pdf_file("se bi hong " * 50), "Quyết định")])
    notation = hub.tx(lambda site: site["documents"][doc_id].notation)
    assert hub.tx(lambda site: site["documents"][doc_id].attachments["quyet-dinh.pdf"].store) == store
    url = f"/documents/{doc_id}/attachments/quyet-dinh.pdf"

    web = hub.web
    login(web, "vanthu.stttt")
    assert web.get(url).body.startswith(PDF)  # intact: served
    damage(stored_path(hub, doc_id, "quyet-dinh.pdf"), offset=len(PDF) + 5)

    # the web page: a clear message (Vietnamese by default) naming the document and the attachment
    page = web.get(url, status=500)
    assert page.content_type == "text/html"
    assert "quyet-dinh.pdf" in page.text and notation in page.text and doc_id in page.text
    assert "Traceback" not in page.text and PDF[:20].decode() not in page.text
    web.set_cookie("_LOCALE_", "en")
    page_en = web.get(url, status=500)
    assert "is damaged" in page_en.text and "operator has been told" in page_en.text

    # the API: problem+json with status 500 naming the document and the attachment
    api = Api(web, token_for(web, "vanthu.stttt"))
    problem = assert_problem(api.get(f"/api/v1{url}", status=500), 500, field="attachment")
    assert (
        "quyet-dinh.pdf" in problem["detail"]
        and notation in problem["detail"]
        and doc_id in problem["detail"]
    )

    # one open incident for the operator however often it was read; every read on the audit record
    [(kind, subject, unit, state, description, seen)] = incidents_of(hub)
    assert (kind, subject, unit, state) == (
        "attachment_damaged",
        f"/documents/{doc_id}/attachments/quyet-dinh.pdf",
        SNV,
        "open",
    )
    assert notation in description and "blobs verify" in description and seen >= 3
    entries = audit_actions(hub, "attachment.damaged")
    assert len(entries) == seen
    assert entries[-1]["details"]["document"] == doc_id and entries[-1]["details"]["store"] == store
    assert entries[-1]["details"]["reason"] == "damaged"
    # a damaged read is not a download
    assert [e["target"] for e in audit_actions(hub, "attachment.download")] == [
        f"/documents/{doc_id}/attachments/quyet-dinh.pdf"
    ]


def test_a_missing_fs_file_is_reported_as_missing(demo_factory, tmp_path):
    hub = Hub(demo_factory(**fs_settings(tmp_path / "blobs")))
    doc_id = issue(hub, [("quyet-dinh.pdf", pdf_file("bien mat"), "")])
    os.unlink(stored_path(hub, doc_id, "quyet-dinh.pdf"))
    api = Api(hub.web, token_for(hub.web, "vanthu.stttt"))
    problem = assert_problem(
        api.get(
            f"/api/v1/documents/{doc_id}/attachments/quyet-dinh.pdf",
            status=500,
            headers={"Accept-Language": "en"},
        ),
        500,
    )
    assert "missing from storage" in problem["detail"] and "quyet-dinh.pdf" in problem["detail"]
    assert audit_actions(hub, "attachment.damaged")[-1]["details"]["reason"] == "missing"
    assert [i[0] for i in incidents_of(hub)] == ["attachment_damaged"]
