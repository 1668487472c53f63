"""CI's cheap mutation check (issue 21), about a minute: the committed mutation report's kill rate of each
core module is at least its threshold (scripts/mutation_thresholds.json: the rate reached when the
report was made), and each mutation named in issue 21 — six that once passed the whole suite, plus
the rtol one on the fast path — is killed by the fast tests of its module.

    python scripts/mutation_check.py [--only-named]

Each mutation is applied to a copy of the package in a temporary folder (the checkout is never
touched); its tests run there and must fail. The full mutation run is `bash scripts/mutation.sh`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (what, file, text before, text after, test file, -k expression)
NAMED = [
    ("compare: the ULP tolerance doubled (6 ulps pass under ulps = 4)", "pyparity/diff/compare.py",
     "return np.where(same_sign, d_same <= ulps,", "return np.where(same_sign, d_same <= 2 * ulps,",
     "tests/diff/test_tolerance_boundaries.py", "ulps_limit"),
    ("compare: exact compares values, not bits (0.0 vs -0.0 passes)", "pyparity/diff/compare.py",
     "ok = (a.view(np.uint8).reshape(a.size, -1) == b.view(np.uint8).reshape(b.size, -1)).all(axis=1)",
     "ok = equal.copy()", "tests/diff/test_tolerance_boundaries.py", "exact_is_bitwise"),
    ("compare: rtol applied twice (1.5e-5 relative passes under rtol 1e-5)", "pyparity/diff/compare.py",
     "thr = tol.atol + tol.rtol * mag", "thr = tol.atol + tol.rtol * mag + tol.rtol * mag",
     "tests/diff/test_tolerance_boundaries.py", "one_and_a_half_rtol"),
    ("compare: rtol applied twice on the fast path (arrays over one chunk)", "pyparity/diff/compare.py",
     "np.multiply(t, np.float32(tol.rtol * _F32_MARGIN), out=t)", "np.multiply(t, np.float32(2 * tol.rtol * _F32_MARGIN), out=t)",
     "tests/diff/test_tolerance_boundaries.py", "one_and_a_half_rtol"),
    ("dumpio: archive arrays missing from the index accepted", "pyparity/trace/dumpio.py",
     "    if extra:\n", "    if False:\n", "tests/trace/test_reader_checks.py", "reader_check and array and index"),
    ("dumpio: the truncated-member check skipped", "pyparity/trace/dumpio.py",
     "        if end > zi.file_size:\n", "        if False:\n", "tests/trace/test_reader_checks.py", "reader_check and truncated"),
    ("diagnose: the stacked direction of the layout diagnosis broken", "pyparity/diff/hypotheses/layout.py",
     "st = np.moveaxis(interleaved_to_stacked(moved), 0, axis)", "st = np.moveaxis(stacked_to_interleaved(moved), 0, axis)",
     "tests/diff/test_diagnose_classes.py", "stacked"),
]


def _copy(dst: Path, test_file: str) -> None:
    shutil.copytree(ROOT / "pyparity", dst / "pyparity", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "cli", dst / "pyparity" / "cli", ignore=shutil.ignore_patterns("__pycache__"))
    # the test where it sits in the tree, with the packages' __init__.py, conftest.py and paths.py above it
    tests = ROOT / "tests"
    wanted = [ROOT / test_file, tests / "paths.py"]
    for folder in [tests, *[tests / p for p in Path(test_file).relative_to("tests").parents if str(p) != "."]]:
        wanted += [f for f in (folder / "__init__.py", folder / "conftest.py") if f.is_file()]
    for f in wanted:
        (dst / f.relative_to(ROOT)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dst / f.relative_to(ROOT))
    (dst / "pyproject.toml").write_text('[tool.pytest.ini_options]\ntestpaths = ["tests"]\n')


def _env(dst: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(dst), PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("OPENBLAS_CORETYPE", "Haswell")
    return env


def check_named() -> list[str]:
    failures = []
    for what, rel, before, after, test_file, expr in NAMED:
        with tempfile.TemporaryDirectory(prefix="pyparity-mutant-") as tmp:
            dst = Path(tmp)
            _copy(dst, test_file)
            src = (dst / rel).read_text()
            if src.count(before) != 1:
                failures.append(f"{what}: the code it mutates changed ({before.strip()!r} found {src.count(before)} "
                                "times); update scripts/mutation_check.py")
                continue
            (dst / rel).write_text(src.replace(before, after))
            where = subprocess.run([sys.executable, "-c", "import pyparity; print(pyparity.__file__)"], cwd=dst,
                                   env=_env(dst), capture_output=True, text=True).stdout.strip()
            if not where.startswith(str(dst)):
                failures.append(f"{what}: the mutated copy is not the one imported ({where})")
                continue
            run = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--hypothesis-seed=0",
                                  test_file, "-k", expr], cwd=dst, env=_env(dst), capture_output=True, text=True)
            last = (run.stdout.strip().splitlines() or [""])[-1]
            verdict = {0: "SURVIVED", 1: "killed"}.get(run.returncode, f"error (pytest exit {run.returncode})")
            print(f"{verdict:8} {what}\n         {rel}: {before.strip()!r} -> {after.strip()!r}\n         "
                  f"{test_file} -k {expr!r}: {last}", flush=True)
            if run.returncode != 1:
                failures.append(f"{what}: {verdict}")
    return failures


def check_rates() -> list[str]:
    summary = json.loads((ROOT / "docs" / "mutation-summary.json").read_text())
    thresholds = json.loads((ROOT / "scripts" / "mutation_thresholds.json").read_text())
    failures = []
    for module, minimum in thresholds.items():
        rate = summary.get(module, {}).get("kill_rate")
        ok = rate is not None and rate >= minimum
        print(f"{'ok' if ok else 'LOW':8} {module}: kill rate {rate} (threshold {minimum})")
        if not ok:
            failures.append(f"{module}: kill rate {rate} below the threshold {minimum}")
    return failures


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only-named", action="store_true")
    args = ap.parse_args()
    failures = ([] if args.only_named else check_rates()) + check_named()
    for f in failures:
        print(f"mutation check: {f}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
