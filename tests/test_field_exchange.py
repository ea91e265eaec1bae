"""The field's real packages through the hub's one door (R3.3, R4): imported, applied, answered.

The national axis SDK's set (vdxp-sdk-2022) and a package a product downloaded back from
the axis (vdxp-received/2019-04, the "new" its update, replacement and revocation follow)
name units of the Government Office (000.00.00.G22) and provinces; the test directory
gets them as connected units. Samples are read in place from ../shared (skip without it,
fail under LIENTHONG_REQUIRE_ALL=1).
"""

import os

import pytest

from lienthong.core.errors import Conflict
from lienthong.core.resources.directory import OFFICIAL, Organization
from lienthong.core.services import inbound

from .support.app import need
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import Hub
from .test_field_samples import SAMPLES

VPCP, NGHE_AN, HA_TINH, BO_GIAO_DUC = "000.00.00.G22", "000.00.00.H41", "000.00.00.H14", "000.00.00.G17"
NEW = "vdxp-received/2019-04_dc0bdef0-c7a3-4aaf-b717-777303442973.edxml"
DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"


def sample(name):
    path = os.path.join(SAMPLES, name)
    need("the field's edXML samples (../shared/interop/edxml-samples)", os.path.exists(path))
    with open(path, "rb") as f:
        return f.read()


@pytest.fixture
def field_hub(demo_factory):  # noqa: F811
    hub = Hub(demo_factory())

    def add(site):
        for code, name in (
            (VPCP, "Văn phòng Chính phủ"),
            (NGHE_AN, "UBND tỉnh Nghệ An"),
            (HA_TINH, "UBND tỉnh Hà Tĩnh"),
            (BO_GIAO_DUC, "Bộ Giáo dục và Đào tạo"),
        ):
            unit = Organization(code, name)
            unit.connection_state = OFFICIAL
            site["directory"].add(code, unit)

    hub.tx(add)
    return hub


def receive(hub, data, unit=VPCP):
    def run(site):
        receipt = inbound.receive(site, hub.env, unit, data, "test")
        return receipt.document.id, receipt.created, receipt.identical, [d.key for d in receipt.revoked]

    return hub.tx(run)


def status(hub, data, unit):
    def run(site):
        moved, applied = inbound.apply_status(site, hub.env, unit, data, "test")
        return [(d.document.id, d.key, d.state) for d in moved], applied

    return hub.tx(run)


def facts(hub, name):
    def run(site):
        document = site["documents"][name]
        return {
            "business": document.business_doc_type,
            "deliveries": {d.key: d.state for d in document.deliveries.values()},
            "revoked": {d.key for d in document.deliveries.values() if d.revoked_at},
            "superseded": {d.key: d.superseded_by for d in document.deliveries.values() if d.superseded_by},
            "links": [link["business_doc_type"] for link in document.links],
            "attachments": [(a.name, a.mime_type) for a in document.attachments.values()],
        }

    return hub.tx(run)


def test_new_update_replacement_revocation_applied_in_order(field_hub):
    new, created, _, _ = receive(field_hub, sample(NEW))
    assert created
    first = facts(field_hub, new)
    assert first["deliveries"] == {NGHE_AN: "01", HA_TINH: "01", BO_GIAO_DUC: "01"}
    # the zip's inner edXML is kept as a file under the package's name, never imported
    assert first["attachments"] == [("1896_QD-TTg_m_294779.doc", "application/xml")]
    # the same package twice: one document, a success
    assert receive(field_hub, sample(NEW))[:3] == (new, False, True)
    # the update reuses the DocumentId: not a duplicate; it goes to its ReceiverList
    update, created, _, _ = receive(field_hub, sample("vdxp-sdk-2022/edoc_update.edxml"))
    assert created and update != new
    assert facts(field_hub, update)["deliveries"] == {NGHE_AN: "01", HA_TINH: "01"}
    assert facts(field_hub, new)["links"] == [2]
    replacement, created, _, _ = receive(field_hub, sample("vdxp-sdk-2022/edoc_replacement.edxml"))
    assert created and replacement not in (new, update)
    assert facts(field_hub, replacement)["business"] == 3
    # revocation: every copy of the sender's documents with that id withdrawn at the named units
    revoked_from, created, _, revoked = receive(field_hub, sample("vdxp-sdk-2022/edoc_revocation.edxml"))
    assert created and sorted(revoked) == sorted([NGHE_AN, HA_TINH, BO_GIAO_DUC] * 2 + [NGHE_AN, HA_TINH])
    after = facts(field_hub, new)
    assert after["revoked"] == {NGHE_AN, HA_TINH, BO_GIAO_DUC}
    assert set(after["deliveries"].values()) == {"13"}  # asked back; the recipient answers 15 or 16
    assert after["links"][-1] == 1
    # the same revocation again is a success that changes nothing
    assert receive(field_hub, sample("vdxp-sdk-2022/edoc_revocation.edxml"))[1:] == (False, True, [])
    # a recipient agrees: the copy stays on the record, its files are not readable any more
    moved, applied = status(field_hub, sample("vdxp-sdk-2022/status_change-acceptance_15.edxml"), NGHE_AN)
    assert applied and moved[0][1:] == (NGHE_AN, "15")
    assert may_read_files(field_hub, new, NGHE_AN) is False


