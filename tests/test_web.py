"""The web application through WSGI (WebTest) on a real copy of the demo site.

Log in and out, CSRF, redirects, error pages, role panels, the management screen,
security headers, the session cookie, /healthz and /metrics.
"""

import json
import logging
import re
from datetime import datetime, timedelta

import pytest

from .support.app import DEMO_PASSWORD, csrf_of, login, with_site
from .support.boom_view import SECRET as BOOM_SECRET
from .support.demo import audit_entries, demo_factory, web  # noqa: F401  (fixtures)

WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
HOME = "http://localhost/"


def error_text(response):
    match = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    return match.group(1) if match else None


def is_anonymous(testapp):
    """True when the client's session carries no identity (the home page sends it to log in)."""
    return testapp.get("/", status="*").status_int == 303


def assert_security_headers(response):
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


# --- logging in ----------------------------------------------------------------------------


def test_login_page_is_vietnamese_with_csrf_token(web):
    res = web.get("/login")
    assert res.status_int == 200
    assert res.content_type == "text/html"
    assert '<html lang="vi"' in re.sub(r"\s+", " ", res.text)
    assert "<h1>Đăng nhập</h1>" in res.text
    assert "Tên đăng nhập" in res.text and "Mật khẩu" in res.text
    assert len(csrf_of(res)) >= 32
    assert is_anonymous(web)


def test_wrong_password_and_unknown_login_get_the_same_answer(web):
    before = len(audit_entries(web))

    wrong = login(web, "admin", "not-the-password", status=401)
    unknown = login(web, "no.such.user", DEMO_PASSWORD, status=401)

    for res in (wrong, unknown):
        assert error_text(res) == WRONG
    # nothing in the page tells the two cases apart, except the login the user typed
    assert wrong.text.replace('value="admin"', "") == unknown.text.replace('value="no.such.user"', "")

    entries = audit_entries(web)[before:]
    assert [(e["action"], e["target"], e["client"]) for e in entries] == [
        ("auth.login_failed", "/users/admin", "127.0.0.1"),
        ("auth.login_failed", "/users/no.such.user", "127.0.0.1"),
    ]
    assert is_anonymous(web)
    assert len(audit_entries(web)) == before + 2  # looking around wrote nothing more


def test_login_form_escapes_what_the_user_typed(web):
    res = login(web, '"><script>alert(1)</script>', "x", status=401)
    assert "<script>alert(1)</script>" not in res.text
    assert "&lt;script&gt;" in res.text or "&#34;&gt;&lt;script" in res.text


def test_login_redirects_to_came_from_with_a_fresh_session(web):
    form = web.get("/login?came_from=/manage")
    assert 'name="came_from" value="/manage"' in form.text
    old_cookie = web.cookies.get("lienthong_session")
    res = web.post(
        "/login",
        {"login": "admin", "password": DEMO_PASSWORD, "came_from": "/manage", "csrf_token": csrf_of(form)},
        status=303,
    )
    assert res.location == "http://localhost/manage"
    assert web.cookies.get("lienthong_session") not in (None, old_cookie)  # no session fixation
    assert "Quản trị" in res.follow().text
    last = audit_entries(web)[-1]
    assert (last["action"], last["actor"], last["client"]) == ("auth.login", "admin", "127.0.0.1")


OFFSITE = ["//evil.com", "https://evil.com/", "/\\evil.com", "http:/evil.com", "///evil.com", " //evil.com"]


def test_came_from_is_never_an_open_redirect(web):
    form = web.get("/login")
    res = web.post(
        "/login",
        {"login": "admin", "password": DEMO_PASSWORD, "came_from": "//evil.com", "csrf_token": csrf_of(form)},
        status=303,
    )
    assert res.location == HOME
    # once logged in, GET /login?came_from=… goes through the same check (one argon2 login is enough)
    for came_from in OFFSITE:
        assert web.get("/login", {"came_from": came_from}, status=303).location == HOME, came_from
    assert web.get("/login", {"came_from": "/manage"}, status=303).location == "http://localhost/manage"


