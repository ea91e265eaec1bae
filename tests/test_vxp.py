"""The hub as a centre on the national document axis (issue #15, plugin vxp).

The axis is the simulator of ``tests/support/vxp_axis.py`` (written from the contract in
``../shared/interop/README.md``, sharing no code with the plugin), served over real HTTP.
Unit tests of the signature and the settings first; then ``lienthong vxp ping``; then two
hubs (``lienthong serve`` processes with their in-process workers) as centres on it: a
document from a unit of hub A reaches a unit of hub B once, its acceptance and a recall
come back, a redelivery leaves one document, and a backlog drains once the axis is back.
"""

import contextlib
import json
from datetime import UTC, datetime

import pytest

from lienthong.core.resources import directory as d
from lienthong.core.services import audit, deliveries, directory as dirs
from lienthong.plugins.vxp import config as axis_config, xroad

from .support.demo import build_demo_snapshot, demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, actor
from .support.peers import B_CLERK, B_DEPT, populate_b, running_hub
from .support.receiver import wait_until
from .support.vxp_axis import AxisSimulator, serve_axis
from .test_peer_hub import document_on, send_from_a

SECRET_A, SECRET_B = "axis-secret-of-hub-a-0123456789", "axis-secret-of-hub-b-0123456789"


def axis_settings(url, system_id, secret, poll="0.2"):
    """A hub's settings as a centre on the axis at ``url`` (a worker killed holds its lease
    on the centre 5 s, not the default minute)."""
    return {
        "lienthong.transport.lease_seconds": "5",
        "lienthong.vxp.url": url,
        "lienthong.vxp.system_id": system_id,
        "lienthong.vxp.secret": "axis",
        "lienthong.vxp.secret.axis": secret,
        "lienthong.vxp.poll_seconds": poll,
        "lienthong.vxp.reconcile_seconds": poll,
    }


# -- the signature and the settings ---------------------------------------------------------
def test_the_timestamp_is_the_sdks_pattern_in_viet_nam_time():
    moment = datetime(2026, 12, 3, 7, 55, 1, 42000, tzinfo=UTC)
    assert xroad.timestamp(moment) == "03122026T145501+0042"
    assert xroad.parse_timestamp("03122026T145501+0042") == moment
    for junk in ("", "03122026T145501", "03122026T145501+42", "2026-12-03T14:55:01+0042"):
        with pytest.raises(ValueError):
            xroad.parse_timestamp(junk)


def test_the_signature_covers_every_parameter_and_changes_with_each():
    now = datetime(2026, 12, 3, 7, 55, 1, tzinfo=UTC)
    headers = xroad.sign("vxp.saas.03", b"k" * 20, {"docId": "42", "status": "done"}, now)
    signed = json.loads(headers["XroadVnpt-sign-header"])
    assert headers["XroadVnpt-sign-header-key"].split(";") == list(signed)
    assert signed["XroadVnpt-docId"] == headers["XroadVnpt-docId"] == "42"
    assert headers["XroadVnpt-version"] == xroad.VERSION
    other = xroad.sign("vxp.saas.03", b"k" * 20, {"docId": "43", "status": "done"}, now)
    assert other["XroadVnpt-hash-header"] != headers["XroadVnpt-hash-header"]
    named = xroad.sign("vxp.saas.03", b"k" * 20, {"name": "Sở Nội vụ 100%"}, now)
    assert named["XroadVnpt-name"].isascii() and xroad.decode(named["XroadVnpt-name"]) == "Sở Nội vụ 100%"
    synced = xroad.sign("vxp.saas.03", b"k" * 20, {"version": "12"}, now)
    assert synced["XroadVnpt-version"] == "12"  # the parameter takes the marker's header name


