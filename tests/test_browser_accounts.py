"""The directory and accounts in a real browser on the real server (see test_browser.py).

An anonymous visitor finds a unit without typing accents; the system administrator
creates an account in the browser; its holder logs in with the one-time password, is held
on the change-password page until they choose their own, and then reaches their mailbox
and nothing else's.
"""

import pytest

from .support.app import DEMO_PASSWORD
from .test_browser import browser, page, server, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def log_in(page, server, login, password):
    page.goto(server + "/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("#login-form button[type=submit]")


def test_address_book_search_ignores_accents(server, page):
    page.goto(server + "/directory")
    page.fill("#q", "so thong tin")
    page.click("#directory-search button[type=submit]")
    page.wait_for_url("**q=so+thong+tin**")
    main = page.locator("main").inner_text()
    assert "Sở Thông tin và Truyền thông" in main and "000.00.12.H49" in main
    assert "Sở Nội vụ" not in main
    shot(page, "10-directory-search.png")
    page.click("main a[href$='/directory/000.00.12.H49']")
    page.wait_for_url(server + "/directory/000.00.12.H49")
    assert "Sở Thông tin và Truyền thông" in page.locator("h1").inner_text()
    shot(page, "11-unit-page.png")
    assert page.problems == []


def test_new_account_changes_its_one_time_password_then_reads_its_unit_mailbox(server, page):
    log_in(page, server, "admin", DEMO_PASSWORD)
    page.wait_for_url(server + "/")
    page.goto(server + "/manage/users")
    page.fill("#new-user-form #login", "tran.thi.moi")
    page.fill("#new-user-form #fullname", "Trần Thị Mới")
    page.select_option("#new-user-form #unit_code", "000.00.02.H49")
    page.check("#new-user-form input[name=roles][value=clerk]")
    page.click("#new-user-form button[type=submit]")
    page.wait_for_selector("#initial-password")
    one_time = page.locator("#initial-password").inner_text().strip()
    assert len(one_time) >= 10
    shot(page, "12-account-created.png")
    page.click("#logout")
    page.wait_for_url(server + "/login")

    # the one-time password works once, and only to choose a new one
    log_in(page, server, "tran.thi.moi", one_time)
    page.wait_for_url(server + "/password")
    assert page.locator("#must-change").is_visible()
    page.goto(server + "/directory/000.00.02.H49/mailbox")
    assert page.url == server + "/password"  # held here until the password is changed
    page.fill("#current_password", one_time)
    page.fill("#new_password", "tran.thi.moi")  # the policy refuses the login as password
    page.fill("#confirm_password", "tran.thi.moi")
    page.click("#password-form button[type=submit]")
    page.wait_for_selector("#new_password-error")
    shot(page, "13-password-refused.png")
    page.problems.clear()  # the 400 of the refused form is logged by chromium as a failed resource
    page.fill("#current_password", one_time)
    page.fill("#new_password", "Van-thu-moi-2026")
    page.fill("#confirm_password", "Van-thu-moi-2026")
    page.click("#password-form button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/password"))

    response = page.goto(server + "/directory/000.00.02.H49/mailbox")
    assert response.status == 200
    shot(page, "14-unit-mailbox.png")
    response = page.goto(server + "/directory/000.00.12.H49/mailbox")
    assert response.status == 403  # another unit's mailbox
    page.problems.clear()