def test_login_without_or_with_a_wrong_csrf_token_is_refused(web):
    web.get("/login")  # the client has a session with a token
    before = len(audit_entries(web))
    for token in (None, "0" * 40):
        data = {"login": "admin", "password": DEMO_PASSWORD}
        if token:
            data["csrf_token"] = token
        res = web.post("/login", data, status=400)
        assert "Biểu mẫu đã hết hạn" in res.text
        assert "tải lại trang" in res.text
        assert "Traceback" not in res.text
        assert_security_headers(res)
    assert is_anonymous(web)
    assert len(audit_entries(web)) == before  # the password was never even checked


def test_a_new_client_posting_without_token_gets_no_session(demo_factory):
    client = demo_factory()
    res = client.post("/login", {"login": "admin", "password": DEMO_PASSWORD}, status=400)
    assert "Biểu mẫu đã hết hạn" in res.text
    assert is_anonymous(client)


# --- logging out ---------------------------------------------------------------------------


def test_logout_is_post_with_csrf_only(web):
    home = login(web, "admin").follow()
    token = csrf_of(home)
    assert 'id="logout"' in home.text

    web.get("/logout", status=404)  # a link or an <img> cannot log anyone out
    assert not is_anonymous(web)
    web.post("/logout", status=400)  # nor can another site's form
    web.post("/logout", {"csrf_token": "f" * 40}, status=400)
    assert not is_anonymous(web)

    res = web.post("/logout", {"csrf_token": token}, status=303)
    assert res.location == "http://localhost/login"
    assert is_anonymous(web)
    last = audit_entries(web)[-1]
    assert (last["action"], last["actor"]) == ("auth.logout", "admin")


# --- errors --------------------------------------------------------------------------------


def test_unknown_url_is_a_vietnamese_404_page(web):
    for path in ("/khong-co-trang-nay", "/directory/000.99.99.H49", "/static/nothing.css"):
        res = web.get(path, status=404)
        assert res.content_type == "text/html"
        assert "Không tìm thấy trang" in res.text
        assert "Về trang chủ" in res.text
        assert "Traceback" not in res.text
        assert_security_headers(res)
        # an anonymous error page starts no session (bots probing URLs cost nothing)
        assert "Set-Cookie" not in res.headers


def test_unknown_api_path_is_problem_json(web):
    res = web.get("/api/v1/nothing", status=404)
    assert res.content_type == "application/problem+json"
    problem = json.loads(res.text)
    assert problem["status"] == 404
    assert problem["title"] == "Không tìm thấy trang"
    assert problem["instance"] == "/api/v1/nothing"
    assert_security_headers(res)


def test_unhandled_exception_is_a_vietnamese_500_without_traceback(demo_factory, caplog):
    client = demo_factory(**{"pyramid.includes": "tests.support.boom_view"})
    with caplog.at_level(logging.ERROR, logger="lienthong"):
        res = client.get("/boom", status=500)
    assert res.content_type == "text/html"
    assert "Đã xảy ra lỗi" in res.text
    assert "Lỗi đã được ghi nhận" in res.text
    for leak in ("Traceback", BOOM_SECRET, "Boom", "boom_view.py"):
        assert leak not in res.text
    assert_security_headers(res)
    # "the error has been logged" is true: with the exception and its traceback
    logged = [r for r in caplog.records if "unhandled error on GET /boom" in r.getMessage()]
    assert logged and logged[0].exc_info and logged[0].exc_info[1].args == (BOOM_SECRET,)

    api = client.get("/api/v1/boom", status=500)
    assert api.content_type == "application/problem+json"
    assert json.loads(api.text)["title"] == "Đã xảy ra lỗi"
    assert BOOM_SECRET not in api.text

    conflict = client.get("/boom/conflict", status=409)
    assert "<h1>Xung đột dữ liệu</h1>" in conflict.text
    assert "Vui lòng tải lại trang và thử lại." in conflict.text
    assert "There was a conflict" not in conflict.text  # not WebOb's English explanation


