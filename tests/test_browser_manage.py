"""The operator's screens of signatures and of the delivery queue in a real browser.

On the demo site of `lienthong init --demo`: the system administrator sees the demo CA
among the trust roots and Sở Nội vụ among the units that sign, and the transport page.
"""

import pytest

from .test_browser import browser, page, server, shot  # noqa: F401  (fixtures)
from .test_browser_accounts import log_in

pytestmark = pytest.mark.browser

SNV = "000.00.02.H49"


def test_the_operator_sees_trust_roots_signing_units_and_the_transport_queue(server, page):
    from .support.app import DEMO_PASSWORD

    log_in(page, server, "admin", DEMO_PASSWORD)
    page.wait_for_url(server + "/**")
    page.goto(server + "/manage/signing")
    roots = page.locator("#root-list tbody tr")
    assert roots.count() == 1 and "LienThong" in roots.first.inner_text()  # the demo CA
    assert SNV in page.locator("#key-list").inner_text()
    assert "pades" in page.locator("#signers").inner_text()
    shot(page, "30-manage-signing.png")
    page.goto(f"{server}/manage/units/{SNV}/signing")
    assert page.locator("form").count() >= 1
    shot(page, "31-unit-signing.png")
    page.goto(server + "/manage/transport")
    assert page.locator("#queues h2").is_visible() and page.locator("#dead h2").is_visible()
    shot(page, "32-manage-transport.png")
    assert page.problems == []
