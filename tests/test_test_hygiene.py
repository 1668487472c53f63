"""The suite's own hygiene: property tests skip examples with assume() (an early return counts a
skipped example as a pass), no test accepts every outcome of an exit code, and every hardware skip is
marked so that CI reports it (.ci/run fails on 'needs hardware:' skips)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = sorted(Path(__file__).parent.glob("test_*.py"))


def _given_tests(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", None) == "given" for d in node.decorator_list):
            yield node


def _own_returns(fn: ast.FunctionDef):
    """Return statements of ``fn`` itself, not of functions defined inside it."""
    stack = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Return):
            yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def test_property_tests_use_assume_not_return():
    offenders = [f"{p.name}:{r.lineno} {fn.name}" for p in TESTS for fn in _given_tests(ast.parse(p.read_text()))
                 for r in _own_returns(fn)]
    assert offenders == []


def test_no_test_accepts_every_exit_code():
    pattern = re.compile(r"\bcode\s+in\s+[\(\[\{]\s*0\s*,\s*1\s*[\)\]\}]")
    offenders = [f"{p.name}:{i}" for p in TESTS for i, line in enumerate(p.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


def test_hardware_skips_are_marked_for_ci():
    offenders = []
    for p in TESTS:
        for i, line in enumerate(p.read_text().splitlines(), 1):
            if re.search(r"skip", line) and re.search(r"\b(FMA|AVX|SSE|CPU)\b", line) and "needs hardware:" not in line:
                offenders.append(f"{p.name}:{i}")
    assert offenders == []
    ci = (Path(__file__).parents[1] / ".ci" / "run").read_text()
    assert "needs hardware:" in ci