# --- who sees what -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,came_from",
    [("/", "%2F"), ("/manage", "%2Fmanage"), ("/manage?a=1&b=2", "%2Fmanage%3Fa%3D1%26b%3D2")],
)
def test_anonymous_is_sent_to_login(web, path, came_from):
    res = web.get(path, status=303)
    assert res.location == f"http://localhost/login?came_from={came_from}"
    form = res.follow()
    assert "<h1>Đăng nhập</h1>" in form.text
    assert 'name="came_from" value="%s"' % path.replace("&", "&amp;") in form.text


def test_clerk_gets_a_403_page_on_manage(web):
    home = login(web, "vanthu.stttt").follow()
    assert "/manage" not in home.text  # no Management link either
    res = web.get("/manage", status=403)
    assert "Không có quyền truy cập" in res.text
    assert "Bạn không có quyền xem trang này." in res.text
    assert "Nguyễn Thị Mai" in res.text  # still shown as logged in, with the logout button
    assert 'id="logout"' in res.text


def test_a_refused_access_is_on_the_audit_record(web):
    """R12: refused access attempts are visible, although the request's transaction aborts."""
    login(web, "vanthu.stttt")
    web.get("/manage", status=403, extra_environ={"REMOTE_ADDR": "10.1.2.3"})
    entries = with_site(web.app, lambda site: list(site["audit"].iter_entries(reverse=True)))
    denied = entries[0]
    assert denied["action"] == "access.denied"
    assert (denied["actor"], denied["target"], denied["client"]) == ("vanthu.stttt", "/manage", "10.1.2.3")
    assert denied["details"] == {"method": "GET", "permission": "manage"}
    assert with_site(web.app, lambda site: site["audit"].verify()) is None


def test_admin_manage_shows_plugins_and_recent_audit(web):
    login(web, "admin")
    res = web.get("/manage")
    plugins = res.text[res.text.index('id="plugins"') : res.text.index('id="audit"')]
    assert "blobstore_zodb" in plugins and "lienthong_blob_stores" in plugins
    audit = res.text[res.text.index('id="audit"') :]
    rows = re.findall(r"<tr>(.*?)</tr>", audit, re.S)[1:]  # without the header
    entries = audit_entries(web)
    assert len(rows) == min(20, len(entries))
    assert "auth.login" in rows[0] and ">admin<" in rows[0] and "127.0.0.1" in rows[0]  # newest first
    assert f">{entries[-1]['seq']}<" in rows[0]
    # stored in UTC, shown in Viet Nam time (UTC+7) as dd/mm/yyyy
    shown = (datetime.fromisoformat(entries[-1]["time"]) + timedelta(hours=7)).strftime("%d/%m/%Y %H:%M:%S")
    assert f">{shown}</td>" in rows[0]
    assert f">{entries[-len(rows)]['seq']}<" in rows[-1]
    assert re.search(r'id="generation">(\d+) / \1<', res.text)


PANELS = {
    "vanthu.stttt": ("clerk", "Công tác văn thư", "Văn thư"),
    "lanhdao.stttt": ("leader", "Chỉ đạo, điều hành", "Lãnh đạo"),
    "admin": ("system_admin", "Quản trị hệ thống", "Quản trị hệ thống"),
    "kiemtoan": ("auditor", "Giám sát, kiểm tra", "Kiểm soát viên"),
}


@pytest.mark.parametrize("user", sorted(PANELS))
def test_home_shows_one_panel_per_role(web, user):
    role, title, role_title = PANELS[user]
    home = login(web, user).follow()
    assert re.findall(r'id="panel-([a-z_]+)"', home.text) == [role]
    assert f"<h2>{title}</h2>" in home.text
    assert role_title in home.text
    assert "Sở Thông tin và Truyền thông" in home.text  # the user's unit
    manage_link = 'href="http://localhost/manage"' in home.text
    assert manage_link == (role == "system_admin")
    if role == "auditor":
        web.get("/manage", status=403)


# --- headers, cookies, health --------------------------------------------------------------


