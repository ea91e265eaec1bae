"""Adapter hotfolder (R4, R6.5): packages as files in real temp directories.

The writer never exposes a half file (temp name, sidecar, rename); the reader never takes
a file without a matching checksum, rejects what is not edXML without blocking the
others, and a whole exchange runs through the worker: outbound to ``out_dir``, inbound
from ``in_dir`` into the hub.
"""

import hashlib
import os
import threading

import pytest

from lienthong.core.db import get_database
from lienthong.core.services import documents as ds, edxml_io
from lienthong.core.transports import InboundResult, OutboundMessage, PermanentError, TransportError
from lienthong.core.worker import Worker
from lienthong.plugins import hotfolder
from lienthong.plugins.hotfolder import HotFolder

from .support.demo import demo_factory  # noqa: F401
from .support.exchange import SNV, STTTT, VUNGTAU, Hub, actor, basic, pdf_file

PAYLOAD = b"<?xml version='1.0' encoding='UTF-8'?>\n<edXML:edXMLEnvelope>package</edXML:edXMLEnvelope>"
ADAPTER = HotFolder()  # the adapter the direct calls below use (the hook makes one per application)


@pytest.fixture
def dirs(tmp_path):
    out_dir, in_dir = tmp_path / "out", tmp_path / "in"
    out_dir.mkdir()
    in_dir.mkdir()
    return {"out_dir": str(out_dir), "in_dir": str(in_dir)}


def message(
    settings,
    kind="document",
    key="20260101T000000-k1",
    document_id="000.00.02.H49,2026/01/01,1/QD",
    payload=PAYLOAD,
    **extra,
):
    return OutboundMessage(
        key=key,
        kind=kind,
        document_id=document_id,
        recipient=VUNGTAU,
        sender=SNV,
        payload=payload,
        settings=dict(settings),
        extra=extra,
    )


def listing(directory):
    return sorted(os.listdir(directory))


def put(in_dir, name, data, sidecar=True, digest=None):
    """What a well-behaved product does: temp file, sidecar, rename."""
    path = os.path.join(in_dir, name)
    with open(os.path.join(in_dir, "." + name + ".part"), "wb") as f:
        f.write(data)
    if sidecar:
        with open(path + ".sha256", "w") as f:
            f.write(f"{digest or hashlib.sha256(data).hexdigest()}  {name}\n")
    os.replace(os.path.join(in_dir, "." + name + ".part"), path)
    return path


# -- writing --------------------------------------------------------------------------------
def test_deliver_writes_the_package_and_its_checksum_and_is_idempotent(dirs):
    m = message(dirs)
    ADAPTER.deliver(m, None)
    name = hotfolder.file_name(m)
    assert name.endswith(".edxml") and "/" not in name and name.startswith("000.00.02.H49_2026_01_01_1_QD-")
    assert listing(dirs["out_dir"]) == [name, name + ".sha256"]  # no temp file left
    path = os.path.join(dirs["out_dir"], name)
    assert open(path, "rb").read() == PAYLOAD
    assert open(path + ".sha256").read() == f"{hashlib.sha256(PAYLOAD).hexdigest()}  {name}\n"
    before = os.stat(path).st_mtime_ns
    ADAPTER.deliver(m, None)  # a retry after a crash: the identical file is kept
    assert os.stat(path).st_mtime_ns == before and listing(dirs["out_dir"]) == [name, name + ".sha256"]
    # a re-signed package of the same document replaces it whole, with its checksum
    ADAPTER.deliver(message(dirs, payload=PAYLOAD + b"\n"), None)
    assert open(path, "rb").read() == PAYLOAD + b"\n"
    assert open(path + ".sha256").read().split()[0] == hashlib.sha256(PAYLOAD + b"\n").hexdigest()


def test_statuses_get_their_own_file_per_message(dirs):
    ADAPTER.deliver(message(dirs, kind="status", key="k-1", status="01"), None)
    ADAPTER.deliver(message(dirs, kind="status", key="k-2", status="03"), None)
    names = [n for n in listing(dirs["out_dir"]) if n.endswith(".edxml")]
    assert (
        len(names) == 2
        and any(".status-01-k-1." in n for n in names)
        and any(".status-03-k-2." in n for n in names)
    )


