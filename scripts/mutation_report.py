"""The mutation report of the verdict machinery (issue 21), from a finished `mutmut run`.

    python scripts/mutation_report.py --modules [MODULE ...] | --key MODULE | --tests MODULE   (for scripts/mutation.sh)
    python scripts/mutation_report.py --work DIR --out docs/mutation-report.md --summary docs/mutation-summary.json

DIR holds one mutmut folder per module (scripts/mutation.sh --work DIR); a module without one is "not run".

A mutant is killed when a test fails (or it times out); "no tests" counts as surviving. Survivors that
match an entry of scripts/mutation_equivalent.toml (the changed line before and after, and why no test
can tell them apart) are equivalent and leave the denominator: kill rate = killed / (mutants - equivalent).
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# the core (the verdict machinery), each module held to its rate (scripts/mutation_thresholds.json) -> its
# fast unit tests: a module's mutants run only these (mutmut picks, per mutant, those that reach the
# mutated function), never the parity tests
MODULES = {
    "pyparity/diff/compare.py": ["tests/diff/test_tolerance_boundaries.py", "tests/diff/test_compare_report.py"],
    "pyparity/diff/policy.py": ["tests/diff/test_policy.py", "tests/app/test_policy_overlay.py",
                                "tests/diff/test_compare_report.py"],
    "pyparity/trace/dumpio.py": ["tests/trace/test_reader_checks.py", "tests/trace/test_writer.py",
                                 "tests/trace/test_roundtrip.py"],
    "pyparity/diff/align.py": ["tests/diff/test_align.py"],
    "pyparity/diff/engine.py": ["tests/diff/test_engine.py", "tests/test_trust_vacuous.py",
                                "tests/diff/test_report_origin.py"],
    # the mapping file's schema (moved out of align.py) and the reader every user TOML file goes through
    "pyparity/diff/mapping_file.py": ["tests/diff/test_align.py", "tests/test_tomlfile.py"],
    "pyparity/tomlfile.py": ["tests/test_tomlfile.py", "tests/diff/test_align.py"],
    "pyparity/probe/transforms.py": ["tests/probe/test_transforms.py", "tests/diff/test_diagnose_classes.py"],
}
KILLED = {"killed", "timeout", "segfault", "caught by type check"}


def _dotted(path: str) -> str:
    return path[:-3].replace("/", ".")


def key(module: str) -> str:
    """The name of a module's mutmut folder: pyparity/diff/compare.py -> diff.compare."""
    return _dotted(module).split(".", 1)[1]


def resolve(names: list[str]) -> list[str]:
    """Modules named as paths or keys (all of them when none is named)."""
    if not names:
        return list(MODULES)
    by_key = {key(m): m for m in MODULES}
    out = []
    for n in names:
        m = n if n in MODULES else by_key.get(n)
        if m is None:
            sys.exit(f"mutation_report: unknown module {n!r} (have: {', '.join(by_key)})")
        out.append(m)
    return out


def _mutmut(work: Path, *args: str) -> str:
    exe = Path(sys.executable).parent / "mutmut"
    return subprocess.run([str(exe), *args], cwd=work, check=True, capture_output=True, text=True).stdout


def _changed_lines(diff: str) -> tuple[str, str]:
    minus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    plus = [ln[1:].strip() for ln in diff.splitlines() if ln.startswith("+") and not ln.startswith("+++")]
    return " / ".join(minus), " / ".join(plus)


def _function(name: str, module: str) -> str:
    rest = name[len(_dotted(module)) + 1:]
    rest = rest.split("__mutmut_")[0]
    return rest[1:].replace("ǁ", ".").strip(".") if rest.startswith("x") else rest


def _order(name: str) -> tuple[str, int]:
    return name.split("__mutmut_")[0], int(name.rsplit("_", 1)[1])