def test_security_headers_on_pages_errors_and_static(web):
    assert_security_headers(web.get("/login"))
    assert_security_headers(web.get("/nope", status=404))
    assert_security_headers(web.get("/", status=303))
    css = web.get("/static/lienthong.css")
    assert css.content_type == "text/css"
    assert "max-age=3600" in css.headers["Cache-Control"]
    assert_security_headers(css)
    assert_security_headers(web.get("/healthz"))


def _session_cookie(response):
    cookies = [v for k, v in response.headerlist if k == "Set-Cookie" and v.startswith("lienthong_session=")]
    assert len(cookies) == 1, response.headerlist
    return {part.strip().split("=")[0].lower() for part in cookies[0].split(";")[1:]}, cookies[0]


def test_session_cookie_is_httponly_samesite_lax(web):
    flags, raw = _session_cookie(web.get("/login"))
    assert "httponly" in flags and "samesite=lax" in raw.lower()
    assert "secure" not in flags  # the tests run with lienthong.session.secure = false


def test_session_cookie_is_secure_by_default(demo_factory):
    # a secure site must know its https address (lienthong.public_url): see below
    public = {"lienthong.public_url": PUBLIC_URL, "lienthong.allowed_hosts": "localhost"}
    default = demo_factory(drop=("lienthong.session.secure",), **public)
    flags, raw = _session_cookie(default.get("/login"))
    assert {"secure", "httponly"} <= flags and "samesite=lax" in raw.lower()
    explicit = demo_factory(**{"lienthong.session.secure": "true", **public})
    assert "secure" in _session_cookie(explicit.get("/login"))[0]


# --- the public address and the Host header ------------------------------------------------

PUBLIC_URL = "https://lienthong.example.gov.vn"


def public_site(demo_factory, **extra):
    """A site that knows its address; WebTest's own Host (localhost) is an allowed extra host."""
    return demo_factory(
        **{"lienthong.public_url": PUBLIC_URL, "lienthong.allowed_hosts": "localhost", **extra}
    )


def test_links_forms_and_redirects_name_the_public_url_whatever_the_host(demo_factory):
    web = public_site(demo_factory)
    for host in ("localhost", "localhost:6543", "lienthong.example.gov.vn", "LIENTHONG.Example.gov.vn.:443"):
        page = web.get("/login", headers={"Host": host, "X-Forwarded-Host": "evil.example"})
        assert f'action="{PUBLIC_URL}/login"' in page.text, host
        assert "evil.example" not in page.text and "localhost" not in page.text
    assert web.get("/manage", status=303).location == PUBLIC_URL + "/login?came_from=%2Fmanage"
    # from here on as the browser sees it (WebTest files cookies under the host the app saw)
    web.extra_environ["HTTP_HOST"] = "lienthong.example.gov.vn"
    form = web.get("/login")
    # the public address is https: the browser's Origin is checked against it, not against Host
    credentials = {"login": "admin", "password": DEMO_PASSWORD, "csrf_token": csrf_of(form)}
    web.post("/login", credentials, headers={"Origin": "https://evil.example"}, status=400)
    res = web.post("/login", credentials, headers={"Origin": PUBLIC_URL}, status=303)
    assert res.location == PUBLIC_URL + "/"


def test_a_request_for_another_host_is_refused_with_a_short_vietnamese_page(demo_factory):
    web = public_site(demo_factory)
    before = len(audit_entries(web))
    for host in ("evil.example", "lienthong.example.gov.vn.evil.example", "127.0.0.1:6543", ""):
        res = web.get("/login", headers={"Host": host}, status=400)
        assert res.content_type == "text/html" and '<html lang="vi">' in res.text, host
        assert "Địa chỉ không đúng" in res.text and f'href="{PUBLIC_URL}/"' in res.text
        assert "evil" not in res.text and "Set-Cookie" not in res.headers
        assert_security_headers(res)
    english = web.get("/login?lang=en", headers={"Host": "evil.example"}, status=400)
    assert "Wrong address" in english.text
    # a login posted to another host is refused: nothing is recorded
    web.post(
        "/login", {"login": "admin", "password": DEMO_PASSWORD}, headers={"Host": "evil.example"}, status=400
    )
    assert len(audit_entries(web)) == before


