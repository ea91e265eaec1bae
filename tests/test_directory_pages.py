"""The address book, unit pages, mailbox pages and the management screens for units (issue 4)."""

import re
from datetime import date, timedelta

import pytest

from .support.app import csrf_of, login, with_site

OPERATOR = "000.00.12.H49"  # Sở Thông tin và Truyền thông: quantri.stttt is its unit admin
SNV = "000.00.02.H49"  # Sở Nội vụ
PROVINCE = "000.00.00.H49"
VUNGTAU = "000.00.31.H49"
BARIA = "000.00.32.H49"
PHUMY = "000.00.33.H49"


def audit_entries(app, action, target=None):
    def read(site):
        return [
            e
            for e in site["audit"].iter_entries()
            if e["action"] == action and (target is None or e["target"] == target)
        ]

    return with_site(app, read)


def pilots_overdue(app):
    from lienthong.core.services import directory

    return with_site(app, lambda site: sorted(u.code for u in directory.pilot_overdue(site)))


def in_pilot(site, code, days_ago):
    """Put ``code`` in a pilot that started ``days_ago`` days ago, whatever its state was."""
    from lienthong.core.services import directory
    from lienthong.core.services.audit import Actor

    unit = site["directory"][code]
    if unit.connection_state == "pilot":
        directory.set_connection_state(site, Actor("admin"), unit, "not_connected")
    directory.set_connection_state(
        site, Actor("admin"), unit, "pilot", on=date.today() - timedelta(days=days_ago)
    )


def unit_state(app, code, *names):
    return with_site(app, lambda site: {n: getattr(site["directory"][code], n) for n in names})


def main_of(response):
    """The page's <main>, so that menus and footers do not count."""
    text = response.text
    return text[text.index("<main") : text.index("</main>")]


def field_error(response, field):
    match = re.search(r'<p class="field-error" id="error-%s">([^<]*)</p>' % re.escape(field), response.text)
    return match.group(1) if match else None


def post_form(testapp, url, params, page_url=None, status=303):
    """POST ``params`` with the CSRF token of ``page_url`` (by default the management page of the form)."""
    token = csrf_of(testapp.get(page_url or "/manage/units"))
    if isinstance(params, dict):
        params = list(params.items())
    return testapp.post(url, params + [("csrf_token", token)], status=status)


# -- the public address book -------------------------------------------------------------
def test_anonymous_search_with_and_without_accents(testapp):
    for query in ("so thong tin", "Sở Thông tin", "SO THONG TIN va truyen"):
        body = main_of(testapp.get("/directory", {"q": query}, status=200))
        assert "Sở Thông tin và Truyền thông" in body
        assert OPERATOR in body
        assert "Sở Nội vụ" not in body
    # the short name and "đ" fold too
    body = main_of(testapp.get("/directory", {"q": "dat do"}))
    assert "Ủy ban nhân dân huyện Đất Đỏ" in body
    body = main_of(testapp.get("/directory", {"q": "no such unit anywhere"}))
    assert 'id="unit-' not in body


def test_anonymous_address_book_starts_no_session(testapp):
    """Reading the public pages leaves no cookie behind; the login form still gets its CSRF token."""
    for url in ("/directory", "/directory/000.00.12.H49", "/directory?q=so+noi+vu"):
        res = testapp.get(url)
        assert "Set-Cookie" not in res.headers, url
        assert 'name="csrf_token"' not in res.text
    assert csrf_of(testapp.get("/login"))


