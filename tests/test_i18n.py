"""Translations: the catalog is complete and compiled, and the site speaks Vietnamese first.

Msgids are English (domain "lienthong"); Vietnamese comes from
skins/locale/vi/LC_MESSAGES/lienthong.po, compiled to lienthong.mo.
"""

import os
import re
import shutil
import subprocess
import sys

import pytest
from babel.messages import mofile

from lienthong.core import i18n_tools

from .support.app import ROOT, login
from .support.demo import demo_factory, web  # noqa: F401  (fixtures)

LOCALE = os.path.join(ROOT, "skins", "locale")
POT = os.path.join(LOCALE, "lienthong.pot")
VI_PO = os.path.join(LOCALE, "vi", "LC_MESSAGES", "lienthong.po")
VI_MO = os.path.join(LOCALE, "vi", "LC_MESSAGES", "lienthong.mo")
PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def messages_of_mo(path):
    with open(path, "rb") as f:
        catalog = mofile.read_mo(f)
    return {m.id: m.string for m in catalog if m.id}


def msgids(catalog):
    return {m.id for m in catalog if m.id}


# --- the catalog ---------------------------------------------------------------------------


def test_the_package_uses_this_catalog():
    assert i18n_tools.locale_dir() == LOCALE
    assert i18n_tools.po_files() == [VI_PO]


def test_mo_is_up_to_date_with_po(tmp_path):
    fresh = str(tmp_path / "fresh.mo")
    i18n_tools.compile_po(VI_PO, fresh)
    shipped = messages_of_mo(VI_MO)
    assert shipped == messages_of_mo(fresh), (
        "lienthong.mo is stale: run `python -m lienthong.core.i18n_tools compile`"
    )
    assert len(shipped) >= 50


def test_every_msgid_of_the_pot_has_a_vietnamese_translation():
    template = i18n_tools.read_pot()
    catalog = i18n_tools.read_po(VI_PO)
    assert len(msgids(template)) >= 50
    assert i18n_tools.untranslated(catalog, template) == []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        assert translated.string.strip(), message.id
        # ${name} placeholders must survive translation, or the mapping is lost
        assert set(PLACEHOLDER.findall(translated.string)) == set(PLACEHOLDER.findall(message.id)), message.id


def test_the_pot_covers_every_msgid_in_templates_and_python(tmp_path):
    """Re-extract with lingua exactly as `make i18n` does; nothing may be missing from the .pot."""
    pot_create = os.path.join(os.path.dirname(sys.executable), "pot-create")
    assert os.path.exists(pot_create), "lingua (a test dependency) provides pot-create"
    fresh = tmp_path / "fresh.pot"
    subprocess.run(
        [pot_create, "-o", str(fresh), "core", "skins"], cwd=ROOT, check=True, capture_output=True, timeout=60
    )
    extracted = msgids(i18n_tools.read_po(str(fresh)))
    shipped = msgids(i18n_tools.read_pot())
    assert extracted - shipped == set(), "run `make i18n`: new msgids are not in lienthong.pot"
    # a few that must be there: a template string, a ${name} mapping, Python strings
    assert {"Log in", "Welcome, ${name}", "The login or password is incorrect.", "Clerk"} <= extracted


def test_python_msgids_are_marked_for_extraction():
    """`translate(request, "text")` would never reach the .pot: msgids are written `_("text")`."""
    bare = re.compile(r"""translate\(\s*request\s*,\s*[rRuU]?["']""")
    offenders = []
    for folder, _dirs, files in os.walk(os.path.join(ROOT, "core")):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        if bare.search(line):
                            offenders.append(f"{os.path.relpath(path, ROOT)}:{number}")
    assert offenders == []