def test_files_are_withdrawn_from_a_revoked_recipient_only(field_hub):
    new, _, _, _ = receive(field_hub, sample(NEW))
    assert may_read_files(field_hub, new, NGHE_AN) is True
    receive(field_hub, sample("vdxp-sdk-2022/edoc_revocation.edxml"))
    assert may_read_files(field_hub, new, NGHE_AN) is False
    assert may_read_files(field_hub, new, VPCP) is True  # the sender keeps its own


def may_read_files(hub, name, code):
    """Whether the clerk of unit ``code`` may read the document's first attachment (the resource ACL)."""
    from pyramid.authorization import ACLHelper

    from lienthong.core import permissions as sec

    def run(site):
        attachment = next(iter(site["documents"][name].attachments.values()))
        principals = ["system.Everyone", "system.Authenticated", sec.unit_role(sec.CLERK, code)]
        return bool(ACLHelper().permits(attachment, principals, sec.READ_MAILBOX))

    return hub.tx(run)


def test_a_replacement_supersedes_the_named_documents_for_the_named_units(field_hub, demo_factory):  # noqa: F811
    replaced = sample(NEW).replace(DOCUMENT_ID.encode(), "000.00.00.G22,2014/01/30,7806/VPCP-TTĐT".encode())
    old, created, _, _ = receive(field_hub, replaced)
    assert created
    replacement, _, _, _ = receive(field_hub, sample("vdxp-sdk-2022/edoc_replacement.edxml"))
    assert facts(field_hub, old)["superseded"] == {NGHE_AN: replacement, HA_TINH: replacement}


def test_the_sdk_statuses_move_the_delivery_they_answer(field_hub):
    new, _, _, _ = receive(field_hub, sample(NEW))
    steps = [
        ("status_inbox_01", False, "01"),  # arrived already: known, not applied twice
        ("status_acceptance_03", True, "03"),
        ("status_assignment_04", True, "04"),
        ("status_processing_05", True, "05"),
        ("status_finish_06", True, "06"),
    ]
    for name, applied_now, state in steps:
        moved, applied = status(field_hub, sample(f"vdxp-sdk-2022/{name}.edxml"), NGHE_AN)
        assert (applied, moved) == (applied_now, [(new, NGHE_AN, state)]), name
    # the same status again is applied once
    assert status(field_hub, sample("vdxp-sdk-2022/status_finish_06.edxml"), NGHE_AN)[1] is False


def test_refusal(field_hub):
    new, _, _, _ = receive(field_hub, sample(NEW))
    moved, _ = status(field_hub, sample("vdxp-sdk-2022/status_rejection_02.edxml"), NGHE_AN)
    assert moved == [(new, NGHE_AN, "02")]
    # a refused copy cannot be asked back: a clear conflict naming its state
    with pytest.raises(Conflict, match="refused"):
        status(field_hub, sample("vdxp-sdk-2022/status_cancellation_13.edxml"), VPCP)


