"""The shipped plugins (and the sample vendor plugins) use only the public plugin API.

docs/plugins.md, "The public plugin API", lists what a plugin may import from
``lienthong.core``; this test reads every module under ``plugins/`` and
``tests/plugins/`` with ``ast`` and fails on an import of any other core module, of a
name a module does not make public, or of a private (``_x``) name. A name-restricted
module may be imported as a module only if the attributes the plugin reads from it are
public too.
"""

import ast
import importlib.util
import pathlib

import pytest

from .support.app import ROOT

ALL = "*"

#: module -> the names a plugin may import from it (ALL: every public name)
PUBLIC = {
    # the contracts, written for plugins
    "lienthong.core.hookspecs": ALL,
    "lienthong.core.transports": ALL,
    "lienthong.core.signing": ALL,
    "lienthong.core.interfaces": ALL,
    "lienthong.core.edxml": ALL,
    "lienthong.core.errors": ALL,
    # helpers
    "lienthong.core": {"StartupError", "main"},
    "lienthong.core.plugins": {"is_plugin_disabled"},
    "lienthong.core.i18n": {"_", "site_localizer", "translate_message"},
    "lienthong.core.blobs": {"BlobMissing", "BlobStoreError", "DigestMismatch"},
    "lienthong.core.files": {"fsync_dir"},
    "lienthong.core.db": {"file_storage_path", "get_database", "close_databases", "run_in_site"},
    "lienthong.core.app_objects": {"app_objects"},
    "lienthong.core.clock": ALL,
    "lienthong.core.jobs": {"ScheduledJob"},
    "lienthong.core.named_secrets": ALL,
    "lienthong.core.json_input": {"read_json", "NotJson", "TooDeep", "MAX_DEPTH"},
    # the services a plugin may call, the same the core's views and commands call
    "lienthong.core.resources.directory": {"ACTIVE", "OFFICIAL", "NOT_CONNECTED"},
    "lienthong.core.services.audit": {"Actor", "record"},
    "lienthong.core.services.directory": {
        "add_unit",
        "update_unit",
        "set_connection_state",
        "find",
        "search",
    },
    "lienthong.core.services.directory_external": {"import_external_units", "ExternalImport"},
    "lienthong.core.services.inbound": {
        "receive_package",
        "receive_status",
        "receive",
        "apply_status_message",
    },
    "lienthong.core.services.credentials": {
        "find",
        "secret_of",
        "touch",
        "of_unit",
        "actor_for",
        "CredentialUnreadable",
    },
    "lienthong.core.services.edxml_pull": {
        "SEPARATOR",
        "pending",
        "pending_count",
        "acknowledge",
        "status_entry",
        "status_message",
        "unacknowledged_statuses",
        "acknowledge_status",
    },
    "lienthong.core.services.edxml_io": {"export_document"},
    "lienthong.core.services.mailboxes": {"listing", "box_key", "OUTBOX", "MAX_PAGE_SIZE"},
    "lienthong.core.services.outbound": {"queues", "dead_letters"},
    "lienthong.core.services.nonces": {"use"},
}

CORE = "lienthong.core"
PACKAGES = {"plugins": "lienthong.plugins"}  # directory under ROOT -> the package it is importable as


def plugin_modules():
    """(path, dotted module name) of every shipped and sample plugin module."""
    found = []
    for top, package in PACKAGES.items():
        for path in sorted(pathlib.Path(ROOT, top).rglob("*.py")):
            found.append((path, dotted_name(package, path.relative_to(pathlib.Path(ROOT, top)))))
    samples = pathlib.Path(ROOT, "tests", "plugins")  # <distribution>/<package>/...
    for path in sorted(samples.glob("*/*/**/*.py")):
        relative = path.relative_to(samples)
        found.append((path, dotted_name(relative.parts[1], relative.relative_to(*relative.parts[:2]))))
    return found


def dotted_name(package, relative):
    parts = relative.with_suffix("").parts
    return ".".join((package, *(parts[:-1] if parts[-1] == "__init__" else parts)))


