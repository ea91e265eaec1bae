"""/incidents (R8.2, R8.4): the operator and the auditors see what was reported; the operator closes it."""

from lienthong.core.services import accounts, audit

from .support.app import csrf_of, login, with_site
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)


def report(app, login_name="vanthu.snv"):
    return with_site(
        app,
        lambda site: accounts.report_compromised(
            site, audit.Actor(login_name), site["users"][login_name], note="Lộ mật khẩu qua thư giả mạo"
        ),
    )


def test_admin_sees_and_closes_an_incident_and_it_is_audited(web):
    incident_id = report(web.app)
    web.set_cookie("_LOCALE_", "en")
    login(web, "admin")
    page = web.get("/incidents")
    row = page.html.select_one(f"#incident-{incident_id}")
    assert "/users/vanthu.snv" in row.text and "Compromised password" in row.text
    assert "account locked" in row.text and "thư giả mạo" in row.text
    assert audit_entries(web)[-1]["action"] == "incidents.view"

    # a close without saying what was done is refused, and changes nothing
    web.post(f"/incidents/{incident_id}/close", {"csrf_token": csrf_of(page), "note": " "}, status=303)
    assert with_site(web.app, lambda site: site["incidents"][incident_id].state) == "open"
    web.post(
        f"/incidents/{incident_id}/close",
        {"csrf_token": csrf_of(page), "note": "Đã đặt lại mật khẩu"},
        status=303,
    )
    assert with_site(web.app, lambda site: site["incidents"][incident_id].state) == "closed"
    closed = audit_entries(web)[-1]
    assert (closed["action"], closed["actor"], closed["target"]) == (
        "incident.close",
        "admin",
        f"/incidents/{incident_id}",
    )
    assert "closed" in web.get("/incidents").html.select_one(f"#incident-{incident_id}").text


def test_auditor_reads_incidents_but_cannot_close_them(web):
    incident_id = report(web.app)
    login(web, "kiemtoan")
    page = web.get("/incidents")
    assert page.html.select_one(f"#incident-{incident_id}") and not page.html.select("form.inline-form")
    web.post(f"/incidents/{incident_id}/close", {"csrf_token": csrf_of(page), "note": "x"}, status=403)
    assert with_site(web.app, lambda site: site["incidents"][incident_id].state) == "open"


def test_others_cannot_see_incidents(web):
    report(web.app)
    login(web, "quantri.stttt")
    web.get("/incidents", status=403)
    assert audit_entries(web)[-1]["action"] == "access.denied"


def test_incidents_read_in_vietnamese_with_names_not_codes(web):
    """Issue 17: kinds, descriptions, what was done and who closed it in the reader's language."""
    from lienthong.core.resources.incidents import Incident

    incident_id = report(web.app)
    with_site(  # one written by an earlier version, as plain English text: shown as written
        web.app,
        lambda site: site["incidents"].add(
            "old1",
            Incident(
                "undeliverable_message",
                "/transport/dead/k",
                "system:transport",
                "2026-01-01T00:00:00Z",
                description="An old English description",
            ),
        ),
    )
    login(web, "admin")
    page = web.get("/incidents")
    row = page.html.select_one(f"#incident-{incident_id}")
    assert "Mật khẩu bị lộ" in row.text
    assert "đã khóa tài khoản" in row.text and "account locked" not in row.text
    assert "vanthu.snv" not in row.select("td")[3].text  # the reporter by name
    web.post(f"/incidents/{incident_id}/close", {"csrf_token": csrf_of(page), "note": "Đã đặt lại mật khẩu"})
    row = web.get("/incidents").html.select_one(f"#incident-{incident_id}")
    assert "Đã đóng bởi" in row.text and "Đã đặt lại mật khẩu" in row.text and "closed by" not in row.text
    old = web.get("/incidents").html.select_one("#incident-old1")
    assert "An old English description" in old.text and "Thông điệp không thể chuyển được" in old.text