def test_axis_settings_that_cannot_work_are_named(monkeypatch):
    assert axis_config.load({}) is None  # not on the axis: the plugin does nothing
    good = axis_settings("https://axis.example", "vxp.saas.03", SECRET_A)
    assert axis_config.load(good).system_id == "vxp.saas.03"
    for change, named in (
        ({"lienthong.vxp.url": "ftp://axis"}, "lienthong.vxp.url"),
        ({"lienthong.vxp.system_id": ""}, "lienthong.vxp.system_id"),
        ({"lienthong.vxp.secret.axis": "short"}, "too short"),
        ({"lienthong.vxp.poll_seconds": "often"}, "lienthong.vxp.poll_seconds"),
        ({"lienthong.vxp.verify": "/no/such/ca.pem"}, "lienthong.vxp.verify"),
        ({"lienthong.vxp.calls_at_once": "0.5"}, "lienthong.vxp.calls_at_once"),
        ({"lienthong.vxp.calls_at_once": "many"}, "lienthong.vxp.calls_at_once"),
    ):
        with pytest.raises(axis_config.AxisConfigError, match=named):
            axis_config.load({**good, **change})
    del good["lienthong.vxp.secret.axis"]
    with pytest.raises(axis_config.AxisConfigError, match="LIENTHONG_VXP_SECRET_AXIS"):
        axis_config.load(good)
    monkeypatch.setenv("LIENTHONG_VXP_SECRET_AXIS", SECRET_A)
    assert axis_config.load(good).secret == SECRET_A.encode()


# -- two hubs on the axis ---------------------------------------------------------------------
def add_axis_units(units):
    def populate(site):
        who = audit.Actor.system("test")
        for code, name in units:
            unit = dirs.add_unit(site, who, {"code": code, "name": name, "adapter": "vxp"})
            dirs.set_connection_state(site, who, unit, d.OFFICIAL)

    return populate


@contextlib.contextmanager
def two_centres(tmp_path, tmp_path_factory, venv_bin):
    sim = AxisSimulator()
    sim.add_centre("hub-a", SECRET_A)
    sim.add_centre("hub-b", SECRET_B)
    sim.serve_codes("hub-a", [SNV])
    sim.serve_codes("hub-b", [B_DEPT])
    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    with serve_axis(sim) as url:

        def populate_b_on_axis(site):
            populate_b(site)
            add_axis_units([(SNV, "Sở Nội vụ tỉnh Bà Rịa – Vũng Tàu")])(site)

        with (
            running_hub(
                tmp_path,
                "hub-a",
                {},
                "p" * 40,
                venv_bin,
                snapshot=snapshot,
                populate=add_axis_units([(B_DEPT, "Sở Nội vụ tỉnh Bình Phước")]),
                **axis_settings(url, "hub-a", SECRET_A),
            ) as a,
            running_hub(
                tmp_path,
                "hub-b",
                {},
                "p" * 40,
                venv_bin,
                populate=populate_b_on_axis,
                **axis_settings(url, "hub-b", SECRET_B),
            ) as b,
        ):
            yield sim, url, a, b


@pytest.fixture
def centres(tmp_path, tmp_path_factory, venv_bin):
    with two_centres(tmp_path, tmp_path_factory, venv_bin) as found:
        yield found


def delivery_on(hub, document_id, code):
    def find(site):
        name = site["documents"].name_for(document_id)
        if name is None:
            return None
        delivery = site["documents"][name].delivery_for(code)
        return {
            "state": delivery.state,
            "reference": delivery.remote_reference,
            "remote": delivery.remote_state,
        }

    return hub.tx(find)


def act(hub, document_id, login, action, **extra):
    """A person's act on the delivery to B_DEPT, retried on a conflict with the hub's own
    worker (as the pages are, through pyramid_retry)."""
    from lienthong.core.db import get_database, run_in_site

    from .test_peer_hub import env_of

    def run(site):
        document = site["documents"][site["documents"].name_for(document_id)]
        deliveries.act(site, env_of(hub), actor(login), document.delivery_for(B_DEPT), action, **extra)

    run_in_site(get_database(hub.app.registry), run, attempts=5)


def test_ping_answers_with_what_waits_and_names_a_refusal(centres):
    sim, url, a, _b = centres
    result = a.cli("vxp", "ping")
    assert result.returncode == 0, result.stderr
    assert "answers hub-a: 0 package(s) waiting" in result.stdout
    sim.add_centre("hub-a", "another-secret-entirely-0123")  # the axis no longer has our secret
    result = a.cli("vxp", "ping")
    assert result.returncode == 1 and "SIGNATURE_INVALID" in result.stderr