def test_without_a_public_url_development_serves_any_host(web):
    page = web.get("/login", headers={"Host": "127.0.0.1:6543"})
    assert 'action="http://127.0.0.1:6543/login"' in page.text


@pytest.mark.parametrize(
    "settings,message",
    [
        ({}, "lienthong.public_url is not set"),
        ({"lienthong.public_url": "http://lienthong.example.gov.vn"}, "must be an https:// address"),
        ({"lienthong.public_url": "lienthong.example.gov.vn"}, "must be an https:// address"),
        ({"lienthong.public_url": "https://lienthong.example.gov.vn/hub"}, "without a path"),
        ({"lienthong.public_url": "https://user@lienthong.example.gov.vn"}, "without a path"),
    ],
)
def test_a_secure_site_must_know_its_https_address(tmp_path, settings, message):
    """lienthong.session.secure (the default, and production.ini's): a deployed hub behind TLS,
    so it needs the address its URLs name; the check runs before the database is opened."""
    from lienthong.core import StartupError, make_config

    from .support.app import base_settings

    values = base_settings(tmp_path, **settings)
    values.pop("lienthong.session.secure")
    with pytest.raises(StartupError, match=message):
        make_config(values)
    assert not (tmp_path / "Data.fs").exists()


def test_the_production_ini_names_an_https_public_url():
    import os

    from plaster import get_settings

    from lienthong.core import hosts

    from .support.app import ROOT

    settings = get_settings(os.path.join(ROOT, "etc", "production.ini"), "app:main")
    public = hosts.check_settings(settings)
    assert public.scheme == "https" and settings["lienthong.session.secure"] == "true"


def test_an_idle_session_times_out(demo_factory):
    """lienthong.session.timeout: an idle session ends; activity within it keeps it alive."""
    import time

    # the session's clock is kept in whole seconds: margins of a second on each side
    web = demo_factory(**{"lienthong.session.timeout": "3"})
    login(web, "vanthu.snv")
    time.sleep(1.5)
    assert "Đỗ Thị Hồng" in web.get("/").text  # activity within the timeout renews the session
    time.sleep(1.5)
    assert "Đỗ Thị Hồng" in web.get("/").text
    time.sleep(4)
    res = web.get("/", status=303)  # idle for longer than the timeout: logged out
    assert res.location.startswith("http://localhost/login")


def test_healthz_reports_the_generation(web):
    from lienthong.core import evolve

    res = web.get("/healthz")
    assert res.content_type == "application/json"
    assert res.json == {"status": "ok", "database": "ok", "generation": evolve.current_generation()}
    assert "Set-Cookie" not in res.headers


def test_metrics_from_localhost_only(web):
    web.get("/login")
    web.get("/nope", status=404)
    res = web.get("/metrics")
    assert res.content_type == "text/plain"
    text = res.text
    assert (
        "# TYPE lienthong_http_requests_total counter" in text
        or "# TYPE lienthong_http_requests counter" in text
    )
    assert re.search(r'lienthong_http_requests_total\{method="GET",status="200"\} [1-9]', text)
    assert re.search(r'lienthong_http_requests_total\{method="GET",status="404"\} [1-9]', text)
    size = re.search(r"^lienthong_zodb_size_bytes ([0-9.e+]+)$", text, re.M)
    assert size and float(size.group(1)) > 0

    outsider = {"REMOTE_ADDR": "203.0.113.7"}
    res = web.get("/metrics", extra_environ=outsider, status=403)
    assert "lienthong_" not in res.text
    # a forged X-Forwarded-For does not make an outsider local
    web.get("/metrics", extra_environ=outsider, headers={"X-Forwarded-For": "127.0.0.1"}, status=403)
    web.get("/metrics", extra_environ={"REMOTE_ADDR": "::1"}, status=200)
