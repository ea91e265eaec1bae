"""A unit's registers by Decree 30 (issue 17, R3.2): what an entry holds, the page, the print
view, the CSV and the XLSX."""

import csv
import io

from lienthong.core.services import documents as ds

from .support.app import login
from .support.demo import demo_factory  # noqa: F401  (fixture)
from .support.exchange import SNV, STTTT, VUNGTAU, actor, basic, hub, pdf_file  # noqa: F401


def issue(hub, unit=SNV, who="vanthu.snv", **extra):
    def run(site):
        doc = ds.compose(
            site,
            hub.env,
            actor(who),
            site["directory"][unit],
            basic(**extra),
            [("quyet-dinh.pdf", pdf_file(), "Quyết định")],
        )
        ds.issue(site, hub.env, actor(who), doc)
        return doc.id

    return hub.tx(run)


def as_user(web, who, lang="en"):
    web.reset()
    web.set_cookie("_LOCALE_", lang)
    login(web, who)


def csv_rows(response):
    assert response.body.startswith(b"\xef\xbb\xbf") and response.content_type == "text/csv"
    return list(csv.reader(io.StringIO(response.body.decode("utf-8-sig"))))


def cell_texts(response, number):
    row = response.html.find("tr", id=f"entry-{number}")
    assert row is not None, number
    return [td.get_text(" ", strip=True) for td in row.find_all("td")]


def test_the_outgoing_register_shows_the_date_of_the_document(hub):
    """Issue 17, item 1: the entry was written before the promulgation date was set, so
    "Ngày văn bản" was "—" everywhere; it is the day of issue on the page, in print and in CSV."""
    issue(hub)
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    entry = hub.tx(
        lambda site: dict(site["directory"][SNV]["registers"].get_register(year, "out").entries[1])
    )
    assert entry["promulgation_date"] == hub.env.today().isoformat()
    assert entry["notation"] == "1/QĐ-SNV"
    web = hub.web
    as_user(web, "vanthu.snv")
    url = f"/directory/{SNV}/registers/{year}-out"
    for response in (web.get(url), web.get(url, {"print": "1"})):
        cells = cell_texts(response, 1)
        assert today in cells and "—" not in cells, cells
    rows = csv_rows(web.get(f"{url}/export.csv"))
    column = rows[0].index("Document date")
    assert rows[1][column] == today


OUTGOING_HEADERS = [
    "Document number and notation",
    "Document date",
    "Type and summary of the document",
    "Signer",
    "Recipients of the document",
    "Unit or person keeping the file copy",
    "Number of copies",
    "Date transferred",
    "Signature on receipt",
    "Note",
]
INCOMING_HEADERS = [
    "Date of arrival",
    "Arrival number",
    "Issuing body",
    "Document number and notation",
    "Document date",
    "Type and summary of the document",
    "Unit or person receiving",
    "Date transferred",
    "Signature on receipt",
    "Note",
]


def header_texts(response):
    return [th.get_text(strip=True) for th in response.html.find("table", id="register-rows").find_all("th")]


def register_of(site, code, year, direction):
    return site["directory"][code]["registers"].get_register(year, direction, create=False)


def accept_and_assign(hub, doc_id, assignees=("chuyenvien.stttt",)):
    from lienthong.core.services import deliveries

    def run(site):
        delivery = site["documents"][doc_id].delivery_for(STTTT)
        deliveries.act(site, hub.env, actor("vanthu.stttt"), delivery, "accept")
        deliveries.act(site, hub.env, actor("lanhdao.stttt"), delivery, "assign", assignees=list(assignees))

    hub.tx(run)


def test_an_outgoing_entry_holds_annex_iv_columns_as_they_were_when_issued(hub):
    """Issue 17, item 2: the names are written at the act, so a renamed recipient or an
    edited signer never changes the register; columns in annex IV I.2's order."""
    doc_id = issue(hub, doc_type="CV", subject="Về việc báo cáo số liệu", signer_position="Giám đốc")
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    names = hub.tx(lambda site: [site["directory"][c].name for c in (STTTT, VUNGTAU)])

    def rename(site):
        site["directory"][STTTT].name = "Sở Khoa học và Công nghệ (mới)"
        site["documents"][doc_id].meta["signer_name"] = "Người khác"

    hub.tx(rename)
    web = hub.web
    as_user(web, "vanthu.snv")
    url = f"/directory/{SNV}/registers/{year}-out"
    for response in (web.get(url), web.get(url, {"print": "1"})):
        assert header_texts(response)[: len(OUTGOING_HEADERS)] == OUTGOING_HEADERS
        cells = cell_texts(response, 1)
        assert cells[:10] == [
            "1/SNV",
            today,
            "Công văn: Về việc báo cáo số liệu",
            "Giám đốc Hoàng Đức Thắng",
            "; ".join(names),
            hub.tx(lambda site: site["directory"][SNV].name),
            "",
            today,
            "",
            "",
        ], cells
    rows = csv_rows(web.get(f"{url}/export.csv"))
    assert rows[0] == OUTGOING_HEADERS + ["Document id"]
    assert rows[1][0] == "1/SNV" and rows[1][4] == "; ".join(names) and rows[1][10] == doc_id


