"""Skin layers: a later layer overrides a template of the same name; the rest still comes
from the layers below. And the templates obey the CSP (no inline styles or scripts)."""

import glob
import os
import re

import pytest

from lienthong.core.skins import SkinLayers

from .support.app import ROOT, login
from .support.demo import demo_factory, web  # noqa: F401  (fixtures)

OVERRIDE = {"pyramid.includes": "tests.support.skin_override"}
TEMPLATES = sorted(
    glob.glob(os.path.join(ROOT, "skins", "*", "*.pt"))
    + glob.glob(os.path.join(ROOT, "tests", "support", "*", "*.pt"))
)


def test_a_later_layer_overrides_a_template_of_the_same_name(demo_factory):
    site = demo_factory(**OVERRIDE)
    page = site.get("/login")
    assert 'id="override-login"' in page.text
    assert "lớp giao diện override" in page.text
    # the override renders inside the default layout, translated as usual
    assert 'class="topbar"' in page.text and "Liên thông văn bản" in page.text
    assert "<h1>Đăng nhập</h1>" in page.text
    # other templates still come from the default layer
    missing = site.get("/nope", status=404)
    assert 'class="card narrow error-page"' in missing.text and "override" not in missing.text
    # and the overriding form works: it logs in
    home = login(site, "admin").follow()
    assert 'id="panel-system_admin"' in home.text and "override" not in home.text


def test_without_the_layer_the_default_template_is_used(web):
    page = web.get("/login")
    assert "<h1>Đăng nhập</h1>" in page.text
    assert "override" not in page.text


def test_layer_order_and_replacement(tmp_path):
    for layer, files in {"a": ("x.pt", "y.pt"), "b": ("x.pt",)}.items():
        (tmp_path / layer).mkdir()
        for name in files:
            (tmp_path / layer / name).write_text(f"<p>{layer}/{name}</p>")
    skins = SkinLayers()
    skins.add("a", str(tmp_path / "a"))
    skins.add("b", str(tmp_path / "b"))
    assert skins.find("x.pt") == str(tmp_path / "b" / "x.pt")  # the later layer wins
    assert skins.find("y.pt") == str(tmp_path / "a" / "y.pt")  # the earlier one still serves the rest
    assert skins.template("x.pt").render() == "<p>b/x.pt</p>"
    skins.add("a", str(tmp_path / "a"))  # adding a layer again moves it on top
    assert skins.find("x.pt") == str(tmp_path / "a" / "x.pt")
    assert skins.template("x.pt").render() == "<p>a/x.pt</p>"
    with pytest.raises(LookupError):
        skins.find("z.pt")
    with pytest.raises(ValueError):
        skins.add("c", str(tmp_path / "missing"))


def test_a_layer_that_is_not_a_directory_stops_start_up(demo_factory):
    with pytest.raises(ValueError, match="no_such_dir"):
        demo_factory(**{"pyramid.includes": "tests.support.bad_layer"})


@pytest.mark.parametrize("path", TEMPLATES, ids=os.path.basename)
def test_templates_have_no_inline_styles_or_scripts(path):
    """The CSP (style-src/script-src 'self') would block them in the browser."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    assert not re.search(r"<script\b(?![^>]*\bsrc=)", text, re.I), "inline <script>"
    assert not re.search(r"<style\b", text, re.I), "<style> element"
    assert not re.search(r"\sstyle\s*=", text, re.I), "style attribute"
    assert not re.search(r"\son[a-z]+\s*=", text, re.I), "event handler attribute"
    assert not re.search(r"javascript:", text, re.I)


def test_static_stylesheet_is_served(web):
    css = web.get("/static/lienthong.css")
    assert css.content_type == "text/css"
    assert ".topbar" in css.text
    assert css.headers["X-Content-Type-Options"] == "nosniff"


def test_first_renders_in_many_threads_at_once_all_succeed(tmp_path):
    """Templates compile on first use; threads that all ask at once must all get the page."""
    import threading

    from webob import Request

    from .support.app import base_settings, close_app, make_app

    for round_ in range(4):
        app = make_app(base_settings(tmp_path / f"r{round_}"))
        barrier = threading.Barrier(8)
        statuses = []

        def get():
            barrier.wait(timeout=30)
            statuses.append(Request.blank("/login").get_response(app).status_int)

        threads = [threading.Thread(target=get) for _ in range(8)]
        try:
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
        finally:
            close_app(app)
        assert statuses == [200] * 8, statuses
