"""Plugins: the hook specs, finding and disabling plugins, and the ZODB blob store they ship.

In-process and fast; the wheel and a third-party plugin in a fresh venv are in
test_packaging.py.
"""

import hashlib
import inspect
import io
import os
import pathlib
import types

import pytest
from pyramid.security import NO_PERMISSION_REQUIRED

from lienthong.core import hookspecs
from lienthong.core.app_objects import app_objects
from lienthong.core.hookspecs import ENTRY_POINT_GROUP, hookimpl
from lienthong.core.plugins import describe, distributions, make_plugin_manager

from .support.app import ROOT, base_settings, close_app, make_app, with_site

DESIGN_HOOKS = {
    "lienthong_configure",
    "lienthong_signers",
    "lienthong_blob_stores",
    "lienthong_transports",
    "lienthong_validate_outgoing",
    "lienthong_document_sent",
    "lienthong_delivery_changed",
}
HELLO_DIR = os.path.join(ROOT, "tests", "plugins", "lienthong_hello")


def declared_hooks():
    """name -> function of every hook spec in core/hookspecs.py."""
    return {
        name: fn
        for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(fn, "lienthong_spec")
    }


# -- hook specs -----------------------------------------------------------------------------


def test_every_hook_spec_is_prefixed_and_documented():
    hooks = declared_hooks()
    assert hooks, "core/hookspecs.py declares no hooks"
    for name, fn in hooks.items():
        assert name.startswith("lienthong_"), f"hook {name} lacks the lienthong_ prefix"
        doc = inspect.getdoc(fn) or ""
        assert len(doc.split()) >= 5, f"hook {name} has no real docstring"
    # and the plugin manager knows exactly these hooks
    pm = make_plugin_manager({"lienthong.plugins.disabled": "blobstore_zodb"})
    callers = {name for name in dir(pm.hook) if not name.startswith("_")}
    assert callers == set(hooks)


def test_the_designs_hooks_are_all_declared_with_their_arguments():
    hooks = declared_hooks()
    assert DESIGN_HOOKS <= set(hooks), f"missing: {sorted(DESIGN_HOOKS - set(hooks))}"
    args = {name: list(inspect.signature(fn).parameters) for name, fn in hooks.items()}
    assert args["lienthong_configure"] == ["config"]
    assert args["lienthong_validate_outgoing"] == ["document", "sender"]
    for name in ("lienthong_signers", "lienthong_blob_stores", "lienthong_transports"):
        assert args[name] == [], name


# -- finding and disabling plugins ------------------------------------------------------------


def test_blobstore_zodb_is_registered_from_its_entry_point():
    import lienthong.plugins.blobstore_zodb as shipped

    pm = make_plugin_manager({})
    assert pm.get_plugin("blobstore_zodb") is shipped
    dist = distributions(pm)["blobstore_zodb"]
    assert dist is not None and dist.metadata["Name"] == "lienthong"
    assert any(ep.name == "blobstore_zodb" and ep.group == ENTRY_POINT_GROUP for ep in dist.entry_points)
    rows = {name: hooks for name, _dist, _version, hooks in describe(pm)}
    assert rows["blobstore_zodb"] == ["lienthong_blob_stores"]
    stores = [s for group in pm.hook.lienthong_blob_stores() for s in group]
    assert sorted(s.name for s in stores) == ["fs", "zodb"]  # the two shipped stores


@pytest.mark.parametrize("value", ["blobstore_zodb", "other, blobstore_zodb", "other\n  blobstore_zodb"])
def test_disabled_plugins_are_not_registered(value):
    pm = make_plugin_manager({"lienthong.plugins.disabled": value})
    assert pm.get_plugin("blobstore_zodb") is None
    assert "blobstore_zodb" not in {name for name, *_ in describe(pm)}
    assert "zodb" not in {s.name for group in pm.hook.lienthong_blob_stores() for s in group}


def close_databases_left_open(excinfo):
    """make_config opened the database before it failed; close it (found in the traceback)."""
    closed = 0
    for entry in excinfo.traceback:
        config = entry.frame.f_locals.get("config")
        for db in getattr(getattr(config, "registry", None), "_zodb_databases", {}).values():
            db.close()
            closed += 1
    return closed