def build(work: Path) -> dict:
    equivalents = tomllib.loads((HERE / "mutation_equivalent.toml").read_text())["equivalent"]
    report: dict = {}
    used = set()
    for module in MODULES:
        folder = work / key(module)
        statuses: dict[str, str] = {}
        if (folder / "mutants").is_dir():
            for line in _mutmut(folder, "results", "--all", "true").splitlines():
                if ": " in line:
                    name, status = line.strip().rsplit(": ", 1)
                    statuses[name] = status
        dotted = _dotted(module)
        mine = {n: s for n, s in statuses.items() if n.startswith(dotted + ".")}
        unchecked = sum(s == "not checked" for s in mine.values())
        killed = sum(s in KILLED for s in mine.values())
        survivors, equivalent = [], []
        left = [n for n, s in sorted(mine.items(), key=lambda kv: _order(kv[0])) if s not in KILLED and s != "not checked"]
        with ThreadPoolExecutor(4) as pool:  # one `mutmut show` process per mutant: a few at a time
            shown = dict(zip(left, pool.map(lambda n: _mutmut(folder, "show", n), left)))
        for name in left:
            status = mine[name]
            before, after = _changed_lines(shown[name])
            entry = {"name": name, "status": status, "function": _function(name, module), "before": before, "after": after}
            match = next((i for i, e in enumerate(equivalents) if e["module"] == module and e["before"].strip() == before
                          and e["after"].strip() == after), None)
            if match is not None:
                used.add(match)
                equivalent.append(dict(entry, reason=equivalents[match]["reason"]))
            else:
                survivors.append(entry)
        total = len(mine)
        effective = total - unchecked - len(equivalent)
        report[module] = {"mutants": total, "unchecked": unchecked, "killed": killed, "equivalent": equivalent,
                          "survivors": survivors,
                          "kill_rate": (round(killed / effective, 4) if effective else 1.0) if total else None}
    stale = [e for i, e in enumerate(equivalents) if i not in used and report.get(e["module"], {}).get("mutants")]
    return {"modules": report, "stale_equivalents": stale}


def markdown(data: dict, note: str = "") -> str:
    out = ["# Mutation report: the verdict machinery", "",
           "Made by `bash scripts/mutation.sh` (mutmut 3.8.1, the fast unit tests of each module, hypothesis seed 0);",
           "CI (`python scripts/mutation_check.py`, from .ci/run) fails when a core module's rate drops below",
           "`scripts/mutation_thresholds.json`, or when one of issue 21's six named mutations survives.",
           "Kill rate = killed / (mutants - equivalent); a mutant with no test reaching it counts as surviving.", "",
           "A run stopped before the end leaves mutants unchecked: the rate is then over the checked ones.", "",
           *([note.strip(), ""] if note.strip() else []),
           "| module | mutants | checked | killed | equivalent | surviving | kill rate |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for module, r in data["modules"].items():
        out.append(f"| `{module}` | {r['mutants']} | {r['mutants'] - r['unchecked']} | {r['killed']} | "
                   f"{len(r['equivalent'])} | {len(r['survivors'])} | "
                   + (f"{100 * r['kill_rate']:.1f} % |" if r["kill_rate"] is not None and r['mutants'] > r['unchecked']
                      else "not run |"))
    for module, r in data["modules"].items():
        out += ["", f"## `{module}`", ""]
        if r["equivalent"]:
            out += ["Equivalent (no test can tell them apart):", ""]
            for e in r["equivalent"]:
                out.append(f"- `{e['function']}`: `{e['before']}` → `{e['after']}` — {e['reason']}")
            out.append("")
        if r["survivors"]:
            out += ["Surviving (missing tests):", ""]
            for e in r["survivors"]:
                out.append(f"- `{e['function']}` ({e['status']}): `{e['before']}` → `{e['after']}`")
        else:
            out.append("No surviving non-equivalent mutant.")
    if data["stale_equivalents"]:
        out += ["", "## Equivalence entries that matched no mutant (stale)", ""]
        out += [f"- `{e['module']}`: `{e['before']}` → `{e['after']}`" for e in data["stale_equivalents"]]
    return "\n".join(out) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--modules", nargs="*", metavar="MODULE", help="the modules' paths (all, or those named)")
    ap.add_argument("--key", metavar="MODULE", help="the name of a module's mutmut folder")
    ap.add_argument("--tests", metavar="MODULE", help="a module's fast unit tests")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--summary", type=Path)
    ap.add_argument("--note", type=Path, help="a Markdown file whose text the report prints after its header (the run's story)")
    args = ap.parse_args()
    if args.modules is not None:
        print(" ".join(resolve(args.modules)))
        return
    if args.key:
        print(key(resolve([args.key])[0]))
        return
    if args.tests:
        print(" ".join(MODULES[resolve([args.tests])[0]]))
        return
    data = build(args.work)
    args.out.write_text(markdown(data, args.note.read_text(encoding="utf-8") if args.note else ""))
    summary = {m: {k: (len(v) if isinstance(v, list) else v) for k, v in r.items()} for m, r in data["modules"].items()}
    args.summary.write_text(json.dumps(summary, indent=1) + "\n")
    for m, r in summary.items():
        rate = "not run" if r["kill_rate"] is None else f"{100 * r['kill_rate']:.1f} %"
        print(f"{m}: {r['killed']}/{r['mutants'] - r['unchecked'] - r['equivalent']} killed ({rate}), "
              f"{r['equivalent']} equivalent, {r['survivors']} surviving, {r['unchecked']} of {r['mutants']} unchecked")


if __name__ == "__main__":
    main()