def test_a_document_crosses_the_axis_once_and_its_statuses_come_back(centres):
    sim, _url, a, b = centres
    _name, document_id = send_from_a(a, [B_DEPT], subject="Công văn qua trục quốc gia")
    assert wait_until(lambda: (document_on(b, document_id) or {}).get("deliveries") == {B_DEPT: "01"}, 30), (
        open(a.log).read()[-3000:] + open(b.log).read()[-3000:]
    )
    on_a = delivery_on(a, document_id, B_DEPT)
    assert on_a["state"] == "01"
    sent = [item for item in sim.items("hub-b") if item["messageType"] == "edoc"]
    assert len(sent) == 1  # acknowledged once B's import committed, which may be a moment after
    assert wait_until(
        lambda: [item["state"] for item in sim.items("hub-b") if item["messageType"] == "edoc"] == ["done"],
        30,
    )
    assert on_a["reference"] == sim.sent_rows("hub-a")[0]["senderDocId"]  # the axis's DocId, kept
    # the axis's sent list, read on a schedule: received by B's centre, on A's timeline
    assert wait_until(lambda: delivery_on(a, document_id, B_DEPT)["remote"] == "received", 30)

    act(b, document_id, B_CLERK, "accept")
    assert wait_until(lambda: delivery_on(a, document_id, B_DEPT)["state"] == "03", 30), open(b.log).read()[
        -3000:
    ]
    act(a, document_id, "vanthu.snv", "recall", reason="Sai số liệu")
    assert wait_until(lambda: delivery_on(b, document_id, B_DEPT)["state"] == "13", 30)
    act(b, document_id, B_CLERK, "agree_recall")
    assert wait_until(lambda: delivery_on(a, document_id, B_DEPT)["state"] == "15", 30)
    assert (
        b.tx(lambda site: sum(1 for doc in site["documents"].values() if doc.document_id == document_id)) == 1
    )
    # every item acknowledged: the acknowledgement follows the import's commit, so it may come a moment later
    assert wait_until(lambda: all(item["state"] == "done" for item in sim.items()), 30), sim.items()


def test_a_redelivered_item_leaves_one_document_and_a_backlog_drains_after_the_axis_returns(centres):
    sim, _url, a, b = centres
    _name, first = send_from_a(a, [B_DEPT], subject="Văn bản thứ nhất")
    assert wait_until(lambda: document_on(b, first) is not None, 30)
    assert wait_until(lambda: all(item["state"] == "done" for item in sim.items("hub-b")), 30)
    sim.offer_again("hub-b")  # the axis offers again what hub B already acknowledged
    assert wait_until(lambda: all(item["state"] == "done" for item in sim.items("hub-b")), 30)
    assert b.tx(lambda site: sum(1 for doc in site["documents"].values() if doc.document_id == first)) == 1

    sim.down()
    ids = [send_from_a(a, [B_DEPT], subject=f"Khi trục gián đoạn {i}")[1] for i in range(3)]
    assert wait_until(
        lambda: any(p == "/sendEdoc" and outcome == "UNAVAILABLE" for p, _s, outcome in sim.calls), 30
    )
    assert all(document_on(b, i) is None for i in ids)
    sim.up()
    assert wait_until(lambda: all(document_on(b, i) is not None for i in ids), 60), open(a.log).read()[-3000:]
    for i in ids:
        assert delivery_on(a, i, B_DEPT)["state"] == "01"


# -- the client and the adapter in this process, against the simulator -----------------------
@pytest.fixture
def axis():
    sim = AxisSimulator()
    sim.add_centre("hub-a", SECRET_A)
    sim.add_centre("hub-b", SECRET_B)
    sim.serve_codes("hub-a", [SNV])
    sim.serve_codes("hub-b", [B_DEPT])
    with serve_axis(sim) as url:
        yield sim, url


def adapter_for(url, system_id, secret):
    from lienthong.plugins.vxp.adapter import VxpAdapter

    adapter = VxpAdapter()
    adapter.configure(axis_settings(url, system_id, secret))
    return adapter


PACKAGE = (
    b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"><Subject>Th\xe1\xbb\xad</Subject>'
    b"<CodeNumber>7</CodeNumber><CodeNotation>UBND-VP</CodeNotation></edXML>"
)


