"""The inbound service (R3.3, R4, R11): packages and statuses from eOffice products, however they came.

Each test runs on a fresh demo site. Refusals are checked for their status and field, that
nothing was stored, and that the refusal is on the audit record although the transaction
that carried the message was aborted.
"""

import io
import os
import uuid

import pytest

from lienthong.core import edxml
from lienthong.core.errors import Conflict, Forbidden, NotFound, ServiceError
from lienthong.core.services import edxml_pull, inbound

from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import NOT_CONNECTED, PDF, SNV, STTTT, VUNGTAU, Hub, hub  # noqa: F401

UNKNOWN = "999.99.99.H49"


def make_package(
    sender=SNV,
    to=(STTTT, VUNGTAU),
    document_id=None,
    subject="Kế hoạch chuyển đổi số năm 2026",
    number="15",
    files=None,
):
    """An edXML package as an eOffice product would make it (numbered and dated at its source)."""
    meta = {
        "document_id": document_id or uuid.uuid4().hex,
        "from": {"organ_id": sender, "organ_name": "Đơn vị gửi"},
        "to": [{"organ_id": code, "organ_name": ""} for code in to],
        "code_number": number,
        "code_notation": "QĐ-SNV",
        "promulgation_date": "2026-03-02",
        "promulgation_place": "Bà Rịa – Vũng Tàu",
        "doc_type": "QD",
        "doc_type_name": "Quyết định",
        "subject": subject,
        "signer_name": "Hoàng Đức Thắng",
        "signer_position": "Phó Giám đốc",
        "trace": [{"organ_id": sender, "timestamp": "2026-03-02T09:00:00+07:00"}],
    }
    files = files if files is not None else [("quyet-dinh.pdf", PDF + b"% one\n")]
    return edxml.build_document(
        meta,
        [
            ({"name": name, "content_type": "application/pdf", "description": ""}, io.BytesIO(content))
            for name, content in files
        ],
    ), meta["document_id"]


def tamper(package):
    """``package`` with one base64 character of its first attachment changed after it was digested."""
    at = package.index(b"<ContentTransferEncoded>") + len(b"<ContentTransferEncoded>") + 40
    new = b"B" if package[at : at + 1] != b"B" else b"C"
    return package[:at] + new + package[at + 1 :]


def make_status(
    document_id,
    sender,
    reporter,
    code,
    description="",
    timestamp="2026-03-03T10:00:00+07:00",
    notation="15/QĐ-SNV",
):
    return edxml.build_status(
        {
            "response_for": {
                "organ_id": sender,
                "code": notation,
                "promulgation_date": "2026-03-02",
                "document_id": document_id,
            },
            "from": {"organ_id": reporter, "organ_name": ""},
            "status_code": code,
            "description": description,
            "timestamp": timestamp,
            "staff_info": {"staff": "Nguyễn Văn A", "department": "Văn phòng"},
        }
    )


def receive(h, data, unit=SNV, via="test", deliver_to=None):
    def run(site):
        document, created = inbound.receive_package(site, h.env, unit, data, via, deliver_to=deliver_to)
        return document.id, created

    return h.tx(run)


def status(h, data, unit, via="test", recipient=None):
    def run(site):
        deliveries, applied = inbound.apply_status(site, h.env, unit, data, via, recipient=recipient)
        return [(d.key, d.state) for d in deliveries], applied

    return h.tx(run)


def entries(h, action=None):
    return h.tx(
        lambda site: [e for e in site["audit"].iter_entries() if action is None or e["action"] == action]
    )


def count_documents(h):
    return h.tx(lambda site: len(site["documents"]))


def refused(h, call, error, field=None):
    """``call`` raises ``error``; nothing is stored; the refusal is on the record."""
    before_docs, before_refusals = count_documents(h), len(entries(h, "edxml.refuse"))
    with pytest.raises(error) as info:
        call()
    assert info.value.text()
    if field is not None:
        assert info.value.field == field, info.value.field
    assert count_documents(h) == before_docs
    after = entries(h, "edxml.refuse")
    assert len(after) == before_refusals + 1
    assert after[-1]["details"]["reason"] == info.value.text() and after[-1]["details"]["via"] == "test"
    return info.value


