"""/audit: auditors and the system administrator read the log; nobody else; reading is recorded."""

import pytest

from lienthong.core.services import audit

from .support.app import login, with_site
from .support.demo import demo_factory, web  # noqa: F401  (fixtures)


def last_entry(app):
    return with_site(app, lambda site: next(site["audit"].iter_entries(reverse=True)))


@pytest.mark.parametrize("login_name", ["kiemtoan", "admin"])
def test_auditor_and_admin_read_the_log_newest_first(web, login_name):
    login(web, login_name)
    res = web.get("/audit")
    assert "<h1>Nhật ký hệ thống</h1>" in res.text
    rows = res.html.select("#audit tbody tr")
    seqs = [int(row.select("td")[0].text) for row in rows]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) >= 10
    assert rows[0].select("td")[3].text == "auth.login"  # the login just now comes first
    viewed = last_entry(web.app)
    assert (viewed["action"], viewed["actor"]) == ("audit.view", login_name)
    assert 'href="http://localhost/audit"' in web.get("/").text  # in the top menu


@pytest.mark.parametrize("login_name", ["vanthu.snv", "lanhdao.snv", "chuyenvien.vungtau", "quantri.stttt"])
def test_others_are_refused_and_the_refusal_is_recorded(web, login_name):
    login(web, login_name)
    assert 'href="http://localhost/audit"' not in web.get("/").text
    web.get("/audit", status=403)
    refused = last_entry(web.app)
    assert (refused["action"], refused["actor"], refused["target"]) == ("access.denied", login_name, "/audit")


def test_anonymous_is_sent_to_login(web):
    assert web.get("/audit", status=303).location.startswith("http://localhost/login?came_from=%2Faudit")


def test_filters_paging_and_chain_check(web):
    def many(site):
        for n in range(120):
            audit.record(
                site, audit.Actor(login="vanthu.snv", client="10.0.0.9"), "document.read", f"/documents/{n}"
            )

    with_site(web.app, many)
    login(web, "kiemtoan")
    first = web.get("/audit", {"actor": "vanthu.snv", "action": "document."})
    targets = [row.select("td")[4].text for row in first.html.select("#audit tbody tr")]
    assert targets == [f"/documents/{n}" for n in range(119, 69, -1)]  # 50 a page, newest first
    older = first.click(linkid=None, href="page=2")
    assert [row.select("td")[4].text for row in older.html.select("#audit tbody tr")][0] == "/documents/69"
    third = older.click(href="page=3")
    assert len(third.html.select("#audit tbody tr")) == 20 and 'rel="next"' not in third.text
    assert not web.get("/audit", {"action": "nothing."}).html.select("#audit tbody tr")

    ok = web.get("/audit", {"verify": "1"})
    assert "Chuỗi nhật ký toàn vẹn" in ok.html.select_one("#verified").text


def test_a_broken_chain_shows_where(web):
    def tamper(site):
        from lienthong.core.resources.audit import decode, encode

        log = site["audit"]
        forged = decode(log.tail[2])
        forged["actor"] = "someone-else"
        log.tail = log.tail[:2] + [encode(forged)] + log.tail[3:]

    with_site(web.app, tamper)
    login(web, "kiemtoan")
    verdict = web.get("/audit", {"verify": "1"}).html.select_one("#verified")
    assert verdict.text.strip() == "Chuỗi nhật ký bị phá vỡ tại bản ghi 3: bản ghi 3 đã bị sửa sau khi ghi"
    assert "error" in verdict["class"]