def test_address_book_shows_public_fields_and_filters(testapp):
    with_site(testapp.app, lambda site: setattr(site["directory"][SNV], "email", "snv@example.vn"))
    body = main_of(testapp.get("/directory"))
    row = body[body.index(f'id="unit-{SNV}"') :]
    row = row[: row.index("</tr>")]
    for text in (SNV, "Sở Nội vụ", "SNV", "snv@example.vn"):
        assert text in row
    districts = main_of(testapp.get("/directory", {"kind": "district"}))
    assert VUNGTAU in districts and SNV not in districts
    # an unknown filter value is ignored rather than an error
    assert testapp.get("/directory", {"kind": "<script>", "state": "x", "page": "zz"}).status_int == 200
    in_state = with_site(
        testapp.app, lambda site: {u.code: u.connection_state for u in site["directory"].values()}
    )
    for state in ("not_connected", "pilot", "official"):
        shown = set(
            re.findall(r'<tr id="unit-([^"]+)"', main_of(testapp.get("/directory", {"state": state})))
        )
        assert shown == {code for code, s in in_state.items() if s == state}


def test_paging(testapp):
    from lienthong.core.views import directory as view

    old = view.PAGE_SIZE
    view.PAGE_SIZE = 10
    try:
        first = main_of(testapp.get("/directory"))
        assert first.count('<tr id="unit-') == 10 and 'rel="next"' in first and 'rel="prev"' not in first
        last = main_of(testapp.get("/directory", {"page": "4"}))
        assert last.count('<tr id="unit-') == 2 and 'rel="prev"' in last and 'rel="next"' not in last
    finally:
        view.PAGE_SIZE = old


def test_tree_nests_sub_units_under_their_parents(testapp):
    html = testapp.get("/directory", {"view": "tree"}).html

    def parent_item(code):
        return html.find(id=f"tree-{code}").find_parent("li")["id"]

    assert parent_item("000.02.31.H49") == f"tree-{VUNGTAU}"
    assert parent_item("000.01.34.H49") == "tree-000.00.34.H49"
    assert parent_item(VUNGTAU) == parent_item(SNV) == f"tree-{PROVINCE}"
    assert html.find(id=f"tree-{PROVINCE}").find_parent("li") is None
    # a search keeps the chain above each match on the tree
    found = main_of(testapp.get("/directory", {"view": "tree", "q": "noi vu thanh pho vung tau"}))
    assert 'class="match" id="tree-000.02.31.H49"' in found
    assert f'class="context" id="tree-{VUNGTAU}"' in found
    assert f'class="context" id="tree-{PROVINCE}"' in found
    assert f'id="tree-{SNV}"' not in found


def test_unit_page(testapp):
    body = main_of(testapp.get(f"/directory/{VUNGTAU}", status=200))
    assert "Ủy ban nhân dân thành phố Vũng Tàu" in body
    ancestors = body[body.index('id="ancestors"') : body.index("</nav>")]
    assert f"/directory/{PROVINCE}" in ancestors
    subs = body[body.index('id="sub-units"') :]
    assert "/directory/000.01.31.H49" in subs and "/directory/000.02.31.H49" in subs
    # anonymous: neither the management link nor the mailbox link
    assert 'id="manage-link"' not in body and 'id="mailbox-link"' not in body
    testapp.get("/directory/999.99.99.Z99", status=404)


def test_unit_page_links_follow_permissions(testapp):
    login(testapp, "quantri.stttt")
    own = main_of(testapp.get(f"/directory/{OPERATOR}"))
    assert f'href="http://localhost/manage/units/{OPERATOR}"' in own
    assert 'id="mailbox-link"' not in own  # a unit admin does not read the unit's mail
    assert 'id="manage-link"' not in main_of(testapp.get(f"/directory/{SNV}"))
    testapp.reset()
    login(testapp, "vanthu.stttt")
    own = main_of(testapp.get(f"/directory/{OPERATOR}"))
    assert f'href="http://localhost/directory/{OPERATOR}/mailbox"' in own and 'id="manage-link"' not in own
    assert 'id="mailbox-link"' not in main_of(testapp.get(f"/directory/{SNV}"))
    testapp.reset()
    login(testapp, "admin")
    body = main_of(testapp.get(f"/directory/{SNV}"))
    assert 'id="manage-link"' in body and 'id="mailbox-link"' not in body


