"""The shape of ``core/``, computed from the source: layers point one way, no import cycles.

DESIGN.md's rule "view/API -> service -> resource" and the codec's independence are
written here as a graph test, so a change that ties two parts together fails in review
instead of being found by the next maintainer. Every import counts, also those inside
functions (a lazy import hides a cycle, it does not remove it); only imports under
``if TYPE_CHECKING:`` are left out, since they never run.
"""

import ast
import os

import pytest

from .support.app import ROOT

CORE = os.path.join(ROOT, "core")
PACKAGE = "lienthong.core"

#: (importer prefix, imported prefixes it must not reach), as in DESIGN.md
FORBIDDEN = [
    ("lienthong.core.resources", ("lienthong.core.services", "lienthong.core.views", "lienthong.core.api")),
    (
        "lienthong.core.services",
        (
            "lienthong.core.views",
            "lienthong.core.api",
            "lienthong.core.cli",
            "lienthong.core.worker",
            "lienthong.core.plugins",
            "lienthong.plugins",
        ),
    ),
    ("lienthong.core.edxml", ("lienthong.core.services", "lienthong.core.resources")),
    ("lienthong.core.files", ("lienthong.core.services", "lienthong.core.resources")),
    ("lienthong.core.filetypes", ("lienthong.core.services", "lienthong.core.resources")),
    ("lienthong.core.errors", ("lienthong.core.services", "lienthong.core.resources")),
    (
        "lienthong.core.permissions",
        (
            "lienthong.core.resources",
            "lienthong.core.services",
            "lienthong.core.views",
            "lienthong.core.api",
            "lienthong.core.security",
        ),
    ),
]

#: a module longer than this states at its top why it is not split
MAX_LINES = 600
LONG_MODULE_MARK = "Longer than"


def core_modules():
    """``{dotted name: path}`` of every module under core/ (packages by their __init__)."""
    modules = {}
    for folder, dirs, files in os.walk(CORE):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, CORE)[: -len(".py")].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([PACKAGE, *parts])] = path
    return modules


def _under_type_checking(node, parents):
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(module, path, known):
    """The modules of ``known`` (or outside core) that ``module`` imports."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    is_package = path.endswith("__init__.py")
    package = module if is_package else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module
            # ``from pkg import sub`` imports the submodule when there is one
            names = [
                f"{prefix}.{alias.name}" if f"{prefix}.{alias.name}" in known else prefix
                for alias in node.names
            ]
        else:
            continue
        if _under_type_checking(node, parents):
            continue
        for name in names:
            if name.startswith("lienthong."):
                found.add(name)
    found.discard(module)
    return found


def import_graph():
    modules = core_modules()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def strongly_connected(graph):
    """Tarjan's algorithm: the groups of modules that import each other, directly or not."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in graph:
                continue
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_graph_is_read_from_the_source():
    graph = import_graph()
    # a known edge of each kind: relative, absolute, inside a function
    assert "lienthong.core.resources.site" in graph
    assert any(
        target.startswith("lienthong.core.resources") for target in graph["lienthong.core.services.documents"]
    )
    assert len(graph) > 100


def test_core_has_no_import_cycle():
    graph = import_graph()
    # The app factory (core/__init__.py) is the package every module lives in; importing a
    # submodule does not import "back" into it, so its own imports cannot close a cycle.
    cycles = [sorted(group) for group in strongly_connected(graph) if len(group) > 1]
    assert not cycles, "import cycles in core/: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_no_layer_imports_upwards():
    graph = import_graph()
    wrong = []
    for module, targets in sorted(graph.items()):
        for importer, forbidden in FORBIDDEN:
            if module != importer and not module.startswith(importer + "."):
                continue
            for target in sorted(targets):
                if any(target == f or target.startswith(f + ".") for f in forbidden):
                    wrong.append(f"{module} -> {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


@pytest.mark.parametrize("module", sorted(core_modules()))
def test_long_modules_say_why(module):
    path = core_modules()[module]
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.count("\n")
    if lines <= MAX_LINES:
        return
    doc = ast.get_docstring(ast.parse(source)) or ""
    assert LONG_MODULE_MARK in doc, (
        f"{os.path.relpath(path, ROOT)} has {lines} lines: split it, or say at its top "
        f"why not ({LONG_MODULE_MARK!r} … in the module docstring)"
    )
