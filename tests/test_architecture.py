"""The import floors of ARCHITECTURE.md, checked on the source: every import (module-level or inside a
function) goes to the same floor or below, and no two modules import each other, directly or through
others. A new module must be given a floor here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("hgq_compat", "hls4ml_plugin")

# floor number: lower floors never import higher ones. Longest matching prefix wins.
FLOORS: dict[str, int] = {
    "hgq_compat.core": 0,
    "hgq_compat._atomic": 0,  # atomic writes: no hgq_compat imports
    "hgq_compat._quiet": 0,  # the command's quiet backend start-up: imports keras only
    "hgq_compat._objects": 3,  # every public Q* class by name, for loaders
    "hgq_compat.quantizers": 1,
    "hgq_compat.parsing": 1,
    "hgq_compat.safe_eval": 1,
    "hgq_compat.quantizer_registry": 1,
    "hgq_compat.registry": 1,
    "hgq_compat.constraints": 1,
    "hgq_compat.layers": 2,
    "hgq_compat.b2t": 2,
    # floor 3: legacy, training, report, plots and the QKeras-named surface modules
    "hgq_compat": 3,
    "hls4ml_plugin": 4,
    "hgq_compat.cli": 5,
    "hgq_compat.demo": 5,
}
FLOOR_NAMES = {
    0: "core",
    1: "quantizers",
    2: "layers",
    3: "legacy/training/report (QKeras surface)",
    4: "hls4ml_plugin",
    5: "cli/demo",
}


def _module_name(path: Path) -> str:
    rel = path.relative_to(REPO).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((REPO / pkg).rglob("*.py"))}


def floor(module: str) -> int:
    best = max((p for p in FLOORS if module == p or module.startswith(p + ".")), key=len, default=None)
    if best is None:
        raise KeyError(module)
    return FLOORS[best]


def _imports(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules ``module`` imports (resolved to the deepest known module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_pkg = path.name == "__init__.py"
    out: set[str] = set()

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_pkg else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            targets = [f"{prefix}.{a.name}" for a in node.names] + [prefix]
        for t in targets:
            if t.split(".")[0] in PACKAGES:
                r = resolve(t)
                if r and r != module:
                    out.add(r)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    return {m: _imports(m, p, known) for m, p in mods.items()}


def _is_ancestor_package(a: str, b: str) -> bool:
    return b.startswith(a + ".")


def test_every_module_has_a_floor():
    missing = [m for m in _modules() if not any(m == p or m.startswith(p + ".") for p in FLOORS)]
    assert missing == []


def test_imports_respect_the_floors():
    bad = []
    for m, deps in _graph().items():
        for d in deps:
            # a module may import its own package (``from . import x`` re-exports below it); packages are floored
            # by what they re-export, which the package's own imports are checked for
            if _is_ancestor_package(d, m):
                continue
            if floor(d) > floor(m):
                bad.append(f"{m} ({FLOOR_NAMES[floor(m)]}) imports {d} ({FLOOR_NAMES[floor(d)]})")
    assert sorted(bad) == []


def test_no_import_cycles():
    graph = {m: {d for d in deps if not _is_ancestor_package(d, m)} for m, deps in _graph().items()}
    # strongly connected components (iterative Tarjan: no recursion-limit change leaks into other tests)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            w = next(children, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on_stack:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    u = stack.pop()
                    on_stack.discard(u)
                    comp.append(u)
                    if u == v:
                        break
                if len(comp) > 1:
                    cycles.append(sorted(comp))
    assert cycles == []


PLUGIN_LAYERS = {
    "hls4ml_plugin.handlers": ("hls4ml_plugin.passes",),
    "hls4ml_plugin.passes": ("hls4ml_plugin.handlers",),
    "hls4ml_plugin.ir": ("hls4ml_plugin.handlers", "hls4ml_plugin.passes"),
}
"""The plugin is layered like hls4ml: converters (handlers) and optimizer passes never import each
other, and both depend on the IR package only, which imports neither."""


def test_plugin_handlers_and_passes_do_not_import_each_other():
    graph = _graph()
    assert any(m.startswith("hls4ml_plugin.ir.") for m in graph)  # the IR package exists and is scanned
    bad = []
    for layer, forbidden in PLUGIN_LAYERS.items():
        for m, deps in graph.items():
            if m == layer or m.startswith(layer + "."):
                bad += [
                    f"{m} imports {d}" for d in sorted(deps) if any(d == f or d.startswith(f + ".") for f in forbidden)
                ]
    assert bad == []


@pytest.mark.parametrize(
    "module,expected",
    [
        ("hgq_compat.core.spec", 0),
        ("hgq_compat.layers.dense", 2),
        ("hgq_compat.legacy.converter", 3),
        ("hls4ml_plugin.passes.lut", 4),
        ("hgq_compat.cli", 5),
    ],
)
def test_floor_table(module, expected):
    assert floor(module) == expected
