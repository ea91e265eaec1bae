"""The real server in a real browser: `lienthong init --demo`, `lienthong serve`, chromium.

Starts the console script exactly as an operator would (a temporary ini like
etc/development.ini, paths in a temp dir), waits for /healthz, then drives Debian's
chromium with Playwright through the login form, the home page, /manage and the
language switch. Screenshots go to var/screenshots/ of the repository for review.
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from .conftest import DEMO_PASSWORD, free_port, need

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCREENSHOTS = os.path.join(REPO, "var", "screenshots")

INI = """\
[app:main]
use = egg:lienthong
pyramid.reload_templates = false
pyramid.default_locale_name = vi
zodbconn.uri = file://{var}/Data.fs?blobstorage_dir={var}/blobs
retry.attempts = 3
lienthong.secret_file = {var}/secret
lienthong.session.secure = false
lienthong.session.timeout = 1800
lienthong.auto_migrate = true
lienthong.blob_store = zodb
lienthong.plugins.disabled =
lienthong.metrics.allow = 127.0.0.1 ::1

[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = 6543
threads = 4

[loggers]
keys = root, lienthong

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[logger_lienthong]
level = INFO
handlers =
qualname = lienthong

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %(asctime)s %(levelname)-5.5s [%(name)s] %(message)s
"""


def _playwright_available():
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.access(CHROMIUM, os.X_OK)


def _wait_for_health(url, proc, log_path, timeout=40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            with open(log_path) as f:
                pytest.fail(f"lienthong serve exited with {proc.returncode}:\n{f.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                return json.loads(res.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    with open(log_path) as f:
        pytest.fail(f"{url} did not answer within {timeout}s:\n{f.read()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    need("chromium", _playwright_available())
    tmp = tmp_path_factory.mktemp("browser-site")
    var = tmp / "var"
    var.mkdir()
    ini = tmp / "site.ini"
    ini.write_text(INI.format(var=var))
    bindir = os.path.dirname(sys.executable)
    lienthong = os.path.join(bindir, "lienthong")
    env = {k: v for k, v in os.environ.items() if k != "LIENTHONG_CONFIG"}
    env["LIENTHONG_DEMO_PASSWORD"] = DEMO_PASSWORD
    init = subprocess.run([lienthong, "--config", str(ini), "init", "--demo"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert init.returncode == 0, init.stderr
    assert "demo province created" in init.stdout
    assert DEMO_PASSWORD not in init.stdout  # a password given by the operator is not echoed

    port = free_port()
    log_path = tmp / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([lienthong, "--config", str(ini), "serve", "--port", str(port)],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        health = _wait_for_health(base + "/healthz", proc, log_path)
        assert health["status"] == "ok" and health["generation"] >= 1
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


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
