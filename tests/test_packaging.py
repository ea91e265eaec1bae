"""The wheel, installed (not editable) in a fresh venv, with a third-party plugin next to it.

One wheel and one venv serve the whole module (module-scoped fixtures); pip uses its
cache, so a second run is quicker. The sample plugin lives in tests/plugins/lienthong_hello.
"""

import configparser
import json
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap
import zipfile

import pytest

from .support.app import ROOT, file_uri

pytestmark = pytest.mark.slow

HELLO_SRC = pathlib.Path(ROOT, "tests", "plugins", "lienthong_hello")
PACKAGES = {"core": "lienthong/core", "plugins": "lienthong/plugins", "skins": "lienthong/skins"}
#: what is never shipped from the source directories
NOT_SHIPPED = ("__pycache__",)


def clean_env(venv=None):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "LIENTHONG_CONFIG", "PYTHONSTARTUP")
    }
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def run(args, cwd, env=None, timeout=900, check=True):
    result = subprocess.run(
        [str(a) for a in args],
        cwd=str(cwd),
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
        )
    return result


def source_files():
    """Files of the three packages in the working tree, as their paths inside the wheel."""
    files = {}
    for top, inside in PACKAGES.items():
        for path in pathlib.Path(ROOT, top).rglob("*"):
            rel = path.relative_to(pathlib.Path(ROOT, top))
            if (
                path.is_file()
                and not any(part in NOT_SHIPPED for part in rel.parts)
                and path.suffix not in (".pyc", ".pyo")
            ):
                files[f"{inside}/{rel.as_posix()}"] = path
    return files


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("packaging")


TOP_LEVEL_SKIPPED = {".git", ".venv", "var", "build", "dist", "tests", ".pytest_cache", "node_modules"}


def _not_for_the_build(directory, names):
    skipped = {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}
    if os.path.samefile(directory, ROOT):
        skipped |= TOP_LEVEL_SKIPPED & set(names)
    return skipped