def test_pilot_overdue_list_for_logged_in_users(testapp):
    with_site(testapp.app, lambda site: (in_pilot(site, SNV, 70), in_pilot(site, BARIA, 5)))
    overdue_codes = pilots_overdue(testapp.app)
    assert SNV in overdue_codes and BARIA not in overdue_codes
    assert 'id="pilot-overdue"' not in testapp.get("/directory").text
    login(testapp, "vanthu.snv")
    body = main_of(testapp.get("/directory"))
    overdue = body[body.index('id="pilot-overdue"') :]
    overdue = overdue[: overdue.index("</section>")]
    assert re.findall(r'/directory/([^"]+)"', overdue) == overdue_codes
    page = main_of(testapp.get(f"/directory/{SNV}"))
    assert (
        'id="pilot-end"' in page
        and "ended, not yet official" in testapp.get(f"/directory/{SNV}", {"lang": "en"}).text
    )
    testapp.reset()
    login(testapp, "admin")
    assert re.search(r'id="pilot-overdue"><a [^>]*>%d</a>' % len(overdue_codes), testapp.get("/manage").text)


def test_inactive_units_hidden_unless_asked(testapp):
    from lienthong.core.services import directory
    from lienthong.core.services.audit import Actor

    with_site(testapp.app, lambda site: directory.merge(site, Actor("admin"), [BARIA], VUNGTAU))
    body = main_of(testapp.get("/directory"))
    assert f'id="unit-{BARIA}"' not in body
    body = main_of(testapp.get("/directory", {"include_inactive": "1"}))
    row = body[body.index(f'id="unit-{BARIA}"') :]
    row = row[: row.index("</tr>")]
    assert 'class="inactive"' in body and "/directory/" + VUNGTAU in row
    # the page of a merged unit says where its documents go; the successor names its predecessor
    merged = main_of(testapp.get(f"/directory/{BARIA}", {"lang": "en"}))
    assert "Merged into" in merged and f'href="http://localhost/directory/{VUNGTAU}"' in merged
    successor = main_of(testapp.get(f"/directory/{VUNGTAU}"))
    assert f'href="http://localhost/directory/{BARIA}"' in successor[successor.index('id="predecessors"') :]


# -- mailboxes -----------------------------------------------------------------------------
def test_clerk_reads_own_unit_mailbox_and_it_is_audited(testapp):
    login(testapp, "vanthu.stttt")
    body = main_of(testapp.get(f"/directory/{OPERATOR}/mailbox", {"lang": "en"}, status=200))
    assert "Sở Thông tin và Truyền thông" in body and "No documents yet." in body
    entries = audit_entries(testapp.app, "mailbox.view")
    assert [(e["actor"], e["target"]) for e in entries] == [
        ("vanthu.stttt", f"/directory/{OPERATOR}/mailbox")
    ]
    # their personal mailbox, same page
    assert "No documents yet." in testapp.get("/users/vanthu.stttt/mailbox", {"lang": "en"})
    assert audit_entries(testapp.app, "mailbox.view", "/users/vanthu.stttt/mailbox")


@pytest.mark.parametrize("who", ["vanthu.snv", "kiemtoan", "admin", "quantri.stttt"])
def test_others_cannot_read_a_unit_mailbox(testapp, who):
    login(testapp, who)
    testapp.get(f"/directory/{OPERATOR}/mailbox", status=403)
    assert not audit_entries(testapp.app, "mailbox.view")
    refused = audit_entries(testapp.app, "access.denied", f"/directory/{OPERATOR}/mailbox")
    assert [e["actor"] for e in refused] == [who]


def test_personal_mailbox_is_its_owners_only(testapp):
    login(testapp, "lanhdao.stttt")  # a leader of the same unit
    testapp.get("/users/vanthu.stttt/mailbox", status=403)
    testapp.reset()
    login(testapp, "admin")
    testapp.get("/users/vanthu.stttt/mailbox", status=403)
    testapp.reset()
    testapp.get(f"/directory/{OPERATOR}/mailbox", status=303)  # anonymous: to the login page