def test_a_reader_never_sees_a_half_written_file(dirs, monkeypatch):
    """Stop the writer between its steps: the final name never exists without its whole content and
    a sidecar naming that content."""
    seen = []
    real_replace = os.replace

    def observe(src, dst):
        names = listing(dirs["out_dir"])
        finals = [n for n in names if n.endswith(".edxml")]
        for n in finals:
            data = open(os.path.join(dirs["out_dir"], n), "rb").read()
            seen.append((n, data))
        real_replace(src, dst)

    monkeypatch.setattr(hotfolder.os, "replace", observe)
    ADAPTER.deliver(message(dirs), None)
    # before the sidecar rename and before the main rename, the final name did not exist yet
    assert seen == []
    assert ADAPTER.candidates(dirs["out_dir"]) == [hotfolder.file_name(message(dirs))]


def test_a_missing_out_directory_is_retried_and_bad_settings_are_refused(dirs, tmp_path):
    with pytest.raises(TransportError) as info:
        ADAPTER.deliver(message({**dirs, "out_dir": str(tmp_path / "not-mounted")}), None)
    assert not info.value.permanent and "does not exist" in info.value.reason
    assert ADAPTER.check_settings({}) == ["out_dir is required", "in_dir is required"]
    assert ADAPTER.check_settings({"out_dir": "rel/out", "in_dir": "/x", "stale_rounds": "0"}) == [
        "out_dir must be an absolute path",
        "stale_rounds must be a whole number of at least 1",
    ]
    assert ADAPTER.check_settings({"out_dir": "/x", "in_dir": "/x"}) == [
        "out_dir and in_dir must be different directories"
    ]
    with pytest.raises(PermanentError, match="in_dir is required"):
        ADAPTER.deliver(message({"out_dir": dirs["out_dir"]}), None)


# -- reading --------------------------------------------------------------------------------
def status_bytes():
    from lienthong.core import edxml

    return edxml.build_status(
        {
            "response_for": {
                "organ_id": SNV,
                "code": "1/QĐ-SNV",
                "promulgation_date": "2026-01-01",
                "document_id": "DOC-1",
            },
            "from": {"organ_id": VUNGTAU, "organ_name": "UBND TP Vũng Tàu"},
            "status_code": "03",
            "description": "",
            "timestamp": "2026-01-02T09:00:00+07:00",
            "staff_info": {"staff": "x", "department": "", "mobile": "", "email": ""},
        }
    )


def test_poll_takes_only_complete_checked_files(dirs):
    adapter = HotFolder()
    in_dir = dirs["in_dir"]
    data = status_bytes()
    put(in_dir, "ok.edxml", data)
    put(in_dir, "nosidecar.edxml", data, sidecar=False)  # still being written
    put(
        in_dir, "growing.edxml", data[:40], digest=hashlib.sha256(data).hexdigest()
    )  # sidecar first, file not done
    with open(os.path.join(in_dir, ".writing.edxml"), "wb") as f:  # a temp name
        f.write(data)
    with open(os.path.join(in_dir, "notes.txt"), "w") as f:
        f.write("hello")
    found = adapter.poll(VUNGTAU, dirs, None)
    assert [(m.source, m.kind, m.unit) for m in found] == [
        (os.path.join(in_dir, "ok.edxml"), "status", VUNGTAU)
    ]
    assert found[0].payload == data
    found[0].done(InboundResult(ok=True))
    assert listing(os.path.join(in_dir, "processed")) == ["ok.edxml", "ok.edxml.sha256"]
    # the half files wait; once complete they are taken
    with open(os.path.join(in_dir, "growing.edxml"), "wb") as f:
        f.write(data)
    put(in_dir, "nosidecar.edxml", data)
    found = adapter.poll(VUNGTAU, dirs, None)
    assert sorted(os.path.basename(m.source) for m in found) == ["growing.edxml", "nosidecar.edxml"]


def test_a_file_that_never_matches_is_rejected_after_n_rounds(dirs):
    adapter = HotFolder()
    in_dir = dirs["in_dir"]
    put(in_dir, "broken.edxml", status_bytes(), digest="0" * 64)
    settings = {**dirs, "stale_rounds": "3"}
    for _round in range(2):
        assert adapter.poll(VUNGTAU, settings, None) == []
        assert "broken.edxml" in listing(in_dir)
    assert adapter.poll(VUNGTAU, settings, None) == []
    assert "broken.edxml" not in listing(in_dir)
    rejected = os.path.join(in_dir, "rejected")
    assert listing(rejected) == ["broken.edxml", "broken.edxml.sha256", "broken.reason.txt"]
    assert "checksum does not match" in open(os.path.join(rejected, "broken.reason.txt")).read()