def test_the_client_speaks_every_call_the_simulator_checks(axis):
    from lienthong.plugins.vxp.client import AxisClient, AxisError

    sim, url = axis
    a = AxisClient(axis_config.load(axis_settings(url, "hub-a", SECRET_A)))
    b = AxisClient(axis_config.load(axis_settings(url, "hub-b", SECRET_B)))
    assert a.ping() == 0 and b.ping() == 0 and b.ping() == 0  # two identical calls: never a replay
    doc_id = a.send_edoc(SNV, [B_DEPT], PACKAGE)
    assert b.ping() == 1
    [row] = b.received("edoc")
    assert row["from"] == SNV and b.get_edoc(row["docId"]) == PACKAGE
    b.update_status(row["docId"], "done")
    assert b.received("edoc") == []
    [sent] = a.sent()
    assert sent["senderDocId"] == doc_id and sent["receiveStatus"] == "done" and sent["title"] == "Thử"
    assert b.call("getSynchronizeUnit", {"version": "0"})["version"] >= 2  # the version header
    with pytest.raises(AxisError) as refused:
        a.send_edoc(SNV, ["000.00.99.Z99"], PACKAGE)  # an agency no centre serves
    assert refused.value.code == "AGENCY_NOT_FOUND" and not refused.value.transient
    with pytest.raises(AxisError) as refused:
        b.get_edoc("no-such-doc")
    assert refused.value.code == "NOT_FOUND"
    sim.down()
    with pytest.raises(AxisError) as down:
        a.ping()
    assert down.value.transient  # a retry later
    wrong = AxisClient(axis_config.load(axis_settings(url, "hub-a", "not-the-secret-of-hub-a")))
    sim.up()
    with pytest.raises(AxisError) as refused:
        wrong.ping()
    assert refused.value.code == "SIGNATURE_INVALID"


def test_the_adapter_sends_keeps_the_docid_and_acknowledges_as_the_hub_decided(axis):
    from lienthong.core.transports import Delivered, InboundResult, OutboundMessage, TransportError

    sim, url = axis
    a, b = adapter_for(url, "hub-a", SECRET_A), adapter_for(url, "hub-b", SECRET_B)
    assert a.centre_poll_seconds == 0.2
    message = OutboundMessage("k1", "document", "d-1", B_DEPT, SNV, PACKAGE)
    delivered = a.deliver(message, None)
    assert (
        isinstance(delivered, Delivered) and delivered.reference == sim.sent_rows("hub-a")[0]["senderDocId"]
    )

    [found] = b.poll_centre(None)
    assert (found.unit, found.kind, found.payload) == (SNV, "document", PACKAGE)
    found.done(InboundResult(ok=False, reason="the database is busy", permanent=False))
    assert [i["state"] for i in sim.items("hub-b")] == ["fail"]  # offered again
    [again] = b.poll_centre(None)
    again.done(InboundResult(ok=True, duplicate=True))  # a duplicate is a success: done
    assert [i["state"] for i in sim.items("hub-b")] == ["done"] and b.poll_centre(None) == []

    a.deliver(OutboundMessage("k2", "status", "d-1", B_DEPT, SNV, PACKAGE), None)
    [status] = b.poll_centre(None)
    assert status.kind == "status"
    status.done(InboundResult(ok=False, reason="no such document"))  # refused for good: done, never again
    assert b.poll_centre(None) == []

    with pytest.raises(TransportError) as refused:
        a.deliver(OutboundMessage("k3", "document", "d-2", "000.00.99.Z99", SNV, PACKAGE), None)
    assert refused.value.permanent and "AGENCY_NOT_FOUND" in refused.value.reason
    sim.down()
    with pytest.raises(TransportError) as down:
        a.deliver(OutboundMessage("k4", "document", "d-3", B_DEPT, SNV, PACKAGE), None)
    assert not down.value.permanent
    assert b.poll_centre(None) == []  # a silent axis: nothing, and no exception
    off = adapter_for(url, "hub-a", SECRET_A)
    off.configure({})
    assert off.centre_poll_seconds is None and off.poll_centre(None) == []
    with pytest.raises(TransportError, match="not on the national axis"):
        off.deliver(message, None)