def test_cancellation_and_its_refusal(field_hub):
    new, _, _, _ = receive(field_hub, sample(NEW))
    # the sender's 13 names the unit it asks in ResponseFor/OrganId: only that copy moves
    moved, applied = status(field_hub, sample("vdxp-sdk-2022/status_cancellation_13.edxml"), VPCP)
    assert (applied, moved) == (True, [(new, NGHE_AN, "13")])
    assert facts(field_hub, new)["deliveries"] == {NGHE_AN: "13", HA_TINH: "01", BO_GIAO_DUC: "01"}
    # Nghe An refuses to give it back: its copy returns to where it was
    moved, applied = status(field_hub, sample("vdxp-sdk-2022/status_change-rejection_16.edxml"), NGHE_AN)
    assert applied and moved == [(new, NGHE_AN, "01")]


def test_a_status_for_a_document_the_hub_never_carried_is_refused_with_its_reason(field_hub):
    from lienthong.core.errors import NotFound

    with pytest.raises(NotFound) as info:
        status(field_hub, sample("vdxp-sdk-2022/status_acceptance_03.edxml"), NGHE_AN)
    assert info.value.field == "MessageHeader/ResponseFor/DocumentId"
    assert "not kept for one that may come later" in info.value.text()


@pytest.mark.parametrize(
    "name",
    [
        "vdxp-received/2025-10_874e0f18-90dc-45fb-989a-65401470ba84.edxml",
        "vdxp-received/2025-10_9e272474-0603-48a2-b525-9cd1af689612.edxml",
        "thirdparty-built/1da394ba-2117-4354-a23f-6ec3e47ba81b.edxml",
        "vdxp-received/2019-05_852e179c-8eca-4502-ac38-0b97321f29c3.edxml",
        "bkav-edoc/edoc_new.edxml",
    ],
)
def test_packages_of_other_systems_import_with_their_remote_codes(demo_factory, name):  # noqa: F811
    hub = Hub(demo_factory())
    data = sample(name)
    from lienthong.core import edxml

    meta = edxml.parse_document(data)
    for attachment in meta["attachments"]:
        attachment["file"].close()
    codes = [meta["from"]["organ_id"]] + [t["organ_id"] for t in meta["to"]]

    def add(site):
        for code in dict.fromkeys(codes):
            unit = Organization(code, f"Đơn vị {code}")
            unit.connection_state = OFFICIAL
            site["directory"].add(code, unit)

    hub.tx(add)
    document, created, _, _ = receive(hub, data, unit=meta["from"]["organ_id"])
    assert created
    got = facts(hub, document)
    assert [a[0] for a in got["attachments"]] == [a["name"] for a in meta["attachments"]]
    assert receive(hub, data, unit=meta["from"]["organ_id"])[:3] == (document, False, True)


def test_a_placeholder_signature_never_blocks_and_never_shows_as_valid(field_hub):
    new, created, _, _ = receive(field_hub, sample(NEW))
    assert created
    reports = field_hub.tx(lambda site: list(site["documents"][new].envelope_signatures))
    assert [r["badge"] for r in reports] == ["unverifiable"]
    assert "placeholder" in reports[0]["reason"]


def test_the_recipient_clerk_reads_a_field_package_in_vietnamese(field_hub):
    """What a clerk of the recipient sees: the placeholder signature as unverifiable (with why),
    the package's own DocumentId, and no "why updated" line for a new document."""
    from lienthong.core.services import accounts

    from .support.app import login
    from .support.exchange import actor

    new, _, _, _ = receive(field_hub, sample(NEW))
    field_hub.tx(
        lambda site: accounts.add_user(
            site,
            actor("admin"),
            "vanthu.nghean",
            "Văn thư Nghệ An",
            "Mat-khau-rat-manh-2026",
            unit_code=NGHE_AN,
            roles=("clerk",),
        )
    )
    web = field_hub.web
    web.reset()
    login(web, "vanthu.nghean", password="Mat-khau-rat-manh-2026")
    page = web.get(f"/documents/{new}")
    main = page.html.select_one("main")
    assert "Chữ ký không kiểm tra được" in main.text
    reason = main.select_one("#envelope-signatures .sig-reason").text
    assert "giữ chỗ" in reason and "placeholder" not in reason  # why, in Vietnamese, on the page
    assert DOCUMENT_ID in main.text
    assert "Văn bản điện tử mới" not in main.text  # the BussinessDocReason of a new document
    assert "Lý do cập nhật hoặc thay thế" not in main.text