# -- packages -----------------------------------------------------------------------------------
def test_a_package_is_sent_for_its_unit_delivered_and_listed_for_pulling_products(hub):
    package, document_id = make_package()
    name, created = receive(hub, package)
    assert created

    def check(site):
        document = site["documents"][name]
        assert document.document_id == document_id and document.sender_code == SNV
        assert document.notation == "15/QĐ-SNV" and document.origin == "edxml" and document.is_issued()
        assert [(d.key, d.state) for d in document.deliveries.values()] == [(STTTT, "01"), (VUNGTAU, "01")]
        assert [d.document.id for _key, d in edxml_pull.pending(site, STTTT)] == [name]
        assert edxml_pull.pending_count(site, VUNGTAU) == 1

    hub.tx(check)
    entry = entries(hub, "edxml.receive")[-1]
    assert entry["actor"] == f"system:{SNV}" and entry["details"]["via"] == "test"
    assert entry["details"]["recipients"] == [STTTT, VUNGTAU] and entry["target"] == f"/documents/{name}"


def test_the_same_package_twice_is_stored_once_and_a_different_one_is_a_recorded_conflict(hub):
    package, document_id = make_package()
    name, created = receive(hub, package)
    again, created_again = receive(hub, package)
    assert (again, created_again) == (name, False)
    assert count_documents(hub) == 1
    assert hub.tx(lambda site: edxml_pull.pending_count(site, STTTT)) == 1
    repeat = entries(hub, "edxml.receive")[-1]["details"]
    assert repeat["duplicate"] is True and repeat["identical"] is True
    # the same DocumentId with other content: still "already received", but on the record as a conflict
    changed, _ = make_package(document_id=document_id, subject="Một nội dung khác")
    assert receive(hub, changed) == (name, False)
    assert count_documents(hub) == 1
    assert entries(hub, "edxml.receive")[-1]["details"]["identical"] is False
    assert entries(hub, "edxml.conflict")[-1]["details"]["document_id"] == document_id
    # another unit's document with the same DocumentId is its own (a document is known by
    # sender and DocumentId: the field's products do reuse ids)
    other, _ = make_package(sender=VUNGTAU, to=(STTTT,), document_id=document_id)
    theirs, created = receive(hub, other, unit=VUNGTAU)
    assert created and theirs != name
    assert count_documents(hub) == 2


def test_a_package_from_another_unit_is_refused(hub):
    package, _ = make_package(sender=VUNGTAU, to=(STTTT,))
    error = refused(hub, lambda: receive(hub, package, unit=SNV), Forbidden, "From/OrganId")
    assert VUNGTAU in error.text()
    assert entries(hub, "edxml.refuse")[-1]["actor"] == f"system:{SNV}"


def test_recipients_must_be_known_active_and_connected(hub):
    package, _ = make_package(to=(STTTT, UNKNOWN))
    error = refused(hub, lambda: receive(hub, package), ServiceError, "MessageHeader/To/OrganId")
    assert error.status == 400 and UNKNOWN in error.text()
    package, _ = make_package(to=(STTTT, NOT_CONNECTED))
    error = refused(hub, lambda: receive(hub, package), Forbidden, "MessageHeader/To/OrganId")
    assert "not connected" in error.text()

    def dissolve(site):
        site["directory"][VUNGTAU].status = "dissolved"

    hub.tx(dissolve)
    package, _ = make_package(to=(STTTT, VUNGTAU))
    assert "dissolved" in refused(hub, lambda: receive(hub, package), Forbidden).text()
    assert hub.tx(lambda site: edxml_pull.pending_count(site, STTTT)) == 0


def test_a_relayed_package_is_delivered_to_the_units_hosted_here_only(hub):
    package, _ = make_package(to=(STTTT, UNKNOWN))  # the unknown unit is hosted by the peer
    name, created = receive(hub, package, deliver_to={STTTT, VUNGTAU})
    assert created
    assert hub.tx(lambda site: list(site["documents"][name].deliveries.keys())) == [STTTT]
    assert hub.tx(lambda site: [t["organ_id"] for t in site["documents"][name].meta["to"]]) == [
        STTTT,
        UNKNOWN,
    ]
    package, _ = make_package(to=(UNKNOWN,))
    refused(hub, lambda: receive(hub, package, deliver_to={STTTT}), Forbidden, "MessageHeader/To/OrganId")