# -- the operator's list and new units -------------------------------------------------------
NEW = {
    "code": "000.00.40.H49",
    "name": "Sở Ngoại vụ",
    "short_name": "SNgV",
    "kind": "department",
    "parent_code": PROVINCE,
    "email": "sngv@example.vn",
    "phone": "0254 3852 000",
    "address": "Vũng Tàu",
    "eoffice_product": "VNPT iOffice",
    "adapter": "",
}


def test_admin_creates_a_unit(testapp):
    login(testapp, "admin")
    listing = main_of(testapp.get("/manage/units"))
    assert f"/manage/units/{SNV}" in listing and 'id="new-unit-form"' in listing
    response = post_form(testapp, "/manage/units", NEW)
    assert response.location == "http://localhost/manage/units/000.00.40.H49"
    page = response.follow()
    assert "Sở Ngoại vụ" in page.text and 'class="flash"' in page.text
    stored = unit_state(
        testapp.app, "000.00.40.H49", "name", "kind", "parent_code", "email", "eoffice_product"
    )
    assert stored == {
        "name": "Sở Ngoại vụ",
        "kind": "department",
        "parent_code": PROVINCE,
        "email": "sngv@example.vn",
        "eoffice_product": "VNPT iOffice",
    }
    assert audit_entries(testapp.app, "unit.create", "/directory/000.00.40.H49")[0]["actor"] == "admin"
    assert "000.00.40.H49" in main_of(testapp.get("/directory", {"q": "ngoai vu"}))


@pytest.mark.parametrize(
    "changes, field, status",
    [
        ({"code": "12.H49"}, "code", 400),
        ({"code": OPERATOR}, "code", 409),
        ({"parent_code": "000.00.40.H49"}, "parent_code", 400),  # its own parent: a cycle of one
        ({"parent_code": "999.99.99.H49"}, "parent_code", 400),
        ({"name": "  "}, "name", 400),
        ({"email": "not-an-address"}, "email", 400),
        ({"adapter": "no-such-adapter"}, "adapter", 400),
    ],
)
def test_new_unit_bad_input(testapp, changes, field, status):
    login(testapp, "admin")
    before = with_site(testapp.app, lambda site: (len(site["directory"]), len(site["audit"])))
    response = post_form(testapp, "/manage/units", {**NEW, **changes}, status=status)
    assert field_error(response, field), f"no message next to {field}"
    assert 'aria-invalid="true"' in response.text
    # the form keeps what was typed
    assert 'value="Vũng Tàu"' in response.text
    after = with_site(testapp.app, lambda site: (len(site["directory"]), len(site["audit"])))
    assert after == before  # nothing stored, nothing audited


def test_unit_list_needs_manage(testapp):
    login(testapp, "quantri.stttt")
    testapp.get("/manage/units", status=403)
    testapp.post("/manage/units", {**NEW, "csrf_token": csrf_of(testapp.get("/directory"))}, status=403)
    assert "000.00.40.H49" not in with_site(testapp.app, lambda site: list(site["directory"]))


# -- one unit: fields, policies, who may change what ---------------------------------------
def policies_form(**overrides):
    values = [
        ("email", "stttt@example.vn"),
        ("phone", "0254 3800 000"),
        ("address", "Số 1 Lê Lợi"),
        ("deadline_days", "7"),
        ("must_sign", "1"),
        ("issuers", "clerk"),
        ("issuers", "leader"),
    ]
    for name, value in overrides.items():
        values = [(n, v) for n, v in values if n != name] + ([] if value is None else [(name, value)])
    return values