def test_a_file_that_is_not_edxml_is_rejected_with_a_reason_and_the_others_are_taken(dirs):
    adapter = HotFolder()
    in_dir = dirs["in_dir"]
    put(in_dir, "a-garbage.edxml", b"%PDF-1.4 this is not xml")
    put(in_dir, "b-other-xml.edxml", b"<?xml version='1.0'?><invoice><total>1</total></invoice>")
    put(in_dir, "c-good.edxml", status_bytes())
    found = adapter.poll(VUNGTAU, dirs, None)
    assert [os.path.basename(m.source) for m in found] == ["c-good.edxml"]
    rejected = os.path.join(in_dir, "rejected")
    assert listing(rejected) == [
        "a-garbage.edxml",
        "a-garbage.edxml.sha256",
        "a-garbage.reason.txt",
        "b-other-xml.edxml",
        "b-other-xml.edxml.sha256",
        "b-other-xml.reason.txt",
    ]
    for name in ("a-garbage", "b-other-xml"):
        assert open(os.path.join(rejected, name + ".reason.txt")).read().startswith("not an edXML package")
    found[0].done(InboundResult(ok=False, reason="Unknown unit 999"))
    assert "c-good.edxml" in listing(rejected)
    assert open(os.path.join(rejected, "c-good.reason.txt")).read() == "Unknown unit 999\n"


# -- a whole exchange through the worker ----------------------------------------------------
def run_worker(hub):
    worker = Worker(get_database(hub.app.registry), hub.app.registry, worker_id="hot")
    try:
        return worker.run(threading.Event(), once=True)
    finally:
        worker.close()


def test_the_worker_writes_out_and_reads_in_through_the_hot_folder(demo_factory, dirs):
    hub, product = Hub(demo_factory()), Hub(demo_factory())

    def bind(site):
        site["directory"][VUNGTAU].adapter = "hotfolder"
        site["directory"][VUNGTAU].adapter_settings.update(dirs)

    hub.tx(bind)

    # outbound: SNV sends to Vũng Tàu, whose product reads the out folder
    def send(site):
        doc = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[VUNGTAU]),
            [("van-ban.pdf", pdf_file("hot"), "")],
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), doc)
        return doc.id, doc.document_id

    name, document_id = hub.tx(send)
    run_worker(hub)
    out = [n for n in listing(dirs["out_dir"]) if n.endswith(".edxml")]
    assert out == [hotfolder.file_name(message(dirs, document_id=document_id))]
    assert hub.tx(lambda site: site["documents"][name].delivery_for(VUNGTAU).state) == "01"

    # inbound: Vũng Tàu's product (another site here) drops a package for STTTT and junk next to it
    def product_send(site):
        doc = ds.compose(
            site,
            product.env,
            actor("vanthu.vungtau"),
            site["directory"][VUNGTAU],
            basic(recipients=[STTTT], subject="Báo cáo qua thư mục trao đổi"),
            [("bao-cao.pdf", pdf_file("in"), "")],
        )
        ds.issue(site, product.env, actor("vanthu.vungtau"), doc)
        return doc.document_id, edxml_io.export_document(site, product.env, doc)

    inbound_id, package = product.tx(product_send)
    put(dirs["in_dir"], "bao-cao.edxml", package)
    put(dirs["in_dir"], "junk.edxml", b"not edXML at all")
    run_worker(hub)
    assert listing(os.path.join(dirs["in_dir"], "processed")) == ["bao-cao.edxml", "bao-cao.edxml.sha256"]
    assert "junk.reason.txt" in listing(os.path.join(dirs["in_dir"], "rejected"))

    def received(site):
        doc = site["documents"][site["documents"].name_for(inbound_id)]
        return doc.sender_code, doc.title, doc.delivery_for(STTTT) is not None

    assert hub.tx(received) == (VUNGTAU, "Báo cáo qua thư mục trao đổi", True)
    # the same file dropped again is not stored twice
    put(dirs["in_dir"], "bao-cao.edxml", package)
    run_worker(hub)
    assert hub.tx(lambda site: sum(1 for d in site["documents"].values() if d.document_id == inbound_id)) == 1