def test_disabling_the_configured_blob_store_stops_start_up_with_a_clear_error(tmp_path):
    from lienthong.core.blobs import BlobStoreError

    settings = base_settings(
        tmp_path,
        **{"lienthong.plugins.disabled": "blobstore_zodb blobstore_fs", "lienthong.blob_store": "zodb"},
    )
    with pytest.raises(BlobStoreError) as info:
        make_app(settings)
    close_databases_left_open(info)
    message = str(info.value)
    assert "lienthong.blob_store = zodb" in message
    assert "available: none" in message


class MemoryStorePlugin:
    """A plugin object offering a second store, to see the error name what is available."""

    class Store:
        name = "memory"

        def __init__(self):
            self.data = {}

        def put(self, site, stream):
            import hashlib

            body = stream.read()
            key = hashlib.sha256(body).hexdigest()
            self.data[key] = body
            return key

        def open(self, site, key):
            import io

            return io.BytesIO(self.data[key])

        def exists(self, site, key):
            return key in self.data

    @hookimpl
    def lienthong_blob_stores(self):
        return [self.Store()]


class BrokenStorePlugin:
    """A plugin whose store lacks ``open``: refused at start-up, naming the plugin."""

    class Store:
        name = "broken"

        def put(self, site, stream):
            return ""

        def exists(self, site, key):
            return False

    @hookimpl
    def lienthong_blob_stores(self):
        return [self.Store()]


def test_a_store_that_does_not_fit_the_interface_stops_start_up_naming_the_plugin(tmp_path):
    from lienthong.core import make_config
    from lienthong.core.blobs import BlobStoreError

    with pytest.raises(BlobStoreError) as info:
        make_config(base_settings(tmp_path / "db"), plugins=[BrokenStorePlugin()])
    close_databases_left_open(info)
    message = str(info.value)
    assert "tests.test_plugins.BrokenStorePlugin.Store" in message
    assert "does not fit IBlobStore" in message and "open(site, key) attribute was not provided" in message


def test_an_unknown_blob_store_names_the_stores_that_are_available(tmp_path):
    from lienthong.core import make_config
    from lienthong.core.blobs import BlobStoreError

    settings = base_settings(tmp_path / "db", **{"lienthong.blob_store": "s3"})
    with pytest.raises(
        BlobStoreError, match=r"lienthong.blob_store = s3.*\(available: fs, memory, zodb\)"
    ) as info:
        make_config(settings, plugins=[MemoryStorePlugin()])
    close_databases_left_open(info)


class RoutePlugin:
    """A plugin object (no entry point) that adds a page through lienthong_configure."""

    def __init__(self):
        self.calls = 0

    @hookimpl
    def lienthong_configure(self, config):
        self.calls += 1
        config.add_route(
            "from_plugin_object",
            "/from-plugin-object",
            factory=lambda request: types.SimpleNamespace(__name__="", __parent__=None),
        )
        config.add_view(
            lambda request: "added by a plugin object",
            route_name="from_plugin_object",
            renderer="string",
            permission=NO_PERMISSION_REQUIRED,
        )


def test_a_plugin_object_passed_to_make_config_configures_the_app(tmp_path):
    from webtest import TestApp

    from lienthong.core import make_config

    plugin = RoutePlugin()
    config = make_config(base_settings(tmp_path), plugins=[plugin])
    try:
        assert plugin.calls == 1
        assert app_objects(config.registry).plugins.is_registered(plugin)
        app = TestApp(config.make_wsgi_app())
        assert app.get("/from-plugin-object").text == "added by a plugin object"
    finally:
        for db in config.registry._zodb_databases.values():
            db.close()


def test_the_sample_plugin_hooks_work_in_process(monkeypatch):
    monkeypatch.syspath_prepend(HELLO_DIR)
    import lienthong_hello

    pm = make_plugin_manager({}, extra=[lienthong_hello])
    refuse = types.SimpleNamespace(subject="Công văn test-refuse số 12")
    fine = types.SimpleNamespace(subject="Công văn số 12")
    reasons = [
        r for group in pm.hook.lienthong_validate_outgoing(document=refuse, sender="ubnd") for r in group
    ]
    assert len(reasons) == 1 and "test-refuse" in reasons[0]
    assert [
        r for group in pm.hook.lienthong_validate_outgoing(document=fine, sender="ubnd") for r in group
    ] == []