def test_the_compile_and_check_commands(tmp_path):
    """`python -m lienthong.core.i18n_tools compile|check` on a copy of the catalog."""
    copy = tmp_path / "locale"
    shutil.copytree(LOCALE, copy)
    mo = copy / "vi" / "LC_MESSAGES" / "lienthong.mo"
    mo.unlink()
    run = [sys.executable, "-m", "lienthong.core.i18n_tools", "--dir", str(copy)]
    done = subprocess.run(run + ["compile"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert messages_of_mo(str(mo)) == messages_of_mo(VI_MO)
    assert subprocess.run(run + ["check"], capture_output=True, timeout=60).returncode == 0

    # a msgid the translators have not done yet: `check` names it and fails
    po = copy / "vi" / "LC_MESSAGES" / "lienthong.po"
    with open(po, "a", encoding="utf-8") as f:
        f.write('\nmsgid "A brand new message"\nmsgstr ""\n')
    with open(copy / "lienthong.pot", "a", encoding="utf-8") as f:
        f.write('\nmsgid "A brand new message"\nmsgstr ""\n')
    done = subprocess.run(run + ["check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "A brand new message" in done.stdout


# --- the site ------------------------------------------------------------------------------


def lang_of(response):
    return re.search(r'<html[^>]*\blang="(\w+)"', response.text).group(1)


def test_vietnamese_by_default_english_after_switching(web):
    page = web.get("/login")
    assert lang_of(page) == "vi"
    assert "<h1>Đăng nhập</h1>" in page.text and "Mật khẩu" in page.text

    switch = web.get("/language", {"lang": "en", "came_from": "/login"}, status=303)
    assert switch.location == "http://localhost/login"
    cookie = [v for k, v in switch.headerlist if k == "Set-Cookie" and v.startswith("_LOCALE_=en")]
    assert cookie and "SameSite=Lax" in cookie[0] and "Max-Age=" in cookie[0]
    page = switch.follow()
    assert lang_of(page) == "en"
    assert "<h1>Log in</h1>" in page.text and "Password" in page.text and "Mật khẩu" not in page.text
    # errors follow the language too
    assert "Page not found" in web.get("/nope", status=404).text

    web.get("/language", {"lang": "vi", "came_from": "/login"}, status=303)
    assert "<h1>Đăng nhập</h1>" in web.get("/login").text


def test_unknown_language_is_ignored(web):
    res = web.get("/language", {"lang": "fr", "came_from": "/login"}, status=303)
    assert res.location == "http://localhost/login"
    assert "_LOCALE_" not in res.headers.get("Set-Cookie", "")
    assert "<h1>Đăng nhập</h1>" in res.follow().text
    # nor does a forged cookie or parameter change anything
    web.set_cookie("_LOCALE_", "xx")
    assert lang_of(web.get("/login")) == "vi"
    assert lang_of(web.get("/login", {"lang": "de"})) == "vi"
    # while a known one works as a parameter
    assert lang_of(web.get("/login", {"lang": "en"})) == "en"


def test_language_switch_is_not_an_open_redirect(web):
    res = web.get("/language", {"lang": "en", "came_from": "//evil.com/x"}, status=303)
    assert res.location == "http://localhost/"


def test_names_and_role_titles_are_translated_with_their_mapping(web):
    home = login(web, "vanthu.stttt").follow()
    assert re.search(r"<h1>Xin chào, <span>Nguyễn Thị Mai</span></h1>", home.text)
    assert re.search(
        r'<span class="unit">Sở Thông tin và Truyền thông</span>\s*<span class="roles">Văn thư</span>',
        home.text,
    )
    web.get("/language", {"lang": "en"}, status=303)
    home = web.get("/")
    assert re.search(r"<h1>Welcome, <span>Nguyễn Thị Mai</span></h1>", home.text)
    assert '<span class="roles">Clerk</span>' in home.text
    assert "Clerical work" in home.text


def test_page_titles_are_translated(web):
    login(web, "admin")
    for lang, title in (("vi", "Quản trị"), ("en", "Management")):
        res = web.get("/manage", {"lang": lang})
        assert f"<title>{title} — LienThong</title>" in res.text


def test_times_are_shown_in_the_configured_zone_and_a_wrong_zone_stops_start_up(tmp_path):
    from webob import Request

    from lienthong.core.views.base import local_time

    from .support.app import base_settings, close_app, make_app

    app = make_app(base_settings(tmp_path / "hcm"))
    try:
        request = Request.blank("/")
        request.registry = app.registry
        assert local_time(request, "2026-01-01T17:30:00+00:00") == "02/01/2026 00:30:00"  # UTC+7
    finally:
        close_app(app)
    app = make_app(base_settings(tmp_path / "utc", **{"lienthong.timezone": "UTC"}))
    try:
        request.registry = app.registry
        assert local_time(request, "2026-01-01T17:30:00+00:00") == "01/01/2026 17:30:00"
    finally:
        close_app(app)
    with pytest.raises(ValueError, match=r"lienthong.timezone = Mars/Olympus: not a known time zone"):
        make_app(base_settings(tmp_path / "mars", **{"lienthong.timezone": "Mars/Olympus"}))
