"""The document exchange in a real browser on the real server (see test_browser.py).

A clerk of Sở Nội vụ composes a decision with a PDF attached and issues it — signed with
the demo key that `lienthong init --demo` gives Sở Nội vụ; the clerk of Sở Thông tin và
Truyền thông finds it in the inbox without typing accents, opens it, sees the signature's
badge, accepts it, and sees the incoming number.
"""

import re

import pytest

from .support.pki import sample_pdf
from .test_browser import browser, page, server, shot  # noqa: F401  (fixtures)
from .test_browser_accounts import log_in

pytestmark = pytest.mark.browser

SNV = "000.00.02.H49"
STTTT = "000.00.12.H49"
SUBJECT = "Quyết định về việc triển khai liên thông văn bản điện tử"


def test_a_clerk_issues_with_an_attachment_and_the_recipient_accepts(server, page):
    from .support.app import DEMO_PASSWORD

    log_in(page, server, "vanthu.snv", DEMO_PASSWORD)
    page.wait_for_url(server + "/")
    page.click("#nav-compose")
    page.wait_for_url(f"{server}/directory/{SNV}/mailbox/compose")
    page.select_option("#doc_type", "QD")
    page.fill("#subject", SUBJECT)
    page.fill("#content", "Triển khai gửi, nhận văn bản điện tử qua trục liên thông")
    page.fill("#signer_name", "Hoàng Đức Thắng")
    page.select_option("#recipients", [STTTT])
    page.set_input_files(
        "#attachments",
        files=[{"name": "quyet-dinh.pdf", "mimeType": "application/pdf", "buffer": sample_pdf()}],
    )
    shot(page, "20-compose.png")
    page.click("#issue")
    page.wait_for_url("**/documents/*")
    notation = page.locator("#notation").inner_text()
    assert re.fullmatch(r"\d+/QĐ-SNV", notation), notation  # the next number of the outgoing register
    assert page.locator("#attachments a.download").inner_text() == "quyet-dinh.pdf"
    assert page.locator("#recipient-states").is_visible()
    assert "quyet-dinh.pdf" in page.locator("#signed-at-issue").inner_text()  # signed with the unit's key
    shot(page, "21-issued.png")
    page.click("#logout")
    page.wait_for_url(server + "/login")

    log_in(page, server, "vanthu.stttt", DEMO_PASSWORD)
    page.wait_for_url(server + "/")
    page.click("#nav-search")
    page.fill("#q", "lien thong van ban")
    page.click("#search-form button[type=submit]")
    page.wait_for_selector("#documents")
    assert SUBJECT in page.locator("#documents").inner_text()
    page.click("#nav-inbox")
    page.wait_for_url(f"{server}/directory/{STTTT}/mailbox")
    row = page.locator("#documents tbody tr.unread", has_text=SUBJECT)
    assert row.count() == 1
    shot(page, "22-inbox.png")
    row.locator("a", has_text=SUBJECT).click()
    page.wait_for_url("**/documents/*")
    badge = page.locator("#attachments .sig-badge")
    assert badge.count() == 1 and "sig-valid" in badge.get_attribute("class")
    assert badge.inner_text() == "Chữ ký số hợp lệ"  # verified when it arrived, shown in Vietnamese
    shot(page, "22b-signed.png")
    page.click("#act-accept button[type=submit]")
    page.wait_for_selector("#my-register")
    assert re.fullmatch(r"\d+/20\d\d", page.locator("#my-register").inner_text())
    assert page.locator(".flash").count() == 1
    shot(page, "23-accepted.png")
    assert page.problems == []