def test_no_core_file_mentions_the_sample_plugin():
    for top in ("core", "plugins", "skins"):
        for path in pathlib.Path(ROOT, top).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".mo":
                text = path.read_text(encoding="utf-8", errors="replace")
                assert "lienthong_hello" not in text and "lienthong-hello" not in text, path
    for name in ("setup.cfg", "pyproject.toml", "setup.py"):
        text = pathlib.Path(ROOT, name).read_text(encoding="utf-8")
        assert "hello" not in text, name


# -- the ZODB blob store ----------------------------------------------------------------------


def blob_files(settings):
    blobs = pathlib.Path(settings["zodbconn.uri"].split("blobstorage_dir=", 1)[1].split("&")[0])
    return sorted(p for p in blobs.rglob("*.blob"))


def test_zodb_blob_store_round_trips_and_stores_identical_content_once(app, settings):
    from lienthong.plugins.blobstore_zodb import ZODBBlobStore

    store = app_objects(app.registry).blob_store
    assert isinstance(store, ZODBBlobStore) and store.name == "zodb"
    data = os.urandom(2 * (1 << 20) + 12345)  # more than one read chunk
    expected = hashlib.sha256(data).hexdigest()

    key = with_site(app, lambda site: store.put(site, io.BytesIO(data)))
    assert key == expected
    assert len(blob_files(settings)) == 1

    # the same bytes again, in another transaction: same key, nothing new on disk
    again = with_site(app, lambda site: store.put(site, io.BytesIO(data)))
    assert again == key
    assert len(blob_files(settings)) == 1
    assert with_site(app, lambda site: len(site._blobstore_zodb)) == 1

    other = with_site(app, lambda site: store.put(site, io.BytesIO(b"khac")))
    assert other == hashlib.sha256(b"khac").hexdigest() != key
    assert len(blob_files(settings)) == 2

    def read(site):
        assert store.exists(site, key) and not store.exists(site, "0" * 64)
        with store.open(site, key) as f:
            return f.read()

    assert with_site(app, read) == data


def test_zodb_blob_store_survives_a_restart(settings):
    application = make_app(settings)
    try:
        store = app_objects(application.registry).blob_store
        key = with_site(
            application, lambda site: store.put(site, io.BytesIO(b"giu lai sau khi khoi dong lai"))
        )
    finally:
        close_app(application)
    application = make_app(settings)
    try:
        store = app_objects(application.registry).blob_store

        def read(site):
            with store.open(site, key) as f:
                return f.read()

        assert with_site(application, read) == b"giu lai sau khi khoi dong lai"
    finally:
        close_app(application)


def test_a_damaged_blob_raises_digest_mismatch(app, settings):
    from lienthong.plugins.blobstore_zodb import DigestMismatch

    store = app_objects(app.registry).blob_store
    data = b"noi dung van ban goc " * 1000
    key = with_site(app, lambda site: store.put(site, io.BytesIO(data)))
    path = with_site(app, lambda site: site._blobstore_zodb[key].committed())
    assert blob_files(settings) == [pathlib.Path(path)]
    assert pathlib.Path(path).read_bytes() == data

    # someone changes the committed file on disk (same length, one byte differs)
    os.chmod(path, 0o644)
    damaged = bytearray(data)
    damaged[100] ^= 0xFF
    pathlib.Path(path).write_bytes(bytes(damaged))

    with pytest.raises(DigestMismatch, match=key):
        with_site(app, lambda site: store.open(site, key))


# -- signers and adapters are checked against their contracts at start-up -------------------------