@pytest.fixture(scope="module")
def wheel(work):
    """A wheel built by `python -m build --wheel` (isolated) from a copy of the working tree.

    The copy keeps build/ and *.egg-info out of the repository and away from other runs.
    """
    src = work / "src"
    shutil.copytree(ROOT, src, ignore=_not_for_the_build)
    dist = work / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, src], cwd=work)
    (built,) = dist.glob("lienthong-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(work, wheel):
    """A fresh venv with the wheel installed from the file (not editable)."""
    path = work / "venv"
    run([sys.executable, "-m", "venv", path], cwd=work)
    run([path / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], cwd=work, env=clean_env(path))
    return path


@pytest.fixture(scope="module")
def venv_with_hello(work, venv):
    """The fresh venv plus the sample plugin, installed from a copy of its directory."""
    src = work / "lienthong_hello"
    shutil.copytree(HELLO_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", src], cwd=work, env=clean_env(venv))
    return venv


def write_ini(directory, disabled=""):
    directory.mkdir(parents=True, exist_ok=True)
    ini = directory / "site.ini"
    ini.write_text(
        textwrap.dedent(f"""\
        [app:main]
        use = egg:lienthong
        zodbconn.uri = {file_uri(directory)}
        lienthong.secret = packaging-test-secret-{"x" * 32}
        lienthong.session.secure = false
        lienthong.auto_migrate = true
        lienthong.plugins.disabled = {disabled}
        """),
        encoding="utf-8",
    )
    return ini


# -- the wheel --------------------------------------------------------------------------------


def test_the_wheel_ships_every_module_template_static_file_and_translation(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = source_files()
    missing = sorted(name for name in expected if name not in names)
    assert not missing, f"files of the working tree missing from the wheel: {missing}"

    # the things the brief names, checked by name so an empty source tree cannot pass
    templates = {n for n in names if n.startswith("lienthong/skins/default/") and n.endswith(".pt")}
    assert {"lienthong/skins/default/layout.pt", "lienthong/skins/default/login.pt"} <= templates
    assert any(n.startswith("lienthong/skins/default/static/") and n.endswith(".css") for n in names)
    assert "lienthong/plugins/blobstore_zodb/__init__.py" in names
    assert "lienthong/core/cli/__init__.py" in names and "lienthong/core/hookspecs.py" in names
    translations = [
        n for n in expected if n.startswith("lienthong/skins/locale/") and n.endswith((".po", ".mo", ".pot"))
    ]
    for name in translations:
        assert name in names
    # nothing from the tests, nor the sample plugin, nor bytecode
    assert not any(n.startswith("tests/") or "lienthong_hello" in n or n.endswith(".pyc") for n in names)


def test_the_wheel_declares_the_entry_points(wheel):
    with zipfile.ZipFile(wheel) as zf:
        (ep_name,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser(delimiters=("=",))
        parser.optionxform = str
        parser.read_string(zf.read(ep_name).decode("utf-8"))
    assert parser["console_scripts"]["lienthong"].strip() == "lienthong.core.cli:cli"
    assert parser["paste.app_factory"]["main"].strip() == "lienthong.core:main"
    assert parser["lienthong.plugins"]["blobstore_zodb"].strip() == "lienthong.plugins.blobstore_zodb"


# -- the installed command --------------------------------------------------------------------


def test_the_installed_package_is_the_wheel_not_the_working_tree(venv, work):
    out = run(
        [
            venv / "bin" / "python",
            "-c",
            "import lienthong.core, lienthong.plugins.blobstore_zodb as b, lienthong.skins as s;"
            "print(lienthong.core.__file__); print(b.__file__); print(s.__path__[0])",
        ],
        cwd=work,
        env=clean_env(venv),
    ).stdout.split()
    site_packages = str(venv / "lib")
    assert len(out) == 3
    for path in out:
        assert path.startswith(site_packages) and not path.startswith(ROOT + os.sep + "core"), path
    freeze = run(
        [venv / "bin" / "python", "-m", "pip", "show", "-f", "lienthong"], cwd=work, env=clean_env(venv)
    ).stdout
    assert "Editable project location" not in freeze


def test_lienthong_help_lists_the_commands(venv, work):
    from lienthong.core.cli import cli

    result = run([venv / "bin" / "lienthong", "--help"], cwd=work, env=clean_env(venv))
    commands = set()
    in_commands = False
    for line in result.stdout.splitlines():
        if line.strip() == "Commands:":
            in_commands = True
        elif in_commands and line.startswith("  ") and line.strip():
            commands.add(line.split()[0])
    assert {"init", "serve", "migrate", "adduser", "audit", "plugins", "shell"} <= commands
    assert set(cli.commands) <= commands, "the installed CLI lacks commands of the working tree"


# -- a third-party plugin ---------------------------------------------------------------------


def plugin_rows(venv, ini, work):
    result = run([venv / "bin" / "lienthong", "--config", ini, "plugins"], cwd=work, env=clean_env(venv))
    rows = {}
    for line in result.stdout.splitlines():
        name, dist, hooks = line.split("\t")
        rows[name] = (dist, [h.strip() for h in hooks.split(",") if h.strip()])
    return rows


SNIPPET = """
import json, sys, types
from pyramid.paster import get_app
from webob import Request
from lienthong.core.app_objects import app_objects

app = get_app(sys.argv[1], "main")
try:
    response = Request.blank("/hello").get_response(app)
    hook = app_objects(app.registry).plugins.hook.lienthong_validate_outgoing
    refused = [r for g in hook(document=types.SimpleNamespace(subject="Báo cáo test-refuse"), sender="x")
               for r in g]
    fine = [r for g in hook(document=types.SimpleNamespace(subject="Báo cáo tháng"), sender="x") for r in g]
    print(json.dumps({"status": response.status_int, "text": response.text,
                      "refused": refused, "fine": fine}))
finally:
    for db in app.registry._zodb_databases.values():
        db.close()
"""


def call_app(venv, ini, work):
    result = run([venv / "bin" / "python", "-c", SNIPPET, ini], cwd=work, env=clean_env(venv))
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_an_installed_plugin_is_listed_with_its_hooks(venv_with_hello, work):
    rows = plugin_rows(venv_with_hello, write_ini(work / "site-listed"), work)
    assert rows["hello"][0].startswith("lienthong-hello 0.1.0")
    assert rows["hello"][1] == ["lienthong_configure", "lienthong_validate_outgoing"]
    assert rows["blobstore_zodb"][0].startswith("lienthong 0.1.0")
    assert rows["blobstore_zodb"][1] == ["lienthong_blob_stores"]


def test_an_installed_plugin_adds_its_page_and_validator(venv_with_hello, work):
    answer = call_app(venv_with_hello, write_ini(work / "site-enabled"), work)
    assert answer["status"] == 200
    assert answer["text"] == "xin chào từ plugin"
    assert len(answer["refused"]) == 1 and "test-refuse" in answer["refused"][0]
    assert answer["fine"] == []


def test_a_disabled_plugin_is_neither_listed_nor_called(venv_with_hello, work):
    ini = write_ini(work / "site-disabled", disabled="hello")
    rows = plugin_rows(venv_with_hello, ini, work)
    assert "hello" not in rows and "blobstore_zodb" in rows
    answer = call_app(venv_with_hello, ini, work)
    assert answer["status"] == 404
    assert "xin chào" not in answer["text"]
    assert answer["refused"] == [] and answer["fine"] == []