def test_a_batch_goes_up_several_at_once_each_documents_messages_in_order(axis):
    """``deliver_batch``: a batch of one destination, ``calls_at_once`` calls in flight; one
    document's messages one after the other; the results end at the first failure in queue order."""
    from lienthong.core.transports import Delivered, OutboundMessage, TransportError

    sim, url = axis
    a = adapter_for(url, "hub-a", SECRET_A)
    assert a.batch_size > 1 and a.config.calls_at_once > 1

    def package(number):
        return PACKAGE.replace(b"<CodeNumber>7<", f"<CodeNumber>{number}<".encode())

    messages = [OutboundMessage(f"k{i}", "document", f"d-{i}", B_DEPT, SNV, package(i)) for i in range(8)]
    messages.insert(1, OutboundMessage("k0-status", "status", "d-0", B_DEPT, SNV, package(100)))
    results = a.deliver_batch(messages, None)
    assert len(results) == len(messages) and all(isinstance(r, Delivered) for r in results)
    sent = {row["senderDocId"]: row for row in sim.sent_rows("hub-a")}
    assert {r.reference for r in results} <= set(sent) and len({r.reference for r in results}) == 9
    order = [(i["messageType"], i["senderDocId"]) for i in sim.items("hub-b")]
    assert order.index(("edoc", results[0].reference)) < order.index(("status", results[1].reference))

    failing = [
        OutboundMessage("f1", "document", "e-1", B_DEPT, SNV, package(201)),
        OutboundMessage("f2", "document", "e-2", "000.00.99.Z99", SNV, package(202)),  # unknown: FAIL
        OutboundMessage("f3", "document", "e-3", B_DEPT, SNV, package(203)),
    ]
    results = a.deliver_batch(failing, None)
    assert [type(r) for r in results] == [Delivered, TransportError]  # f3 stays queued (sent or not)
    assert results[1].permanent and "AGENCY_NOT_FOUND" in results[1].reason


def test_a_package_refused_for_good_is_done_and_its_sender_gets_a_refusal_status(
    axis,
    demo_factory,  # noqa: F811
):
    from lienthong.core import edxml
    from lienthong.core.errors import NotFound
    from lienthong.core.transports import InboundResult

    sim, url = axis
    a, b = adapter_for(url, "hub-a", SECRET_A), adapter_for(url, "hub-b", SECRET_B)
    meta = {
        "document_id": "000.00.02.H49,2026/12/03,9/QĐ-SNV",
        "from": {"organ_id": SNV, "organ_name": "Sở Nội vụ"},
        "to": [{"organ_id": B_DEPT, "organ_name": "Sở Nội vụ tỉnh Bình Phước"}],
        "code_number": "9",
        "code_notation": "QĐ-SNV",
        "promulgation_date": "2026-12-03",
        "doc_type": "QD",
        "subject": "Quyết định thử",
        "signer_name": "Hoàng Đức Thắng",
        "signer_position": "Phó Giám đốc",
        "trace": [{"organ_id": SNV, "timestamp": "2026-12-03T09:00:00+07:00"}],
    }
    package = edxml.build_document(meta, [])
    a.deliver(OutboundMessage_for(package), None)
    env = env_of_app(demo_factory())  # the refusal is written in the site's language
    [found] = b.poll_centre(env)
    refusal = NotFound("Unknown unit ${code}.", field="unit", code="000.00.01.G01")
    found.done(InboundResult(ok=False, reason=refusal.text(), message=refusal.message, permanent=True))
    assert [i["state"] for i in sim.items("hub-b")] == ["done"]  # never offered again
    [answer] = a.poll_centre(None)  # the refusal travels back to the sender's centre
    assert answer.kind == "status" and answer.unit == B_DEPT
    status = edxml.parse_status(answer.payload)
    assert status["status_code"] == edxml.REFUSED
    assert status["response_for"]["document_id"] == meta["document_id"]
    assert status["response_for"]["code"] == "9/QĐ-SNV"
    assert status["description"] == "Hệ thống nhận từ chối: Không tìm thấy đơn vị 000.00.01.G01."
    assert b.send_refusal(env, b"<not edXML", [B_DEPT], "junk") == []  # nothing to answer: no status