def test_an_adapter_that_does_not_fit_the_contract_stops_start_up_in_one_line_naming_the_plugin(tmp_path):
    from lienthong.core import StartupError

    settings = base_settings(tmp_path, **{"lienthong.plugins.extra": "tests.support.bad_adapter"})
    with pytest.raises(StartupError) as info:
        make_app(settings)
    close_databases_left_open(info)
    message = str(info.value)
    assert "\n" not in message
    assert (
        "transport adapter tests.support.bad_adapter.NotAnAdapter (plugin tests.support.bad_adapter)"
    ) in message
    assert "does not fit IAdapter" in message
    assert "configure(app_settings)" in message and "deliver_batch(messages, env)" in message


def test_an_adapter_that_delivers_nothing_stops_start_up(tmp_path):
    from lienthong.core import StartupError, make_config
    from tests.support import bad_adapter

    expected = (
        r"DeliversNothing \(plugin .*\) does not fit IAdapter: it implements neither deliver\(message, env\)"
    )
    with pytest.raises(StartupError, match=expected) as info:
        make_config(base_settings(tmp_path), plugins=[bad_adapter.Subclassed()])
    close_databases_left_open(info)


def test_a_signer_that_does_not_fit_the_contract_stops_start_up_in_one_line_naming_the_plugin(tmp_path):
    from lienthong.core import StartupError

    settings = base_settings(tmp_path, **{"lienthong.plugins.extra": "tests.support.bad_signer"})
    with pytest.raises(StartupError) as info:
        make_app(settings)
    close_databases_left_open(info)
    message = str(info.value)
    assert "\n" not in message
    assert message == (
        "the signer tests.support.bad_signer.HalfSigner (plugin tests.support.bad_signer) "
        "does not fit ISigner: The lienthong.core.interfaces.ISigner.verify(data, trust, "
        "settings) attribute was not provided."
    )


def test_the_shipped_signers_and_adapters_fit_their_contracts():
    from lienthong.core.interfaces import IAdapter, ISigner, misfit
    from lienthong.core.plugins import adapters_of, check_contracts

    pm = make_plugin_manager({})
    check_contracts(pm)
    signers = [s for group in pm.hook.lienthong_signers() for s in group]
    assert sorted(s.name for s in signers) == ["pades", "xmldsig"]
    assert all(misfit(ISigner, s) is None for s in signers)
    adapters = adapters_of(pm)
    assert {"edxml_push", "hotfolder", "peer_hub", "webhook_json"} <= set(adapters)
    assert all(misfit(IAdapter, a) is None for a in adapters.values())


def test_each_gathering_of_the_adapters_makes_new_adapters_configured_with_the_settings():
    from lienthong.core.plugins import adapters_of

    settings = {
        "lienthong.peer_hub.name": "hub-a",
        "lienthong.peer_hub.peers": "hub-b",
        "lienthong.peer_hub.peer.hub-b.url": "https://b.example.vn",
        "lienthong.peer_hub.peer.hub-b.key_id": "1",
        "lienthong.peer_hub.secret.hub-b": "s" * 40,
    }
    first, second = adapters_of(make_plugin_manager(settings)), adapters_of(make_plugin_manager({}))
    assert first["peer_hub"] is not second["peer_hub"]
    assert first["peer_hub"].check_settings({"peer": "hub-b"}) == []
    assert first["peer_hub"].check_settings({"peer": "hub-c"}) == [
        "no peer hub called 'hub-c' is configured (lienthong.peer_hub.peers)"
    ]
    assert second["peer_hub"].check_settings({"peer": "hub-b"}) == [
        "no peer hub called 'hub-b' is configured (lienthong.peer_hub.peers)"
    ]


def test_is_plugin_disabled_answers_from_the_manager_the_registry_or_the_settings(app):
    from lienthong.core.plugins import is_plugin_disabled

    disabled = {"lienthong.plugins.disabled": "peer_hub, other"}
    pm = make_plugin_manager(disabled)
    assert is_plugin_disabled(pm, "peer_hub") and is_plugin_disabled(disabled, "peer_hub")
    assert not is_plugin_disabled(pm, "hotfolder") and not is_plugin_disabled({}, "peer_hub")
    assert not is_plugin_disabled(app.registry, "peer_hub")
    # the core's own checks cannot be switched off
    pm = make_plugin_manager({"lienthong.plugins.disabled": "lienthong.core.validators"})
    assert pm.get_plugin("lienthong.core.validators") is not None
