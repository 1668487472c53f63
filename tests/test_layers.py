"""The package's layers, read from the code's own imports: nothing imports upwards, and no modules import
each other in a loop (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "pyparity"

#: (importer, imported, why): no module under the first may import anything under the second
NEVER = [
    ("pipelines", "diff", "a port computes; judging it is the application layer's job"),
    ("pipelines", "render", "a port never formats reports"),
    ("pipelines", "gate", "a port knows nothing of corpora"),
    ("pipelines", "app", "the application layer runs the ports, not the other way round"),
    ("models", "render", "models write through trace IO, not renderers"),
    ("diff", "pipelines", "the diff engine is independent of any port"),
    ("diff", "render", "results are data; renderers read them"),
    ("diff", "app", "the engine is below the application layer"),
    ("diff", "probe", "the engine is below the probes (they align with its row order)"),
    ("executors", "gate", "executors run any picklable function; the gate and the hunt both use them"),
    ("executors", "hunt", "executors run any picklable function; the gate and the hunt both use them"),
    ("executors", "app", "executors sit below the application layer"),
    ("hunt", "gate", "a corpus hunt reads corpus specs (corpus_spec), not the gate's checks of them"),
    ("trace", "diff", "traces sit below the diff"),
    ("trace", "app", "traces sit below the application layer"),
    ("conventions", "trace", "conventions are the ground floor"),
    ("conventions", "diff", "conventions are the ground floor"),
    ("render", "app", "renderers read report data"),
    ("render", "pipelines", "renderers read report data"),
]


def _module(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every pyparity module this file imports, at module level or inside functions."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pyparity"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("pyparity"))
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    files = {_module(p): p for p in PKG.rglob("*.py")}
    return {m: {i for i in _imports(p) if i in files} for m, p in files.items()}


@pytest.mark.parametrize("importer, imported, why", NEVER)
def test_no_import_runs_against_the_layers(graph, importer, imported, why):
    a, b = f"pyparity.{importer}", f"pyparity.{imported}"
    bad = sorted(f"{m} -> {i}" for m, deps in graph.items() if m == a or m.startswith(a + ".")
                 for i in deps if i == b or i.startswith(b + "."))
    assert not bad, f"{why}: {bad}"


def test_no_modules_import_each_other_in_a_loop(graph):
    g = {m: {d for d in deps if d != m and not m.startswith(d + ".") and not d.startswith(m + ".")}
         for m, deps in graph.items()}
    index, low, stack, on, loops = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                loops.append(sorted(comp))

    for v in sorted(g):
        if v not in index:
            visit(v)
    assert not loops, f"modules that import each other: {loops}"
