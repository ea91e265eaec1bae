"""Shared fixtures: a real site on a FileStorage in a temp dir, the WSGI app, WebTest.

The helpers they use (and that tests import) are in ``tests/support/app.py``.
"""

import os
import sys

import pytest

from .support.app import DEMO_PASSWORD, base_settings, close_app, make_app, with_site


@pytest.fixture
def settings(tmp_path):
    return base_settings(tmp_path)


@pytest.fixture
def app(settings):
    application = make_app(settings)
    yield application
    close_app(application)


@pytest.fixture
def demo_app(app):
    from lienthong.core.services import demo

    with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))
    return app


@pytest.fixture
def testapp(demo_app):
    from webtest import TestApp

    return TestApp(demo_app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})


@pytest.fixture
def venv_bin():
    """The bin directory of the Python running the tests (where `lienthong` is installed)."""
    return os.path.dirname(sys.executable)
