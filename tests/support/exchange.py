"""A demo site with its application registry, for testing the document services directly.

``hub.tx(fn)`` runs ``fn(site)`` in a transaction of its own and commits, the way a
request would; ``hub.env`` is the services' view of the running application.
"""

import io

import pytest

from lienthong.core.services import audit
from lienthong.core.services.env import get_env

from .app import with_site

SNV = "000.00.02.H49"  # Sở Nội vụ (clerk vanthu.snv, leader lanhdao.snv, specialist chuyenvien.snv)
STTTT = "000.00.12.H49"  # Sở Thông tin và Truyền thông (the operator)
VUNGTAU = "000.00.31.H49"  # UBND TP Vũng Tàu
STP = "000.00.03.H49"  # Sở Tư pháp (no users)
NOT_CONNECTED = "000.00.14.H49"

PDF = (
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
    b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
)


def pdf_file(text="noi dung"):
    return io.BytesIO(PDF + f"% {text}\n".encode())


def actor(login, on_behalf_of=None):
    return audit.Actor(login=login, on_behalf_of=on_behalf_of, client="127.0.0.1")


class Hub:
    def __init__(self, testapp):
        self.web = testapp
        self.app = testapp.app
        self.env = get_env(self.app.registry)

    def tx(self, fn):
        return with_site(self.app, fn)


def basic(**extra):
    data = {
        "doc_type": "QD",
        "subject": "Quyết định về việc ban hành kế hoạch chuyển đổi số năm 2026",
        "content": "Ban hành kèm theo Quyết định này Kế hoạch chuyển đổi số",
        "signer_name": "Hoàng Đức Thắng",
        "signer_position": "Phó Giám đốc",
        "recipients": [STTTT, VUNGTAU],
    }
    data.update(extra)
    return data


@pytest.fixture
def hub(demo_factory):
    return Hub(demo_factory())


def hub_with_plugins(demo_factory, *plugins):
    """A ``Hub`` on a fresh demo site whose application also registers ``plugins``; close it with
    ``close_app(hub.app)``."""
    from webtest import TestApp

    from lienthong.core import _startup_check, make_config

    from .app import close_app

    web = demo_factory()
    settings = dict(web.app.registry.settings)
    close_app(web.app)
    config = make_config(settings, plugins=list(plugins))
    app = config.make_wsgi_app()
    try:
        _startup_check(config.registry)
    except BaseException:
        close_app(app)
        raise
    return Hub(TestApp(app))
