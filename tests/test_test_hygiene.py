"""The suite's own hygiene: property tests skip examples with assume() (an early return counts a
skipped example as a pass), no test accepts every outcome of an exit code, and every hardware skip is
marked so that CI reports it (.ci/run fails on 'needs hardware:' skips)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = sorted(Path(__file__).parent.rglob("test_*.py"))


def _given_tests(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(
                isinstance(d, ast.Call) and getattr(d.func, "id", None) == "given" for d in node.decorator_list):
            yield node


def _checked_outcome(branch: ast.If, block: list, ret: ast.Return) -> bool:
    """A return after the example was checked: an assert earlier in its block, or a branch on a refusal
    (``if result is None``) of the code under test."""
    before = block[: block.index(ret)]
    if any(isinstance(n, ast.Assert) for n in before):
        return True
    test = branch.test if branch is not None else None
    return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], (ast.Is, ast.IsNot))
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value is None)


def _own_returns(fn: ast.FunctionDef):
    """Return statements of ``fn`` itself (not of functions defined inside it) that skip an example
    without checking it."""
    stack = [(None, fn.body, n) for n in fn.body]
    while stack:
        branch, block, node = stack.pop()
        if isinstance(node, ast.Return):
            if not _checked_outcome(branch, block, node):
                yield node
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                sub = getattr(node, field, None)
                if isinstance(sub, list):
                    stack.extend((node if isinstance(node, ast.If) else None, sub, n) for n in sub)


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


def test_the_early_return_check_tells_a_filter_from_a_checked_outcome():
    src = ("@given(x)\ndef test_filter(x):\n    n = f(x)\n    if n < 1:\n        return\n    assert n\n\n"
           "@given(x)\ndef test_refused(x):\n    r = read(x)\n    if r is None:\n        return\n    assert r\n\n"
           "@given(x)\ndef test_checked(x):\n    r = read(x)\n    if not x:\n        assert r == 0\n        return\n    assert r\n")
    found = {fn.name: [r.lineno for r in _own_returns(fn)] for fn in _given_tests(ast.parse(src))}
    assert found == {"test_filter": [5], "test_refused": [], "test_checked": []}