def test_unit_admin_edits_policies_of_own_unit(testapp):
    login(testapp, "quantri.stttt")
    page = main_of(testapp.get(f"/manage/units/{OPERATOR}"))
    assert 'name="deadline_days"' in page
    # the operator's fields are not in the unit admin's form
    assert 'name="adapter"' not in page and 'name="parent_code"' not in page and 'id="reorganize"' not in page
    assert 'id="connection-form"' not in page
    url = f"/manage/units/{OPERATOR}"
    post_form(testapp, url, policies_form(), page_url=url)
    stored = with_site(
        testapp.app,
        lambda site: (dict(site["directory"][OPERATOR].policies), site["directory"][OPERATOR].email),
    )
    assert stored[0]["deadline_days"] == 7 and stored[0]["must_sign"] is True
    assert stored[0]["approval"] is False and tuple(stored[0]["issuers"]) == ("clerk", "leader")
    assert stored[1] == "stttt@example.vn"
    entry = audit_entries(testapp.app, "unit.update", f"/directory/{OPERATOR}")[0]
    assert entry["actor"] == "quantri.stttt" and "policies" in entry["details"]["fields"]


def test_bad_policy_is_refused_next_to_the_field(testapp):
    login(testapp, "quantri.stttt")
    url = f"/manage/units/{OPERATOR}"
    response = post_form(testapp, url, policies_form(deadline_days="0"), page_url=url, status=400)
    assert field_error(response, "deadline_days")
    response = post_form(testapp, url, policies_form(issuers=None), page_url=url, status=400)
    assert field_error(response, "issuers")
    response = post_form(testapp, url, policies_form(phone="call me"), page_url=url, status=400)
    assert field_error(response, "phone")
    stored = with_site(
        testapp.app,
        lambda site: (site["directory"][OPERATOR].policy("deadline_days"), site["directory"][OPERATOR].email),
    )
    assert stored == (10, "")
    assert not audit_entries(testapp.app, "unit.update")


def test_unit_admin_cannot_manage_another_unit_or_the_adapter(testapp):
    login(testapp, "quantri.stttt")
    testapp.get(f"/manage/units/{SNV}", status=403)
    fields = ("adapter", "eoffice_product", "connection_state", "connection_history", "name", "status")
    before = unit_state(testapp.app, OPERATOR, *fields)
    token = csrf_of(testapp.get(f"/manage/units/{OPERATOR}"))
    testapp.post(f"/manage/units/{SNV}", policies_form() + [("csrf_token", token)], status=403)
    testapp.post(f"/manage/units/{SNV}/tokens", {"label": "x", "csrf_token": token}, status=403)
    # on their own unit: not the adapter, the connection state or a reorganization
    testapp.post(
        f"/manage/units/{OPERATOR}", policies_form() + [("adapter", "x"), ("csrf_token", token)], status=403
    )
    testapp.post(
        f"/manage/units/{OPERATOR}",
        policies_form() + [("eoffice_product", "x"), ("csrf_token", token)],
        status=403,
    )
    testapp.post(
        f"/manage/units/{OPERATOR}/connection",
        {"connection_state": "official", "date": "", "note": "", "csrf_token": token},
        status=403,
    )
    testapp.post(f"/manage/units/{OPERATOR}/rename", {"name": "X", "csrf_token": token}, status=403)
    testapp.post(f"/manage/units/{OPERATOR}/dissolve", {"successor": "", "csrf_token": token}, status=403)
    assert unit_state(testapp.app, OPERATOR, *fields) == before
    assert before["name"] == "Sở Thông tin và Truyền thông" and before["status"] == "active"
    assert unit_state(testapp.app, SNV, "policies")["policies"]["deadline_days"] == 10
    assert len(audit_entries(testapp.app, "access.denied")) == 8
    testapp.get("/manage/units/999.99.99.H49", status=404)


def test_clerk_cannot_manage_own_unit(testapp):
    login(testapp, "vanthu.stttt")
    testapp.get(f"/manage/units/{OPERATOR}", status=403)


