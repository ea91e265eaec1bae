"""The real server in a real browser: `lienthong init --demo`, `lienthong serve`, chromium.

Starts the console script exactly as an operator would (a temporary ini like
etc/development.ini, paths in a temp dir), waits for /healthz, then drives Debian's
chromium with Playwright through the login form, the home page, /manage and the
language switch. Screenshots go to var/screenshots/ of the repository for review.
"""

import json
import os
import shutil
import urllib.request

import pytest

from .support import cli
from .support.app import DEMO_PASSWORD, free_port, need

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOTS = os.path.join(REPO, "var", "screenshots")


def _playwright_available():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(CHROMIUM, os.X_OK)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The shipped etc/development.ini, copied into a temp site so its ../var is the temp var/."""
    need("chromium", _playwright_available())
    tmp = tmp_path_factory.mktemp("browser-site")
    (tmp / "etc").mkdir()
    shutil.copy(os.path.join(REPO, "etc", "development.ini"), tmp / "etc" / "development.ini")
    ini = str(tmp / "etc" / "development.ini")
    init = cli.run(
        ["init", "--demo"], ini=ini, env=cli.clean_env(LIENTHONG_DEMO_PASSWORD=DEMO_PASSWORD), timeout=120
    )
    assert init.returncode == 0, init.stderr
    assert "demo province created" in init.stdout
    assert DEMO_PASSWORD not in init.stdout  # a password given by the operator is not echoed
    assert (tmp / "var" / "Data.fs").exists()  # the ini's ../var is the site's own var/

    port = free_port()
    proc = cli.start_server(ini, port, tmp / "serve.log", timeout=40)
    base = f"http://127.0.0.1:{port}"
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=5) as res:
            health = json.loads(res.read())
        assert health["status"] == "ok" and health["generation"] >= 1
        assert oct(os.stat(tmp / "var" / "secret").st_mode & 0o777) == "0o600"  # made at first start
        yield base
    finally:
        cli.stop(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(15000)
    problems = []
    # CSP violations and failed loads show up as console errors: the pages must have none.
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    yield page
    context.close()


def shot(page, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, name)
    page.screenshot(path=path, full_page=True)
    assert os.path.getsize(path) > 1000
    return path


def test_admin_logs_in_manages_and_switches_language(server, page):
    # Anonymous: the home page sends us to the login form, in Vietnamese.
    page.goto(server + "/")
    assert "/login?came_from=" in page.url
    assert page.locator("h1").inner_text() == "Đăng nhập"
    assert page.locator("html").get_attribute("lang") == "vi"
    # the stylesheet really applied (a CSP or path mistake would leave the default white header)
    topbar_bg = page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor")
    assert topbar_bg not in ("rgba(0, 0, 0, 0)", "transparent")
    shot(page, "01-login.png")

    # A wrong password: the generic Vietnamese message, still on the form.
    page.fill("#login", "admin")
    page.fill("#password", "not-the-password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("p.error")
    assert page.locator("p.error").inner_text() == "Tên đăng nhập hoặc mật khẩu không đúng."
    shot(page, "02-login-failed.png")
    page.problems.clear()  # the 401 itself is logged by chromium as a failed resource

    # The right password: the home page with the admin's panel and the Management link.
    page.fill("#login", "admin")
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(server + "/")
    assert page.locator("h1").inner_text().startswith("Xin chào")
    assert page.locator("#panel-system_admin").is_visible()
    manage_link = page.locator("nav.main-nav a", has_text="Quản trị")
    assert manage_link.is_visible()
    shot(page, "03-home.png")

    manage_link.click()
    page.wait_for_url(server + "/manage")
    assert page.locator("#plugins").inner_text().count("blobstore_zodb") == 1
    assert "auth.login" in page.locator("#audit").inner_text()
    shot(page, "04-manage-vi.png")

    # the audit log: its menu entry, the chain check
    page.click("nav.main-nav a[href$='/audit']")
    page.wait_for_url(server + "/audit")
    page.click("#verify")
    assert "Chuỗi nhật ký toàn vẹn" in page.locator("#verified").inner_text()
    shot(page, "04b-audit-vi.png")
    page.goto(server + "/manage")

    # Switch to English: same page, English words, and it sticks for the next page.
    page.click(".langs a[hreflang=en]")
    page.wait_for_url(server + "/manage")
    assert page.locator("main h1").inner_text() == "Management"
    assert page.locator("html").get_attribute("lang") == "en"
    shot(page, "05-manage-en.png")
    page.goto(server + "/")
    assert page.locator("h1").inner_text().startswith("Welcome")
    shot(page, "06-home-en.png")

    # Log out through the form (POST with the CSRF token): back to the login page.
    page.click("#logout")
    page.wait_for_url(server + "/login")
    page.goto(server + "/manage")
    assert "/login?came_from=%2Fmanage" in page.url

    assert page.problems == []


def test_unknown_page_is_a_vietnamese_404(server, page):
    response = page.goto(server + "/khong-co-trang-nay")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Không tìm thấy trang"
    assert "Traceback" not in page.content()
    shot(page, "07-not-found.png")
