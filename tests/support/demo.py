"""A fresh copy of the demo site for each web, skin and i18n test.

Building the demo province hashes a dozen passwords with argon2 (seconds on a small
machine), so it is built once per test session into a snapshot directory and every test
gets its own copy of the FileStorage files: each test still runs on a fresh, real database.
"""

import os
import shutil

import pytest

from .app import DEMO_PASSWORD, base_settings, close_app, make_app, with_site

DATA_FILES = ("Data.fs", "Data.fs.index")
_READY = ".complete"


def build_demo_snapshot(directory):
    """Create the demo site in ``directory`` (once: reused when already complete)."""
    if os.path.exists(os.path.join(directory, _READY)):
        return directory
    os.makedirs(directory, exist_ok=True)
    from lienthong.core.services import demo

    app = make_app(base_settings(directory))
    try:
        with_site(app, lambda site: demo.populate(site, DEMO_PASSWORD))
    finally:
        close_app(app)
    open(os.path.join(directory, _READY), "w").close()
    return directory


def copy_snapshot(snapshot, target):
    for name in DATA_FILES:
        src = os.path.join(snapshot, name)
        if os.path.exists(src):
            shutil.copy2(src, os.path.join(target, name))
    if os.path.isdir(os.path.join(snapshot, "blobs")):
        shutil.copytree(os.path.join(snapshot, "blobs"), os.path.join(target, "blobs"), dirs_exist_ok=True)


@pytest.fixture
def demo_factory(tmp_path, tmp_path_factory):
    """``demo_factory(**settings)`` -> a WebTest ``TestApp`` on a fresh copy of the demo site.

    Extra settings (``pyramid.includes``, ``lienthong.session.secure``…) go to the app;
    settings named in ``drop`` are removed so the application's default applies.
    The apps are closed at teardown.
    """
    from webtest import TestApp

    snapshot = build_demo_snapshot(str(tmp_path_factory.getbasetemp() / "demo-snapshot"))
    apps = []

    def factory(drop=(), **extra):
        target = tmp_path / f"site{len(apps)}"
        target.mkdir()
        copy_snapshot(snapshot, str(target))
        settings = base_settings(target, **extra)
        for name in drop:  # test the application's own default for these
            settings.pop(name, None)
        app = make_app(settings)
        apps.append(app)
        return TestApp(app, extra_environ={"REMOTE_ADDR": "127.0.0.1"})

    yield factory
    for app in apps:
        close_app(app)


@pytest.fixture
def web(demo_factory):
    """WebTest on a fresh copy of the demo site, default test settings."""
    return demo_factory()


def audit_entries(testapp):
    """All audit entries of ``testapp``'s site, oldest first."""
    return with_site(testapp.app, lambda site: list(site["audit"].iter_entries()))