def test_admin_edits_hierarchy_and_a_cycle_is_refused(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{PROVINCE}"
    operator_fields = [
        ("kind", "province"),
        ("eoffice_product", "VNPT iOffice"),
        ("adapter", ""),
        ("adapter_settings", "endpoint=https://ioffice.example.vn\nretries = 3"),
    ]
    # the province under one of its own sub-units: a cycle
    response = post_form(
        testapp, url, policies_form() + operator_fields + [("parent_code", VUNGTAU)], page_url=url, status=400
    )
    assert field_error(response, "parent_code")
    assert unit_state(testapp.app, PROVINCE, "parent_code")["parent_code"] is None
    assert unit_state(testapp.app, PROVINCE, "adapter_settings")["adapter_settings"] == {}
    post_form(
        testapp,
        url,
        policies_form()
        + operator_fields[:1]
        + [("eoffice_product", "VNPT iOffice 2")]
        + operator_fields[2:]
        + [("parent_code", "")],
        page_url=url,
    )
    stored = with_site(
        testapp.app,
        lambda site: (
            site["directory"][PROVINCE].eoffice_product,
            dict(site["directory"][PROVINCE].adapter_settings),
        ),
    )
    assert stored == ("VNPT iOffice 2", {"endpoint": "https://ioffice.example.vn", "retries": "3"})
    response = post_form(
        testapp,
        url,
        policies_form() + operator_fields[:3] + [("adapter_settings", "no equals sign"), ("parent_code", "")],
        page_url=url,
        status=400,
    )
    assert field_error(response, "adapter_settings")


def test_cycle_message_in_english(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{PROVINCE}"
    token = csrf_of(testapp.get(url))
    response = testapp.post(
        url + "?lang=en",
        policies_form()
        + [
            ("kind", "province"),
            ("eoffice_product", ""),
            ("adapter", ""),
            ("adapter_settings", ""),
            ("parent_code", "000.02.31.H49"),
            ("csrf_token", token),
        ],
        status=400,
    )
    assert "would make a cycle" in field_error(response, "parent_code")


# -- connection state ------------------------------------------------------------------------
def test_connection_state_and_history(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{SNV}"
    start = (date.today() - timedelta(days=3)).isoformat()
    with_site(testapp.app, lambda site: setattr(site["directory"][SNV], "connection_state", "not_connected"))
    earlier = len(unit_state(testapp.app, SNV, "connection_history")["connection_history"])
    post_form(
        testapp,
        url + "/connection",
        {"connection_state": "pilot", "date": start, "note": "iOffice"},
        page_url=url,
    )
    post_form(
        testapp,
        url + "/connection",
        {"connection_state": "official", "date": "", "note": "done"},
        page_url=url,
    )
    stored = unit_state(testapp.app, SNV, "connection_state", "pilot_start", "connection_history")
    assert stored["connection_state"] == "official" and stored["pilot_start"] == start
    assert [(h["state"], h["actor"], h["note"]) for h in stored["connection_history"][earlier:]] == [
        ("pilot", "admin", "iOffice"),
        ("official", "admin", "done"),
    ]
    page = main_of(testapp.get(url))
    history = page[page.index('id="connection-history"') :]
    start_shown = "/".join(reversed(start.split("-")))  # dd/mm/yyyy
    assert start_shown in history and "iOffice" in history and "done" in history
    assert [
        e["actor"]
        for e in audit_entries(testapp.app, "unit.connection", f"/directory/{SNV}")
        if e["actor"] == "admin"
    ] == ["admin", "admin"]
    # the same state again, an unknown state, a bad date: refused next to the field
    response = post_form(
        testapp,
        url + "/connection",
        {"connection_state": "official", "date": "", "note": ""},
        page_url=url,
        status=409,
    )
    assert field_error(response, "connection_state")
    response = post_form(
        testapp,
        url + "/connection",
        {"connection_state": "pilot", "date": "31/02/2025", "note": ""},
        page_url=url,
        status=400,
    )
    assert field_error(response, "date")
    response = post_form(
        testapp,
        url + "/connection",
        {"connection_state": "bogus", "date": "", "note": ""},
        page_url=url,
        status=400,
    )
    assert field_error(response, "connection_state")
    assert len(unit_state(testapp.app, SNV, "connection_history")["connection_history"]) == earlier + 2


# -- reorganization --------------------------------------------------------------------------
def resolve(app, code):
    from lienthong.core.services import directory

    return with_site(app, lambda site: getattr(directory.resolve(site, code), "code", None))


def test_rename_keeps_the_former_name(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{SNV}"
    post_form(
        testapp, url + "/rename", {"name": "Sở Nội vụ và Lao động", "short_name": "SNVLĐ"}, page_url=url
    )
    assert unit_state(testapp.app, SNV, "name")["name"] == "Sở Nội vụ và Lao động"
    page = main_of(testapp.get(f"/directory/{SNV}"))
    assert "Sở Nội vụ và Lao động" in page and "Sở Nội vụ" in page[page.index('id="former-names"') :]
    # the former name still finds it
    assert SNV in main_of(testapp.get("/directory", {"q": "so noi vu"}))
    response = post_form(testapp, url + "/rename", {"name": " ", "short_name": ""}, page_url=url, status=400)
    assert field_error(response, "name")


def test_merge_through_the_form(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{VUNGTAU}"
    post_form(testapp, url + "/merge", [("codes", BARIA), ("codes", PHUMY)], page_url=url)
    for code in (BARIA, PHUMY):
        assert unit_state(testapp.app, code, "status", "successors") == {
            "status": "merged",
            "successors": (VUNGTAU,),
        }
        assert resolve(testapp.app, code) == VUNGTAU
    assert unit_state(testapp.app, VUNGTAU, "predecessors")["predecessors"] == (BARIA, PHUMY)
    assert audit_entries(testapp.app, "unit.merge", f"/directory/{VUNGTAU}")
    # a merged unit cannot be merged again, and nothing is half-done
    response = post_form(
        testapp,
        f"/manage/units/{SNV}/merge",
        [("codes", "000.00.03.H49"), ("codes", BARIA)],
        page_url=url,
        status=409,
    )
    assert field_error(response, "codes")
    assert unit_state(testapp.app, "000.00.03.H49", "status")["status"] == "active"
    response = post_form(testapp, f"/manage/units/{SNV}/merge", [], page_url=url, status=400)
    assert field_error(response, "codes")
    # the merged unit's management page says so and offers no forms
    page = main_of(testapp.get(f"/manage/units/{BARIA}"))
    assert 'id="unit-status"' in page and 'id="edit-form"' not in page and 'id="reorganize"' not in page


def test_split_through_the_form(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{SNV}"
    response = post_form(testapp, url + "/split", [("successors", "000.00.03.H49")], page_url=url, status=400)
    assert field_error(response, "successors")
    assert unit_state(testapp.app, SNV, "status")["status"] == "active"
    post_form(
        testapp,
        url + "/split",
        [("successors", "000.00.03.H49"), ("successors", "000.00.11.H49")],
        page_url=url,
    )
    assert unit_state(testapp.app, SNV, "status", "successors") == {
        "status": "split",
        "successors": ("000.00.03.H49", "000.00.11.H49"),
    }
    assert resolve(testapp.app, SNV) == "000.00.03.H49"
    # the users of a split unit are still listed on its (read-only) page
    page = main_of(testapp.get(url))
    assert "/manage/users/vanthu.snv" in page


def test_dissolve_with_and_without_successor(testapp):
    login(testapp, "admin")
    url = f"/manage/units/{BARIA}"
    post_form(testapp, url + "/dissolve", {"successor": VUNGTAU, "confirm": "1"}, page_url=url)
    assert unit_state(testapp.app, BARIA, "status")["status"] == "dissolved"
    assert resolve(testapp.app, BARIA) == VUNGTAU
    url = f"/manage/units/{PHUMY}"
    response = post_form(testapp, url + "/dissolve", {"successor": PHUMY}, page_url=url, status=400)
    assert field_error(response, "successor")
    post_form(testapp, url + "/dissolve", {"successor": ""}, page_url=url)
    assert resolve(testapp.app, PHUMY) is None
    page = main_of(testapp.get(f"/directory/{PHUMY}", {"lang": "en"}))
    assert "Dissolved" in page
    assert len(audit_entries(testapp.app, "unit.dissolve")) == 2


# -- API tokens ------------------------------------------------------------------------------
def test_token_is_shown_once_and_stored_hashed(testapp):
    from lienthong.core.services import tokens

    login(testapp, "quantri.stttt")
    url = f"/manage/units/{OPERATOR}"
    response = post_form(testapp, url + "/tokens", {"label": "VNPT iOffice"}, page_url=url, status=200)
    assert response.headers["Cache-Control"] == "no-store"
    secret = re.search(r'id="secret" class="secret code" readonly value="([^"]+)"', response.text).group(1)
    assert secret.startswith("lt_")

    def stored(site):
        found = tokens.of_unit(site, OPERATOR)
        return [(t.label, t.digest, t.created_by, vars(t)) for t in found], tokens.find(site, secret)

    rows, found = with_site(testapp.app, stored)
    assert len(rows) == 1 and found is not None
    label, digest, created_by, attributes = rows[0]
    assert (label, created_by) == ("VNPT iOffice", "quantri.stttt")
    assert digest == tokens.digest(secret) and secret not in repr(attributes)
    # never shown again
    page = testapp.get(url)
    assert "VNPT iOffice" in page.text and secret not in page.text
    assert audit_entries(testapp.app, "token.create")[0]["actor"] == "quantri.stttt"


def test_token_revocation(testapp):
    from lienthong.core.services import tokens

    login(testapp, "admin")
    url = f"/manage/units/{SNV}"
    post_form(testapp, url + "/tokens", {"label": "script"}, page_url=url, status=200)
    token_id = with_site(testapp.app, lambda site: tokens.of_unit(site, SNV)[0].token_id)
    # a token of another unit cannot be revoked through this unit's page
    post_form(testapp, f"/manage/units/{OPERATOR}/tokens/{token_id}/revoke", {}, page_url=url, status=404)
    response = post_form(testapp, f"{url}/tokens/{token_id}/revoke", {}, page_url=url)
    assert response.location.endswith(f"/manage/units/{SNV}#tokens")
    revoked = with_site(testapp.app, lambda site: site["tokens"][token_id].revoked)
    assert revoked
    page = main_of(testapp.get(url))
    row = page[page.index(f'id="token-{token_id}"') :]
    row = row[: row.index("</tr>")]
    assert "/revoke" not in row
    assert audit_entries(testapp.app, "token.revoke", f"/tokens/{token_id}")
    response = post_form(testapp, url + "/tokens", {"label": "  "}, page_url=url, status=400)
    assert field_error(response, "label")


def test_unit_users_are_listed_with_links(testapp):
    login(testapp, "quantri.stttt")
    page = main_of(testapp.get(f"/manage/units/{OPERATOR}"))
    users = page[page.index('id="user-list"') :]
    for name in ("vanthu.stttt", "lanhdao.stttt", "quantri.stttt"):
        assert f'href="http://localhost/manage/users/{name}"' in users
    assert "vanthu.snv" not in users


def test_manage_overview_links(testapp):
    login(testapp, "admin")
    body = testapp.get("/manage").text
    assert 'href="http://localhost/manage/units"' in body and 'href="http://localhost/manage/users"' in body
    assert re.search(r'id="pilot-overdue"><a [^>]*>%d</a>' % len(pilots_overdue(testapp.app)), body)
