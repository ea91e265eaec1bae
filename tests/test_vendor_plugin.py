"""A third-party adapter distribution, installed with pip, delivers through the real worker (R4).

``tests/plugins/lienthong_vendorx`` is a distribution of its own (setup.cfg, entry point
in ``lienthong.plugins``) for a fictional "VendorX eOffice" that takes JSON. The test
installs it with pip into a directory of its own (``--target``), never into the project's
venv, and runs ``lienthong`` processes with that directory on ``PYTHONPATH``: the hub
finds the adapter by its entry point, and no core file names it.
"""

import base64
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from lienthong.core.plugins import transport_names
from lienthong.core.services import documents as ds, outbound

from .support import cli
from .support.app import ROOT, close_app, make_app, with_site
from .support.demo import demo_factory  # noqa: F401
from .support.endpoint import Endpoint
from .support.exchange import SNV, STTTT, VUNGTAU, actor, basic, pdf_file

VENDORX_SRC = pathlib.Path(ROOT, "tests", "plugins", "lienthong_vendorx")
API_KEY = "vx-key-2026"


@pytest.fixture(scope="module")
def vendorx_site(tmp_path_factory):
    """The distribution installed by pip (from a copy of its directory) into a fresh target directory."""
    work = tmp_path_factory.mktemp("vendorx")
    src = work / "src"
    shutil.copytree(VENDORX_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    target = work / "site-packages"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(src),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (target / "lienthong_vendorx" / "__init__.py").exists()
    return str(target)


class VendorXServer:
    """The VendorX product: takes JSON with its key, keeps each document once."""

    def __init__(self):
        self.documents = {}
        self.statuses = []
        self.copies = 0

    def __call__(self, request, start_response):
        if request["headers"].get("x-vendorx-key") != API_KEY:
            return self.answer(start_response, "403 Forbidden", {"ma_loi": 9, "mo_ta": "Sai khóa API"})
        body = json.loads(request["body"])
        if request["path"] == "/vx/api/vanban":
            self.copies += 1
            if body["ma_dinh_danh"] in self.documents:
                return self.answer(start_response, "200 OK", {"ma_loi": 2, "mo_ta": "Đã tồn tại"})
            self.documents[body["ma_dinh_danh"]] = body
        elif request["path"] == "/vx/api/trangthai":
            self.statuses.append(body)
        else:
            return self.answer(start_response, "404 Not Found", {"ma_loi": 4, "mo_ta": "Không có"})
        return self.answer(start_response, "200 OK", {"ma_loi": 0})

    @staticmethod
    def answer(start_response, status, data):
        start_response(status, [("Content-Type", "application/json")])
        return [json.dumps(data).encode()]


@pytest.fixture
def vendorx():
    server = VendorXServer()
    endpoint = Endpoint(app=server).start()
    server.endpoint = endpoint
    yield server
    endpoint.stop()


def prepare(demo_factory, vendorx, tmp_path, **ini_settings):
    """A demo site where Vũng Tàu uses VendorX and SNV has sent it a document; the app is closed
    (a FileStorage opens in one process) and an ini for the ``lienthong`` processes is written."""
    web = demo_factory()
    settings = dict(web.app.registry.settings)
    assert "vendorx" not in transport_names(web.app.registry)  # this process does not have it

    def run(site):
        unit = site["directory"][VUNGTAU]
        unit.adapter = "vendorx"
        unit.adapter_settings.update({"url": vendorx.endpoint.url("/vx"), "api_key": API_KEY})
        doc = ds.compose(
            site,
            _env(web),
            actor("vanthu.snv"),
            site["directory"][SNV],
            basic(recipients=[VUNGTAU, STTTT], subject="Công văn gửi qua VendorX"),
            [("cong-van.pdf", pdf_file("vendorx"), "Công văn")],
        )
        ds.issue(site, _env(web), actor("vanthu.snv"), doc)
        return doc.id, doc.document_id, doc.notation

    name, document_id, notation = with_site(web.app, run)
    close_app(web.app)
    ini = cli.write_ini(
        tmp_path / "site.ini",
        settings["zodbconn.uri"],
        **{k.replace(".", "__"): v for k, v in ini_settings.items()},
    )
    return settings, ini, name, document_id, notation


def _env(web):
    from lienthong.core.services.env import get_env

    return get_env(web.app.registry)


def lienthong(args, ini, site_dir):
    result = cli.run(args, ini=ini, env=cli.clean_env(PYTHONPATH=site_dir), timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def test_the_installed_vendor_adapter_delivers_through_the_worker(
    demo_factory, vendorx, vendorx_site, tmp_path
):
    settings, ini, name, document_id, notation = prepare(demo_factory, vendorx, tmp_path)
    listed = lienthong(["plugins"], ini, vendorx_site).stdout
    (row,) = [line for line in listed.splitlines() if line.startswith("vendorx\t")]
    assert row.split("\t")[1].startswith("lienthong-vendorx 0.1.0") and row.endswith("lienthong_transports")

    out = lienthong(["worker", "--once"], ini, vendorx_site)
    assert "message(s) handled" in out.stdout
    (received,) = vendorx.documents.values()
    assert received["ma_dinh_danh"] == document_id and received["so_ky_hieu"] == notation
    assert received["trich_yeu"] == "Công văn gửi qua VendorX"
    assert received["noi_gui"] == SNV and received["noi_nhan"] == VUNGTAU
    (attached,) = received["files"]
    assert (
        attached["ten"] == "cong-van.pdf"
        and base64.b64decode(attached["du_lieu"]) == pdf_file("vendorx").read()
    )

    app = make_app(settings)
    try:
        state = with_site(
            app,
            lambda site: (
                site["documents"][name].delivery_for(VUNGTAU).state,
                outbound.pending(site),
                len(outbound.dead_letters(site)),
            ),
        )
    finally:
        close_app(app)
    assert state == ("01", [], 0)
    # nothing left to deliver: a second run sends nothing again
    lienthong(["worker", "--once"], ini, vendorx_site)
    assert vendorx.copies == 1


def test_a_disabled_vendor_plugin_is_not_used(demo_factory, vendorx, vendorx_site, tmp_path):
    settings, ini, name, _document_id, _notation = prepare(
        demo_factory, vendorx, tmp_path, **{"lienthong.plugins.disabled": "vendorx"}
    )
    assert "vendorx\t" not in lienthong(["plugins"], ini, vendorx_site).stdout
    lienthong(["worker", "--once"], ini, vendorx_site)
    assert vendorx.endpoint.requests == []
    app = make_app(settings)
    try:
        dead = with_site(app, lambda site: [m.as_dict() for m in outbound.dead_letters(site).values()])
    finally:
        close_app(app)
    assert len(dead) == 1 and "no adapter named 'vendorx' is installed" in dead[0]["last_error"]


def test_the_adapter_works_in_process_once_installed(demo_factory, vendorx_site, monkeypatch):
    """On the path, the entry point is found by a new application: the unit's form accepts the adapter."""
    monkeypatch.syspath_prepend(vendorx_site)
    web = demo_factory()
    assert "vendorx" in transport_names(web.app.registry)


def test_no_core_file_mentions_the_vendor_plugin():
    for top in ("core", "plugins", "skins"):
        for path in pathlib.Path(ROOT, top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".mo":
                text = path.read_text(encoding="utf-8", errors="replace").lower()
                assert "vendorx" not in text, path
    for name in ("setup.cfg", "pyproject.toml", "setup.py"):
        if os.path.exists(os.path.join(ROOT, name)):
            assert "vendorx" not in pathlib.Path(ROOT, name).read_text(encoding="utf-8").lower(), name
