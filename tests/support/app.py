"""What most tests build on: settings for a site in a temp dir, the application, a
transaction on its site, logging in, and ``need`` for what the machine may lack.

Tests that need something from the machine (PostgreSQL, chromium, SoftHSM2) call
``need(reason, available)``: it skips when the thing is absent, and fails instead when
``LIENTHONG_REQUIRE_ALL=1`` (as in CI), so nothing silently stops being tested.
The fixtures built on these live in ``tests/conftest.py``.
"""

import os
import re
import socket

import pytest

REQUIRE_ALL = os.environ.get("LIENTHONG_REQUIRE_ALL") == "1"
DEMO_PASSWORD = "demo-password-1"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def need(what, available):
    """Skip (or, with LIENTHONG_REQUIRE_ALL=1, fail) when ``available`` is false."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required (LIENTHONG_REQUIRE_ALL=1) but not available")
    pytest.skip(f"{what} is not available")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def file_uri(directory):
    return f"file://{directory}/Data.fs?blobstorage_dir={directory}/blobs"


def base_settings(tmp_path, **extra):
    settings = {
        "zodbconn.uri": file_uri(tmp_path),
        "lienthong.secret": "test-secret-" + "x" * 32,
        "lienthong.session.secure": "false",
        "lienthong.auto_migrate": "true",
        "pyramid.default_locale_name": "vi",
        "retry.attempts": "3",
    }
    settings.update(extra)
    return settings


def make_app(settings):
    from lienthong.core import main

    return main({}, **settings)


def close_app(app):
    from lienthong.core.db import close_databases

    close_databases(app.registry)


def with_site(app, fn):
    """Run ``fn(site)`` in its own transaction on ``app``'s database and commit (a conflict fails)."""
    from lienthong.core.db import get_database, run_in_site

    return run_in_site(get_database(app.registry), fn, attempts=1)


def csrf_of(response):
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, "the page has no CSRF token"
    return match.group(1)


def login(testapp, login_name, password=DEMO_PASSWORD, status=303):
    form_page = testapp.get("/login")
    return testapp.post(
        "/login", {"login": login_name, "password": password, "csrf_token": csrf_of(form_page)}, status=status
    )
