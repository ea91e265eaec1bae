"""A unit's registers by Decree 30 (issue 17, R3.2): what an entry holds, the page, the print
view, the CSV and the XLSX."""

import csv
import io

from lienthong.core.services import documents as ds

from .support.app import csrf_of, login
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


def test_the_print_view_is_a_book_with_a_cover_and_numbered_pages(hub):
    """Issue 17, item 3: printed to be bound (Decree 30, art. 16.2b): a cover with the
    governing body, the unit, the title, the year, the dates and numbers; print CSS numbers
    the pages; ``from``/``to`` print one volume."""
    for _ in range(3):
        issue(hub)
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    web = hub.web
    as_user(web, "vanthu.snv", lang="vi")
    url = f"/directory/{SNV}/registers/{year}-out"
    book = web.get(url, {"print": "1"})
    cover = book.html.find(id="book-cover")
    unit, parent = hub.tx(
        lambda site: (
            site["directory"][SNV].name,
            site["directory"][site["directory"][SNV].parent_code].name
            if site["directory"][SNV].parent_code
            else "",
        )
    )
    assert cover.find(id="cover-unit").text == unit and cover.find(id="cover-parent").text == parent
    assert cover.find(id="cover-title").text == "Sổ đăng ký văn bản đi"
    assert f": {year}" in cover.find(id="cover-year").text
    assert cover.find(id="cover-numbers").text.split() == "Từ số 1 đến số 3".split()
    assert cover.find(id="cover-dates").text.split() == f"Từ ngày {today} đến ngày {today}".split()
    assert [tr["id"] for tr in book.html.find(id="register-rows").tbody.find_all("tr")] == [
        "entry-1",
        "entry-2",
        "entry-3",
    ]
    volume = web.get(url, {"print": "1", "from": "2", "to": "3", "volume": "2"})
    assert [tr["id"] for tr in volume.html.find(id="register-rows").tbody.find_all("tr")] == [
        "entry-2",
        "entry-3",
    ]
    assert volume.html.find(id="cover-numbers").text.split() == "Từ số 2 đến số 3".split()
    assert volume.html.find(id="cover-volume").text.split() == "Quyển số: 2".split()
    css = web.get("/static/lienthong.css").text
    assert "counter(page)" in css and "break-after: page" in css


def test_the_xlsx_export_has_annex_iv_columns_and_no_formula(hub):
    """Issue 17, item 3: opened with openpyxl: the header row is annex IV's, a row holds the
    entry's values, a subject starting with "=" is text, and the export is audited."""
    from openpyxl import load_workbook

    doc_id = issue(hub)
    accept_and_assign(hub, doc_id)
    year = hub.env.today().year
    today = hub.env.today().strftime("%d/%m/%Y")
    web = hub.web
    as_user(web, "vanthu.stttt", lang="vi")
    form = web.get(f"/directory/{STTTT}/mailbox/paper")
    web.post(
        f"/directory/{STTTT}/mailbox/paper",
        {
            "sender": "",
            "sender_name": "Công ty ABC",
            "notation": "5/CV",
            "promulgation_date": "2026-01-05",
            "subject": '=HYPERLINK("http://x")',
            "csrf_token": csrf_of(form),
        },
        status=303,
    )
    url = f"/directory/{STTTT}/registers/{year}-in/export.xlsx"
    response = web.get(url)
    assert response.content_type == XLSX and "attachment" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.body)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ANNEX_IV_INCOMING + ["Mã văn bản"]
    snv, specialist = hub.tx(
        lambda site: (site["directory"][SNV].name, site["users"]["chuyenvien.stttt"].fullname)
    )
    assert rows[1][:8] == [today, 1, snv, "1/QĐ-SNV", today, SUBJECT_QD, specialist, today]
    assert rows[1][8] is None and rows[1][10] == doc_id
    paper = list(sheet.iter_rows())[2]
    assert paper[5].value == '=HYPERLINK("http://x")' and paper[5].data_type == "s"
    assert paper[2].value == "Công ty ABC" and paper[9].value == "văn bản giấy" and paper[3].value == "5/CV"
    exports = hub.tx(
        lambda site: [e for e in site["audit"].iter_entries() if e["action"] == "register.export"]
    )
    assert exports[-1]["actor"] == "vanthu.stttt" and exports[-1]["details"]["format"] == "xlsx"
    as_user(web, "chuyenvien.stttt")  # a specialist reads no register
    web.get(url, status=403)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- duplicates (issue 17, item 4; Decree 30, annex VI, III.1.h) -----------------------------
def send_numbered(hub, number, notation="QĐ-SNV"):
    """What a unit's eOffice product sends already numbered: the hub keeps its number."""

    def run(site):
        header = {
            "code_number": number,
            "code_notation": notation,
            "promulgation_date": hub.env.today().isoformat(),
        }
        document = ds.compose(
            site,
            hub.env,
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[STTTT]),
            [("quyet-dinh.pdf", pdf_file("lan hai"), "")],
            origin="edxml",
            header=header,
        )
        ds.issue(site, hub.env, actor("vanthu.snv"), document, system=True, keep_number=True)
        return document.id, document.notation

    return hub.tx(run)


def accept_on_the_page(web, doc_id):
    from .support.app import csrf_of as token

    page = web.get(f"/documents/{doc_id}")
    return web.post(
        f"/documents/{doc_id}/deliveries/{STTTT}/act",
        {"action": "accept", "csrf_token": token(page)},
        status=303,
    ).follow()