def test_broken_and_oversize_packages_are_refused(demo_factory):
    h = Hub(demo_factory(**{"lienthong.edxml.max_bytes": "8000"}))
    error = refused(h, lambda: receive(h, b"<edXMLEnvelope/>"), ServiceError)
    assert error.status == 400 and "root must be edXML (or edXMLEnvelope)" in error.text()
    cut = b'<edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">'
    error = refused(h, lambda: receive(h, cut), ServiceError)
    assert error.status == 400 and "well-formed" in error.text()
    package, _ = make_package()
    tampered = tamper(package)
    assert tampered != package
    error = refused(h, lambda: receive(h, tampered), ServiceError, "edXMLManifest/Reference/Digest")
    assert error.status == 400
    big, _ = make_package(files=[("a.pdf", PDF + b"%" + os.urandom(9000) + b"\n")])
    assert refused(h, lambda: receive(h, big), inbound.TooLarge).status == 413


# -- statuses -----------------------------------------------------------------------------------
def test_recipient_statuses_move_the_delivery_once_each(hub):
    package, document_id = make_package()
    name, _ = receive(hub, package)
    accepted = make_status(document_id, SNV, STTTT, "03", timestamp="2026-03-03T10:00:00+07:00")
    assert status(hub, accepted, STTTT) == ([(STTTT, "03")], True)
    assert status(hub, accepted, STTTT) == ([(STTTT, "03")], False)  # the same status again: once
    for code, minute in (("04", 1), ("05", 2), ("06", 3)):
        stamp = f"2026-03-03T10:0{minute}:00+07:00"
        assert status(hub, make_status(document_id, SNV, STTTT, code, timestamp=stamp), STTTT)[1] is True

    def check(site):
        delivery = site["documents"][name].delivery_for(STTTT)
        assert delivery.state == "06" and delivery.register_number == 1 and delivery.completed_at
        states = [(e["state"], e["actor"], e.get("via"), e.get("reported_at")) for e in delivery.history]
        assert states[1] == ("03", f"system:{STTTT}", "test", "2026-03-03T10:00:00+07:00")
        assert delivery.history[1]["staff"] == "Nguyễn Văn A — Văn phòng"

    hub.tx(check)
    applied = [e["details"]["applied"] for e in entries(hub, "edxml.status")]
    assert applied == [True, False, True, True, True]
    # the sender's feed has every state its documents' deliveries went through
    feed = hub.tx(
        lambda site: [(e["delivery"], e["state"]) for _k, e in edxml_pull.statuses(site, SNV, limit=100)]
    )
    assert feed == [
        (STTTT, "01"),
        (VUNGTAU, "01"),
        (STTTT, "03"),
        (STTTT, "04"),
        (STTTT, "05"),
        (STTTT, "06"),
    ]


def test_illegal_and_unauthorized_statuses_are_refused(hub):
    package, document_id = make_package()
    receive(hub, package)
    completed = make_status(document_id, SNV, STTTT, "06")
    error = refused(hub, lambda: status(hub, completed, STTTT), Conflict, "action")
    assert "arrived" in error.text()
    # a refusal needs its reason
    refused(
        hub,
        lambda: status(hub, make_status(document_id, SNV, STTTT, "02"), STTTT),
        ServiceError,
        "MessageHeader/Description",
    )
    # a status that claims to be from another unit
    refused(
        hub,
        lambda: status(hub, make_status(document_id, SNV, VUNGTAU, "03"), STTTT),
        Forbidden,
        "MessageHeader/From/OrganId",
    )
    # a unit the document was neither sent to nor by
    refused(
        hub,
        lambda: status(hub, make_status(document_id, SNV, "000.00.03.H49", "03"), "000.00.03.H49"),
        NotFound,
        "MessageHeader/ResponseFor/DocumentId",
    )
    refused(hub, lambda: status(hub, make_status(uuid.uuid4().hex, SNV, STTTT, "03"), STTTT), NotFound)
    # only the sender recalls; the sender reports no recipient's status
    refused(hub, lambda: status(hub, make_status(document_id, SNV, STTTT, "13", "Nhầm"), STTTT), Forbidden)
    refused(
        hub,
        lambda: status(hub, make_status(document_id, SNV, SNV, "03"), SNV),
        Forbidden,
        "MessageHeader/StatusCode",
    )
    refused(hub, lambda: status(hub, b"<not-a-status/>", STTTT), ServiceError)
    assert (
        hub.tx(
            lambda site: site["documents"][site["documents"].name_for(document_id)].delivery_for(STTTT).state
        )
        == "01"
    )