def test_an_incoming_entry_holds_annex_iv_columns_and_the_assignment_fills_the_receiver(hub):
    doc_id = issue(hub)
    accept_and_assign(hub, doc_id)
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    snv, specialist = hub.tx(
        lambda site: (site["directory"][SNV].name, site["users"]["chuyenvien.stttt"].fullname)
    )
    entry = hub.tx(lambda site: dict(register_of(site, STTTT, year, "in").entries[1]))
    assert entry["sender_name"] == snv and entry["handled_by"] == [specialist] and entry["transferred"]
    web = hub.web
    as_user(web, "vanthu.stttt")
    url = f"/directory/{STTTT}/registers/{year}-in"
    for response in (web.get(url), web.get(url, {"print": "1"})):
        assert header_texts(response)[: len(INCOMING_HEADERS)] == INCOMING_HEADERS
        cells = cell_texts(response, 1)
        assert cells[:10] == [
            today,
            "1",
            snv,
            "1/QĐ-SNV",
            today,
            "Quyết định về việc ban hành kế hoạch chuyển đổi số năm 2026",
            specialist,
            today,
            "",
            "",
        ], cells
    rows = csv_rows(web.get(f"{url}/export.csv"))
    assert rows[0] == INCOMING_HEADERS + ["Document id"]
    assert rows[1][:4] == [today, "1", snv, "1/QĐ-SNV"] and rows[1][6] == specialist


def test_entries_written_by_earlier_versions_still_display(hub):
    """An entry of the old shape (no notation, date, signer or names): the outgoing one reads
    them from its document, the rest are empty columns; nothing fails."""
    doc_id = issue(hub)
    year = hub.env.today().year

    def old_entries(site):
        out = register_of(site, SNV, year, "out")
        document = site["documents"][doc_id]
        out.entries[1] = {
            "number": 1,
            "document": doc_id,
            "time": document.issued_at,
            "subject": document.meta["subject"],
            "doc_type": "QD",
            "recipients": [STTTT],
            "persons": [],
            "actor": "vanthu.snv",
        }
        incoming = site["directory"][STTTT]["registers"].get_register(year, "in")
        incoming.take({"time": document.issued_at, "sender": SNV, "subject": "Cũ", "actor": "vanthu.stttt"})

    hub.tx(old_entries)
    today = hub.env.today().strftime("%d/%m/%Y")
    web = hub.web
    as_user(web, "vanthu.snv")
    cells = cell_texts(web.get(f"/directory/{SNV}/registers/{year}-out"), 1)
    assert cells[:4] == ["1/QĐ-SNV", today, SUBJECT_QD, "Phó Giám đốc Hoàng Đức Thắng"] and cells[5] == ""
    as_user(web, "vanthu.stttt")
    url = f"/directory/{STTTT}/registers/{year}-in"
    cells = cell_texts(web.get(url, {"print": "1"}), 1)
    assert cells[:4] == [today, "1", hub.tx(lambda site: site["directory"][SNV].name), ""] and cells[6] == ""
    assert csv_rows(web.get(f"{url}/export.csv"))[1][5] == "Cũ"


SUBJECT_QD = "Quyết định về việc ban hành kế hoạch chuyển đổi số năm 2026"

#: the column titles of Decree 30, annex IV, I.2 and VI.2, in order
ANNEX_IV_OUTGOING = [
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Người ký",
    "Nơi nhận văn bản",
    "Đơn vị, người nhận bản lưu",
    "Số lượng bản",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]
ANNEX_IV_INCOMING = [
    "Ngày đến",
    "Số đến",
    "Tác giả",
    "Số, ký hiệu văn bản",
    "Ngày tháng văn bản",
    "Tên loại và trích yếu nội dung văn bản",
    "Đơn vị hoặc người nhận",
    "Ngày chuyển",
    "Ký nhận",
    "Ghi chú",
]


def test_in_vietnamese_the_columns_are_annex_iv_titles(hub):
    doc_id = issue(hub)
    accept_and_assign(hub, doc_id)
    year = hub.env.today().year
    web = hub.web
    for who, code, direction, titles in (
        ("vanthu.snv", SNV, "out", ANNEX_IV_OUTGOING),
        ("vanthu.stttt", STTTT, "in", ANNEX_IV_INCOMING),
    ):
        as_user(web, who, lang="vi")
        url = f"/directory/{code}/registers/{year}-{direction}"
        assert header_texts(web.get(url))[:10] == titles
        assert header_texts(web.get(url, {"print": "1"}))[:10] == titles
        assert csv_rows(web.get(f"{url}/export.csv"))[0] == titles + ["Mã văn bản"]
