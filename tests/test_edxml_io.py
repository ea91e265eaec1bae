"""edXML export and import through the services (R3.3): round trip, statuses, refusals that store nothing."""

import io
import os

import pytest

from lienthong.core import edxml
from lienthong.core.errors import Conflict, Forbidden, ServiceError
from lienthong.core.services import attachments, deliveries, documents as ds, edxml_io

from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, VUNGTAU, Hub, actor, basic, hub, pdf_file  # noqa: F401

CORPUS = os.path.join(os.path.dirname(__file__), "data", "edxml", "invalid")


def issue_full(h):
    def run(site):
        data = basic(
            to_places=["Như trên", "Lưu: VT"],
            priority=2,
            steering_type=1,
            due_date="2026-12-31",
            promulgation_amount=5,
            page_amount=3,
            appendixes=["Phụ lục I"],
            sphere_of_promulgation="Toàn tỉnh",
            signer_competence="KT. GIÁM ĐỐC",
            promulgation_place="Bà Rịa – Vũng Tàu",
            response_for=[
                {
                    "organ_id": STTTT,
                    "code": "12/STTTT-VP",
                    "promulgation_date": "2026-11-01",
                    "document_id": "abc",
                }
            ],
        )
        doc = ds.compose(
            site,
            h.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            data,
            [
                ("quyet-dinh.pdf", pdf_file("một"), "Quyết định"),
                ("phu-luc.txt", io.BytesIO("Phụ lục: danh sách đơn vị".encode()), "Phụ lục"),
            ],
        )
        ds.issue(site, h.env, actor("vanthu.snv"), doc)
        return doc.id, edxml_io.export_document(site, h.env, doc, actor("vanthu.snv"))

    return h.tx(run)


def import_into(h, package, who="vanthu.snv", unit=SNV):
    return h.tx(
        lambda site: (
            edxml_io.import_package(site, h.env, actor(who), site["directory"][unit], io.BytesIO(package)).id
        )
    )


def test_export_then_import_into_another_hub_keeps_every_field(demo_factory):
    a, b = Hub(demo_factory()), Hub(demo_factory())
    doc_id, package = issue_full(a)
    imported = import_into(b, package)

    def meta_and_files(h, name):
        def read(site):
            doc = site["documents"][name]
            files = {
                n: attachments.open_attachment(site, h.env, doc.attachments[n]).read()
                for n in doc.attachments.keys()
            }
            return edxml_io.document_meta(doc), files, doc

        return h.tx(lambda site: read(site)[:2])

    meta_a, files_a = meta_and_files(a, doc_id)
    meta_b, files_b = meta_and_files(b, imported)
    assert meta_a == meta_b
    assert files_a == files_b and set(files_a) == {"quyet-dinh.pdf", "phu-luc.txt"}
    assert meta_b["code_number"] == "1" and meta_b["to_places"] == ["Như trên", "Lưu: VT"]
    # …and it was delivered on the second hub like any other document
    assert b.tx(lambda site: site["documents"][imported].delivery_for(VUNGTAU).state) == "01"
    assert (
        b.tx(lambda site: [e["action"] for e in site["audit"].iter_entries()]).count("document.import") == 1
    )
    assert (
        a.tx(lambda site: [e["action"] for e in site["audit"].iter_entries()]).count("document.export") == 1
    )


def test_the_same_package_twice_is_stored_once(demo_factory):
    a, b = Hub(demo_factory()), Hub(demo_factory())
    _doc_id, package = issue_full(a)
    import_into(b, package)
    with pytest.raises(Conflict, match="already on the hub"):
        import_into(b, package)
    assert b.tx(lambda site: len(site["documents"])) == 1


def test_a_package_for_another_sender_is_refused(demo_factory):
    a, b = Hub(demo_factory()), Hub(demo_factory())
    _doc_id, package = issue_full(a)
    with pytest.raises(Forbidden, match="you may send for"):
        import_into(b, package, who="vanthu.vungtau", unit=VUNGTAU)
    assert b.tx(lambda site: len(site["documents"])) == 0


def test_status_export_reflects_the_delivery(hub):
    doc_id, _package = issue_full(hub)
    hub.tx(
        lambda site: deliveries.act(
            site,
            hub.env,
            actor("vanthu.vungtau"),
            site["documents"][doc_id].delivery_for(VUNGTAU),
            "refuse",
            reason="Sai địa chỉ",
        )
    )
    status = edxml.parse_status(
        hub.tx(
            lambda site: edxml_io.export_status(
                site, hub.env, site["documents"][doc_id].delivery_for(VUNGTAU)
            )
        )
    )
    assert status["status_code"] == "02" and status["description"] == "Sai địa chỉ"
    assert status["response_for"]["document_id"] == doc_id and status["from"]["organ_id"] == VUNGTAU


def invalid_packages():
    if not os.path.isdir(CORPUS):
        return []
    return sorted(os.listdir(CORPUS))


@pytest.mark.parametrize("name", invalid_packages())
def test_every_invalid_package_of_the_corpus_is_refused_and_nothing_stored(hub, name):
    with open(os.path.join(CORPUS, name), "rb") as f:
        package = f.read()
    before = hub.tx(lambda site: (len(site["documents"]), len(list(site["audit"].iter_entries()))))
    with pytest.raises(ServiceError) as refused:
        import_into(hub, package)
    assert refused.value.status == 400 and refused.value.text()
    assert hub.tx(lambda site: len(site["documents"])) == before[0]


def test_an_unknown_recipient_is_refused_and_nothing_stored(demo_factory):
    a, b = Hub(demo_factory()), Hub(demo_factory())
    _doc_id, package = issue_full(a)
    package = package.replace(VUNGTAU.encode(), b"999.99.99.H49")
    with pytest.raises(ServiceError, match="Unknown unit"):
        import_into(b, package)
    assert b.tx(lambda site: len(site["documents"])) == 0