def OutboundMessage_for(package):
    from lienthong.core.transports import OutboundMessage

    return OutboundMessage("k1", "document", "d-1", B_DEPT, SNV, package)


def test_the_operator_tests_the_axis_connection_and_sees_refusals(axis, demo_factory):  # noqa: F811
    from .support.app import csrf_of, login, with_site

    sim, url = axis
    web = demo_factory(**axis_settings(url, "hub-a", SECRET_A))
    login(web, "admin")
    page = web.get("/manage/transport")
    assert page.html.select_one("#check-vxp").text.strip() == (
        "Kiểm tra kết nối: Trục liên thông văn bản quốc gia (VXP)"
    )
    answer = web.post("/manage/transport/check", {"adapter": "vxp", "csrf_token": csrf_of(page)}).follow()
    assert "trả lời trục này (hub-a): 0 gói tin đang chờ" in answer.text
    sim.add_centre("hub-a", "the-axis-forgot-our-secret-000")
    answer = web.post("/manage/transport/check", {"adapter": "vxp", "csrf_token": csrf_of(page)}).follow()
    assert "Kiểm tra kết nối không thành công" in answer.text and "SIGNATURE_INVALID" in answer.text
    web.post("/manage/transport/check", {"adapter": "vxp"}, status=400)  # no CSRF token
    checks = with_site(
        web.app,
        lambda site: [
            e["details"]["ok"] for e in site["audit"].iter_entries() if e["action"] == "transport.check"
        ],
    )
    assert checks == [True, False]

    def refuse(site):  # a package that arrives and is refused is on the operator's list
        from lienthong.core.errors import ServiceError
        from lienthong.core.services import inbound

        with pytest.raises(ServiceError):
            inbound.receive(site, env_of_app(web), SNV, b"<edXML/>", "vxp")

    with_site(web.app, refuse)
    row = web.get("/manage/transport").html.select_one("#refusal-table .refusal")
    assert SNV in row.text and "vxp" in row.text
    english = with_site(
        web.app,
        lambda site: [
            e["details"]["reason"] for e in site["audit"].iter_entries() if e["action"] == "edxml.refuse"
        ],
    )[-1]
    shown = row.select("td")[-1].text
    assert shown and shown != english  # the reason in the operator's language, not the log's English
    web.reset()
    login(web, "vanthu.snv")
    web.get("/manage/transport", status=403)
    web.post("/manage/transport/check", {"adapter": "vxp", "csrf_token": csrf_of(web.get("/"))}, status=403)


def env_of_app(web):
    from lienthong.core.services.env import get_env

    return get_env(web.app.registry)


def test_kill_9_of_the_receiving_hub_before_its_acknowledgement_loses_and_duplicates_nothing(centres):
    sim, _url, a, b = centres
    sim.hold("/updateStatus", "hub-b")  # hub B will have committed, and never acknowledge
    _name, document_id = send_from_a(a, [B_DEPT], subject="Trước khi máy chủ B bị tắt đột ngột")
    assert wait_until(lambda: sim.held.get(("/updateStatus", "hub-b"), 0) >= 1, 30), open(b.log).read()[
        -3000:
    ]
    assert document_on(b, document_id) == {"sender": SNV, "deliveries": {B_DEPT: "01"}}
    b.proc.kill()  # kill -9: between the commit and the acknowledgement
    b.proc.wait(timeout=10)
    sim.release("/updateStatus", "hub-b")
    assert [i["state"] for i in sim.items("hub-b") if i["messageType"] == "edoc"] == ["pending"]
    b.start()  # the axis offers the item again; the door knows it: acknowledged done, stored once
    assert wait_until(
        lambda: [i["state"] for i in sim.items("hub-b") if i["messageType"] == "edoc"] == ["done"], 30
    ), open(b.log + ".again").read()[-3000:]
    assert (
        b.tx(lambda site: sum(1 for doc in site["documents"].values() if doc.document_id == document_id)) == 1
    )
    assert document_on(b, document_id) == {"sender": SNV, "deliveries": {B_DEPT: "01"}}