def test_the_senders_product_recalls_and_the_recipients_product_answers(hub):
    package, document_id = make_package()
    name, _ = receive(hub, package)
    status(hub, make_status(document_id, SNV, VUNGTAU, "03"), VUNGTAU)
    recall = make_status(document_id, SNV, SNV, "13", "Gửi nhầm", timestamp="2026-03-04T08:00:00+07:00")
    assert status(hub, recall, SNV) == ([(STTTT, "13"), (VUNGTAU, "13")], True)
    assert status(hub, recall, SNV) == ([(STTTT, "13"), (VUNGTAU, "13")], False)
    assert status(hub, make_status(document_id, SNV, STTTT, "15"), STTTT) == ([(STTTT, "15")], True)
    assert status(hub, make_status(document_id, SNV, VUNGTAU, "16", "Đã xử lý"), VUNGTAU) == (
        [(VUNGTAU, "03")],
        True,
    )
    # nothing left to recall: a clear conflict
    again = make_status(document_id, SNV, SNV, "13", "Lần nữa", timestamp="2026-03-05T08:00:00+07:00")
    refused(hub, lambda: status(hub, again, SNV, recipient=STTTT), Conflict)
    assert hub.tx(lambda site: site["documents"][name].delivery_for(STTTT).state) == "15"


def test_a_delivery_queued_for_an_adapter_arrives_by_the_products_status(hub):
    def to_adapter(site):
        site["directory"][VUNGTAU].adapter = "edxml_push"

    hub.tx(to_adapter)
    package, document_id = make_package()
    name, _ = receive(hub, package)
    assert hub.tx(lambda site: site["documents"][name].delivery_for(VUNGTAU).state) == ""
    assert hub.tx(lambda site: edxml_pull.pending_count(site, VUNGTAU)) == 0  # pushed, never listed
    arrived = make_status(document_id, SNV, VUNGTAU, "01")
    assert status(hub, arrived, VUNGTAU) == ([(VUNGTAU, "01")], True)
    assert status(hub, arrived, VUNGTAU) == ([(VUNGTAU, "01")], False)
    assert hub.tx(lambda site: edxml_pull.pending_count(site, VUNGTAU)) == 0


def test_a_package_is_registered_here_only_for_a_unit_whose_mail_the_hub_keeps(hub):
    """A unit whose mail is on the hub has its outgoing register here; a unit served by an adapter
    (its eOffice product, a peer hub) keeps its own, so an imported package takes no number here."""

    def outgoing(site, code):
        register = site["directory"][code]["registers"].get_register(
            hub.env.today().year, "out", create=False
        )
        return [] if register is None else [e["document"] for e in register.rows()]

    name, _created = receive(hub, make_package()[0])
    assert hub.tx(lambda site: outgoing(site, SNV)) == [name]
    assert hub.tx(lambda site: site["documents"][name].register_number) == 1

    def serve_by_adapter(site):
        site["directory"][SNV].adapter = "hotfolder"

    hub.tx(serve_by_adapter)
    other, _created = receive(hub, make_package()[0])
    assert hub.tx(lambda site: outgoing(site, SNV)) == [name]  # no second entry
    assert hub.tx(
        lambda site: (site["documents"][other].register_number, site["documents"][other].notation)
    ) == (None, "15/QĐ-SNV")


def test_only_a_unit_that_names_its_eoffice_product_gets_a_pending_list(hub):
    """A unit working on the hub's own pages has no product to acknowledge anything: nothing is
    listed for it (its list would only grow); once its entry names a product, new arrivals are."""

    def set_product(product):
        def run(site):
            site["directory"][VUNGTAU].eoffice_product = product

        hub.tx(run)

    set_product("")
    first, _created = receive(hub, make_package()[0])
    assert hub.tx(lambda site: edxml_pull.pending_count(site, VUNGTAU)) == 0
    assert hub.tx(lambda site: edxml_pull.pending_count(site, STTTT)) == 1  # STTTT names its product
    set_product("VNPT-iOffice")
    second, _created = receive(hub, make_package()[0])
    assert hub.tx(lambda site: [d.document.id for _key, d in edxml_pull.pending(site, VUNGTAU)]) == [second]
    # the same for the statuses of what a unit sent: no feed for a unit without a product
    feeds = hub.tx(lambda site: set(getattr(site["transport"], "edxml_statuses", {}).keys()))
    assert SNV in feeds  # SNV names its product: its feed is kept
    hub.tx(lambda site: setattr(site["directory"][SNV], "eoffice_product", ""))
    before = hub.tx(lambda site: len(edxml_pull.statuses(site, SNV, limit=1000)))
    receive(hub, make_package()[0])
    assert hub.tx(lambda site: len(edxml_pull.statuses(site, SNV, limit=1000))) == before
