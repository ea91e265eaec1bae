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