def test_what_the_axis_reports_is_on_the_timeline_and_a_failure_is_flagged_for_the_operator(
    axis, demo_factory
):  # noqa: F811
    import threading
    import time

    from lienthong.core.db import get_database
    from lienthong.core.services import documents as ds
    from lienthong.core.transports import InboundResult
    from lienthong.core.worker import Worker

    from .support.app import login, with_site
    from .support.exchange import basic

    sim, url = axis
    web = demo_factory(**axis_settings(url, "hub-a", SECRET_A, poll="0.01"))
    hub_b = adapter_for(url, "hub-b", SECRET_B)
    with_site(web.app, add_axis_units([(B_DEPT, "Sở Nội vụ tỉnh Bình Phước")]))

    def send(site):
        env = env_of_app(web)
        document = ds.compose(
            site, env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=[B_DEPT])
        )
        ds.issue(site, env, actor("vanthu.snv"), document)
        return document.id

    name = with_site(web.app, send)

    def run_worker():
        worker = Worker(get_database(web.app.registry), web.app.registry, worker_id="w1")
        try:
            worker.run(threading.Event(), once=True)  # sends what is queued
            time.sleep(0.05)  # past poll_seconds: the centre's next poll and sent list are due
            worker.poll_centres()
        finally:
            worker.close()

    def delivery(site):
        d = site["documents"][name].delivery_for(B_DEPT)
        return d.state, d.remote_state, [e.get("remote") for e in d.history if e.get("remote")]

    run_worker()  # sends, then reads the sent list: pending
    assert with_site(web.app, delivery) == ("01", "pending", ["pending"])
    [item] = hub_b.poll_centre(None)
    item.done(InboundResult(ok=False, reason="busy", permanent=False))  # B's centre: fail
    run_worker()
    assert with_site(web.app, delivery) == ("01", "failed", ["pending", "failed"])
    login(web, "admin")
    row = web.get("/manage/transport").html.select_one("#lost-table .lost-delivery")
    assert B_DEPT in row.text
    web.reset()
    login(web, "vanthu.snv")
    page = web.get(f"/documents/{name}")
    reports = [r.text for r in page.html.select(".transport-report")]
    timeline = page.html.select_one(".recipient-timeline").text
    assert "đã vào hàng đợi chuyển đến hệ thống nơi nhận" in timeline and "queued" not in timeline
    assert any("Mã trên đường truyền" in r for r in reports)
    assert any("hệ thống của nơi nhận chưa nhận được" in r for r in reports)
    assert any(r.startswith("Đường truyền Trục liên thông văn bản quốc gia (VXP):") for r in reports)
    [again] = hub_b.poll_centre(None)
    again.done(InboundResult(ok=True))
    run_worker()
    assert with_site(web.app, delivery) == ("01", "received", ["pending", "failed", "received"])
    assert with_site(web.app, lambda site: len(site["transport"].lost or {})) == 0  # no longer flagged
    run_worker()  # the same report again changes nothing
    assert with_site(web.app, delivery)[2] == ["pending", "failed", "received"]


def test_a_package_for_several_axis_recipients_goes_up_once(axis, demo_factory):  # noqa: F811
    import threading

    from lienthong.core.db import get_database
    from lienthong.core.services import documents as ds
    from lienthong.core.worker import Worker

    from .support.app import with_site
    from .support.exchange import basic
    from .support.peers import B_OTHER

    sim, url = axis
    sim.serve_codes("hub-b", [B_OTHER])
    web = demo_factory(**axis_settings(url, "hub-a", SECRET_A))
    with_site(
        web.app,
        add_axis_units([(B_DEPT, "Sở Nội vụ tỉnh Bình Phước"), (B_OTHER, "Sở Tư pháp tỉnh Bình Phước")]),
    )

    def send(site):
        env = env_of_app(web)
        recipients = [B_DEPT, B_OTHER, "000.00.12.H49"]  # two through the axis, one on this hub
        document = ds.compose(
            site, env, actor("vanthu.snv"), site["directory"][SNV], basic(recipients=recipients)
        )
        ds.issue(site, env, actor("vanthu.snv"), document)
        return document.id

    name = with_site(web.app, send)
    worker = Worker(get_database(web.app.registry), web.app.registry, worker_id="w1")
    try:
        worker.run(threading.Event(), once=True)
    finally:
        worker.close()
    sends = [c for c in sim.calls if c[0] == "/sendEdoc" and c[1] == "hub-a"]
    assert sends == [("/sendEdoc", "hub-a", "OK")]  # one package, both axis recipients
    [item] = [i for i in sim.items("hub-b") if i["messageType"] == "edoc"]
    assert sorted(item["to"]) == sorted([B_DEPT, B_OTHER])  # never the unit this hub serves itself
    found = with_site(
        web.app,
        lambda site: {
            c: (d.state, d.remote_reference) for c, d in site["documents"][name].deliveries.items()
        },
    )
    assert found[B_DEPT] == found[B_OTHER] == ("01", item["senderDocId"])
    assert found["000.00.12.H49"][0] == "01" and not found["000.00.12.H49"][1]