def flashes(response):
    return [div.get_text(strip=True) for div in response.html.find_all("div", class_="flash")]


def test_the_same_number_notation_and_issuer_twice_warns_the_clerk_but_registers(hub):
    first = issue(hub, recipients=[STTTT])
    second, notation = send_numbered(hub, "1")
    assert notation == "1/QĐ-SNV"
    year = hub.env.today().year
    # the sender's register: the imported number repeats its own, noted on the entry
    out = hub.tx(lambda site: [dict(e) for e in register_of(site, SNV, year, "out").rows()])
    assert [e.get("duplicates") for e in out] == [None, [f"1/{year}"]]
    web = hub.web
    as_user(web, "vanthu.stttt")
    assert not any("Warning" in f for f in flashes(accept_on_the_page(web, first)))
    shown = flashes(accept_on_the_page(web, second))
    assert "Accepted and registered as incoming number 2/%d." % year in shown
    assert any(f.startswith("Warning: this register already holds 1/%d with" % year) for f in shown), shown
    assert hub.tx(lambda site: site["documents"][second].delivery_for(STTTT).register_number) == 2
    register = web.get(f"/directory/{STTTT}/registers/{year}-in")
    assert cell_texts(register, 2)[9] == f"same number and notation as 1/{year}"
    assert cell_texts(register, 1)[9] == ""
    # another notation of the same sender: no warning (another body: the paper test below)
    third, _notation = send_numbered(hub, "2")
    assert not any("Warning" in f for f in flashes(accept_on_the_page(web, third)))


def test_a_paper_document_registered_twice_warns_on_the_outcome(hub):
    from .support.exchange import NOT_CONNECTED

    web = hub.web
    as_user(web, "vanthu.stttt")
    url = f"/directory/{STTTT}/mailbox/paper"

    def register_paper(notation, sender=NOT_CONNECTED, sender_name=""):
        form = web.get(url)
        fields = {
            "sender": sender,
            "sender_name": sender_name,
            "notation": notation,
            "promulgation_date": hub.env.today().isoformat(),
            "subject": "Thông báo lịch họp",
            "csrf_token": csrf_of(form),
        }
        return web.post(url, fields, status=303).follow()

    year = hub.env.today().year
    assert register_paper("7/TB-SDL").html.find(id="outcome-duplicates") is None
    again = register_paper("Số: 7/tb-sdl ")  # as typed from another envelope
    warning = again.html.find(id="outcome-duplicates")
    assert warning is not None and f"1/{year}" in warning.text
    assert again.html.find(id="outcome-number").text == f"2/{year}"  # registered all the same
    assert (
        register_paper("7/TB-SDL", sender="", sender_name="Công ty ABC").html.find(id="outcome-duplicates")
        is None
    )
    as_user(web, "vanthu.stttt", lang="vi")
    assert "Cảnh báo" in register_paper("7/TB-SDL").html.find(id="outcome-duplicates").text


# -- annex VI's limits (issue 17, item 4) -----------------------------------------------------
def test_annex_vi_lengths_are_refused_at_compose_beside_the_field_and_nothing_is_stored(hub):
    from .test_document_pages import post_compose

    web = hub.web
    as_user(web, "vanthu.snv", lang="vi")
    before = hub.tx(lambda site: len(site["documents"]))
    for field, value, limit in (
        ("signer_name", " ".join(["Nguyễn"] * 8), 50),  # 55 characters
        ("signer_position", " ".join(["Phó Giám đốc"] * 8), 100),
        ("subject", "Về việc " + "x" * 493, 500),
    ):
        refused = post_compose(web, status=400, **{field: value})
        error = refused.html.find(id=f"{field}-error")
        assert error is not None, field
        assert str(limit) in error.text and ("Phụ lục VI" in error.text or field == "subject"), error.text
        assert refused.html.find(id=field).get("value") == value  # the form keeps what was typed
    assert hub.tx(lambda site: len(site["documents"])) == before
    # at the limits: issued
    post_compose(web, signer_name="N" * 50, signer_position="P" * 100, subject="S" * 500)
    assert hub.tx(lambda site: len(site["documents"])) == before + 1


def test_an_imported_package_beyond_annex_vi_limits_is_read_as_the_field_writes_it(hub):
    """The annex's limits hold for what people type; a package a product or another system
    made is read as it is (the field writes longer numbers than the annex allows)."""
    import re

    from lienthong.core.services import edxml_io

    from .test_edxml_io import issue_full

    _doc_id, package = issue_full(hub)
    text = package.decode("utf-8")
    for tag, value, key in (
        ("CodeNumber", "1" * 12, "code_number"),
        ("CodeNotation", "QĐ-" + "X" * 28, "code_notation"),
        ("FullName", "N" * 51, "signer_name"),
    ):
        changed, count = re.subn(rf"(<(?:\w+:)?{tag}>)[^<]*(</)", rf"\g<1>{value}\g<2>", text, count=1)
        assert count == 1, tag
        changed = re.sub(r"(<(?:\w+:)?DocumentId>)[^<]*(</)", rf"\g<1>annex-{tag}\g<2>", changed, count=1)

        def run(site, changed=changed):
            document = edxml_io.import_package(
                site, hub.env, actor("vanthu.snv"), site["directory"][SNV], io.BytesIO(changed.encode())
            )
            return document.meta.get(key)

        assert hub.tx(run) == value, tag