def is_module(dotted):
    rel = dotted.split(".")[2:]
    base = pathlib.Path(ROOT, "core", *rel)
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def absolute(node, module, is_package):
    """The absolute module an ``ImportFrom`` names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def is_core(dotted):
    return dotted == CORE or dotted.startswith(CORE + ".")


def private(dotted):
    return any(part.startswith("_") and part != "_" for part in dotted.split("."))


def problems_of(path, module):
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    problems, bound = [], {}  # bound: local name -> restricted core module imported as a module

    def module_import(dotted, local, line):
        if private(dotted):
            problems.append(f"{path}:{line}: imports the private module {dotted}")
        elif dotted not in PUBLIC:
            problems.append(f"{path}:{line}: imports {dotted}, not part of the public plugin API")
        elif PUBLIC[dotted] is not ALL:
            bound[local] = dotted

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_core(alias.name):
                    if alias.asname is None and alias.name != CORE:
                        problems.append(
                            f"{path}:{node.lineno}: write `from ... import` or "
                            f"`import {alias.name} as name`, so the names it uses are checked"
                        )
                    module_import(alias.name, alias.asname or alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            source = absolute(node, module, is_package)
            if not is_core(source):
                continue
            for alias in node.names:
                dotted = f"{source}.{alias.name}"
                if is_module(dotted):
                    module_import(dotted, alias.asname or alias.name, node.lineno)
                elif private(source) or private(alias.name):
                    problems.append(f"{path}:{node.lineno}: imports the private name {dotted}")
                elif source not in PUBLIC:
                    problems.append(
                        f"{path}:{node.lineno}: imports from {source}, not part of the public plugin API"
                    )
                elif PUBLIC[source] is not ALL and alias.name not in PUBLIC[source]:
                    problems.append(f"{path}:{node.lineno}: {dotted} is not part of the public plugin API")
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            dotted = bound[node.value.id]
            if node.attr not in PUBLIC[dotted]:
                problems.append(
                    f"{path}:{node.lineno}: {dotted}.{node.attr} is not part of the public plugin API"
                )
    return problems


def test_there_are_plugin_modules_to_check():
    names = {module for _path, module in plugin_modules()}
    assert {
        "lienthong.plugins.peer_hub.views",
        "lienthong.plugins.hotfolder",
        "lienthong_vendorx",
        "lienthong_hello",
    } <= names


@pytest.mark.parametrize("path, module", plugin_modules(), ids=lambda v: v if isinstance(v, str) else None)
def test_a_plugin_module_imports_only_the_public_plugin_api(path, module):
    assert problems_of(path, module) == []


#: calls whose result a plugin module may keep at module level (immutable, or process-wide by design)
CONSTANT_CALLS = {"logging.getLogger", "re.compile", "frozenset", "timezone", "timedelta"}


def module_state_of(path):
    """Module-level assignments that hold state: a list, a set, an object made by a call.

    What an adapter or a view keeps belongs to the application (the adapter object, a
    closure made in ``includeme``), never to the module; a constant is an upper-case tuple,
    string, number or dict literal.
    """
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        value = node.value
        if isinstance(value, ast.Call) and ast.unparse(value.func) in CONSTANT_CALLS:
            continue
        if isinstance(value, (ast.Call, ast.List, ast.Set, ast.ListComp, ast.SetComp)) or (
            isinstance(value, (ast.Dict, ast.DictComp)) and not all(n.isupper() for n in names)
        ):
            found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    return found


@pytest.mark.parametrize("path, module", plugin_modules(), ids=lambda v: v if isinstance(v, str) else None)
def test_a_plugin_module_keeps_no_state(path, module):
    assert module_state_of(path) == []


def test_the_public_names_exist():
    for dotted, names in PUBLIC.items():
        if importlib.util.find_spec(dotted) is None:
            continue
        found = importlib.import_module(dotted)
        for name in () if names is ALL else names:
            assert hasattr(found, name), f"{dotted}.{name} is listed as public but does not exist"


def test_the_checker_refuses_what_it_should(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from lienthong.core.plugins import make_plugin_manager\n"
        "from lienthong.core.plugins import _names\n"
        "from ..core.security import Everyone\n"
        "from lienthong.core.services import audit, documents\n"
        "import lienthong.core.catalog as catalog\n"
        "audit.Actor, audit.chain\n",
        encoding="utf-8",
    )
    problems = problems_of(bad, "lienthong.plugins.bad")
    assert len(problems) == 6, problems
    assert any("make_plugin_manager" in p for p in problems)
    assert any("private name lienthong.core.plugins._names" in p for p in problems)
    assert any("lienthong.core.security" in p for p in problems)
    assert any("lienthong.core.services.documents" in p for p in problems)
    assert any("lienthong.core.catalog" in p for p in problems)
    assert any("lienthong.core.services.audit.chain" in p for p in problems)


def test_the_state_checker_refuses_what_it_should(tmp_path):
    module = tmp_path / "stateful.py"
    module.write_text(
        "import logging, re, threading\nlog = logging.getLogger(__name__)\nKEY = re.compile('x')\n"
        "PATHS = {'a': 1}\nUNITS = (('1', 'a'),)\n"
        "ADAPTER = object()\n_cache = {}\nSEEN = []\n_local = threading.local()\n",
        encoding="utf-8",
    )
    assert [line.split(": ", 1)[1] for line in module_state_of(module)] == [
        "ADAPTER = object()",
        "_cache = {}",
        "SEEN = []",
        "_local = threading.local()",
    ]