def test_the_bench_destination_is_an_axis_that_takes_the_senders_packages(tmp_path):
    from lienthong.core.transports import Delivered, OutboundMessage
    from lienthong.plugins.vxp.adapter import VxpAdapter

    destination = VxpAdapter().bench_destination(str(tmp_path), [(SNV, "Sở Nội vụ")])
    try:
        adapter = VxpAdapter()
        adapter.configure(destination.sender_settings)
        assert adapter.centre_poll_seconds == 3600.0  # the figure is the send, not the poll
        sent = adapter.deliver(
            OutboundMessage("k", "document", "d", destination.units[0], SNV, PACKAGE), None
        )
        assert isinstance(sent, Delivered) and sent.reference
        [item] = destination.simulator.items("bench-ministry")
        assert item["to"] == [destination.units[0]]
    finally:
        destination.stop()


def run_bench(tmp_path, kind, *args):
    """``lienthong bench ARGS`` in a process of its own: (the finished process, latest-KIND.json)."""
    import json
    import subprocess

    from .support import cli

    result = subprocess.run(
        [cli.LIENTHONG, "bench", *args, "--out", str(tmp_path / "bench")],
        capture_output=True,
        text=True,
        env=cli.clean_env(),
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads((tmp_path / "bench" / f"latest-{kind}.json").read_text())


def test_bench_queue_via_the_axis_times_the_send_and_the_receiving_hubs_half(tmp_path):
    """``lienthong bench --queue N --queue-via vxp``: the sending hub's workers drain to the
    simulated axis; then a receiving hub's workers (centre ``bench-ministry``) take every
    document in through its inbound door, timed to its last acknowledgement and status back."""
    result, report = run_bench(tmp_path, "queue", "--queue", "30", "--queue-via", "vxp")
    rates = report["per_second"]
    assert set(rates) == {
        "raw_send",
        "drain_1_worker",
        "drain_2_workers",
        "receive_1_worker",
        "receive_2_workers",
    }
    assert all(v > 0 for v in rates.values())
    targets = report["targets"]
    for name in ("drain_1_worker", "drain_2_workers", "receive_1_worker", "receive_2_workers"):
        assert targets[f"{name}_per_second"]["target"] == ">= 100"  # the axis's own target, 1 and 2 workers
    assert "receive_2_workers" in result.stdout


def test_bench_directory_syncs_the_axis_directory_and_times_every_search(tmp_path):
    from lienthong.core.bench import directory as bench_directory

    result, report = run_bench(tmp_path, "directory", "--directory", "1500")
    figures = report["figures"]
    assert report["agencies"] == 1500 and figures["full_sync_rows"] == 1500 and figures["units"] >= 1500
    assert figures["incremental_sync_rows"] == bench_directory.CHANGED  # only what changed
    for name in ("service_find", "service_picker", "http_directory_page", "api_organizations", "http_picker"):
        runs = bench_directory.ROUNDS * len(bench_directory.QUERIES)
        assert figures[name]["runs"] == runs and figures[name]["p95_ms"] > 0
        assert isinstance(figures[name]["met"], bool)
    assert figures["waitress_hello"]["p95_ms"] > 0  # the baseline of the same run
    assert "full sync" in result.stdout and "http_picker p50 / p95" in result.stdout
