"""The gate: run a corpus's pipelines on its inputs in parallel, diff against goldens and references.

Each case runs in a worker process (`concurrent.futures.ProcessPoolExecutor`); the worker records the
trace in memory, diffs it, writes the case's HTML page / golden itself, and sends back only a compact
`CaseOutcome` (summary lines, the failing stages, JUnit XML text). At most ``2 * jobs`` cases are in
flight, so memory stays flat however long the corpus is. For a cluster, the same `run_case` function
is the unit of work to hand to an existing engine (see corpus/README.md): nothing here is process-local.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import InputError, PyparityError, TraceError
from pyparity.gate.corpus import Case, Corpus

PASS, REGRESSION, DIVERGED, ERROR, NEW, UPDATED, UNCHANGED, REFUSED, NOTHING = (
    "pass", "regression", "diverged", "error", "new", "updated", "unchanged", "refused", "nothing-compared")
FAILED = {REGRESSION, DIVERGED, ERROR, REFUSED, NOTHING}


@dataclass
class GateOptions:
    goldens: Path
    model_dir: Path | None = None
    update: bool = False
    force: bool = False
    html_dir: Path | None = None
    inject: list[str] = field(default_factory=list)


@dataclass
class CaseOutcome:
    name: str
    pipeline: str
    golden: str
    status: str
    golden_status: str = ""          # match / regression / nothing-compared / missing / "" (not compared)
    golden_first: str | None = None
    golden_summary: str = ""
    reference_status: str = ""       # match / diverged / nothing-compared / "" (no reference listed)
    reference_first: str | None = None
    reference_summary: str = ""
    failing_stages: list[str] = field(default_factory=list)
    golden_change: str = ""
    message: str = ""
    html: str | None = None
    seconds: float = 0.0
    junit: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("junit")
        d["failed"] = self.failed
        return d


def inject_regression(trace, specs: list[str]):
    """A copy of ``trace`` with stages perturbed (``GLOB[=DELTA]``, default delta 1): the gate's self-test."""
    if not specs:
        return trace
    from pyparity.trace import Trace
    from pyparity.trace.trace import glob_match

    parsed = []
    for s in specs:
        glob, _, delta = s.partition("=")
        try:
            parsed.append((glob, float(delta) if delta else 1.0))
        except ValueError:
            raise InputError(f"--inject-regression {s!r}: expected STAGE_GLOB[=DELTA]") from None
    arrays = []
    for n in trace.names:
        a = trace[n]
        for glob, delta in parsed:
            if glob_match(n, glob) and a.size:
                a = np.array(a, copy=True)
                a.reshape(-1)[0] += (delta if a.dtype.kind in "fc" else max(1, int(round(delta))))
        arrays.append((n, a))
    return Trace.from_arrays(arrays, meta=trace.meta, source=str(trace.source))


def _input_meta(path: Path) -> dict:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return {"file": path.name, "path": str(path), "sha256": h.hexdigest()}


def _suite_xml(report, name: str) -> str:
    import xml.etree.ElementTree as ET

    from pyparity.render.junit import junit_suite

    return ET.tostring(junit_suite(report, name), encoding="unicode")


def run_case(case: Case, opts: GateOptions, pipeline_entry=None) -> CaseOutcome:
    """Run one case end to end (in whatever process calls it); never raises for a bad case."""
    t0 = time.perf_counter()
    out = CaseOutcome(case.name, case.pipeline, case.golden, PASS)
    try:
        _run_case(case, opts, pipeline_entry, out)
    except PyparityError as exc:
        out.status, out.message = ERROR, str(exc)
    except Exception as exc:  # a crashing pipeline is a failed case, reported, not a crashed gate
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        out.status, out.message = ERROR, f"{type(exc).__name__}: {exc}{where}"
    if out.status == ERROR:
        import xml.etree.ElementTree as ET

        from pyparity.render.escape import printable

        out.seconds = time.perf_counter() - t0
        name, msg, secs = printable(case.name), printable(out.message), f"{out.seconds:.6f}"
        suite = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1", skipped="0", time=secs)
        tc = ET.SubElement(suite, "testcase", classname=name, name="run", time=secs)
        ET.SubElement(tc, "error", message=msg, type="error").text = msg
        out.junit = [ET.tostring(suite, encoding="unicode")]
    out.seconds = time.perf_counter() - t0
    return out


def _run_case(case: Case, opts: GateOptions, pipeline_entry, out: CaseOutcome) -> None:
    from pyparity.diff import diff_traces
    from pyparity.diff.compare import ONLY_IN_A
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.gate.goldens import golden_dir, load_golden, producer_meta, ref_score, save_golden
    from pyparity.gate.pipelines import entry, resolve
    from pyparity.trace import Recorder, read_trace
    from pyparity.trace.trace import glob_escape

    fn = resolve(pipeline_entry if pipeline_entry is not None else entry(case.pipeline))
    rec = Recorder(meta={"producer": producer_meta(case.pipeline), "input": _input_meta(case.input)})
    fn(case.input, rec, opts.model_dir)
    trace = inject_regression(rec.finish(), opts.inject)
    policy = resolve_policy(case.policy)
    gpolicy = resolve_policy(case.golden_policy) if case.golden_policy else policy
    failing: list[str] = []

    ref = ref_report = None
    if case.reference is not None:
        ref = read_trace(case.reference)
        prefixes = sorted({n.split("/")[0] for n in trace.names})
        ref_report = diff_traces(ref, trace, policy=policy, stages=[p + "/**" for p in prefixes])
        out.reference_status = ("nothing-compared" if ref_report.nothing_compared
                                else "match" if ref_report.ok else "diverged")
        out.reference_first = ref_report.first_divergence
        out.reference_summary = ref_report.summary()
        failing += [s.name for s in ref_report.failing]
        out.junit.append(_suite_xml(ref_report, f"{case.name} vs reference"))

    gold = gold_report = None
    gpath = golden_dir(opts.goldens, case.golden)
    if gpath.exists() or not opts.update:
        try:
            gold = load_golden(opts.goldens, case.golden, check_version=not opts.update)
        except TraceError:
            if not opts.update:
                raise
    if gold is not None:
        gold_report = diff_traces(gold, trace, policy=gpolicy, stages=[glob_escape(n) for n in gold.names])
        missing = [s.name for s in gold_report.stages if s.status == ONLY_IN_A]
        regressed = [s.name for s in gold_report.failing] + missing
        out.golden_status = ("regression" if regressed else "nothing-compared" if gold_report.nothing_compared
                             else "match")
        out.golden_first = gold_report.first_divergence or (missing[0] if missing else None)
        out.golden_summary = gold_report.summary() + (
            f"\n  {len(missing)} golden stage(s) not produced (first: {missing[0]})" if missing else "")
        out.junit.append(_suite_xml(gold_report, f"{case.name} vs golden"))
        if not opts.update:
            failing = regressed + [f for f in failing if f not in regressed]
    else:
        out.golden_status = "missing"

    if opts.html_dir is not None:
        from pyparity.render.html import write_html

        rep, a = (ref_report, ref) if ref_report is not None else (gold_report, gold)
        if rep is not None:
            page = Path(opts.html_dir) / (case.name.replace("/", "_") + ".html")
            vs = "reference" if ref_report is not None else "golden"
            write_html(rep, page, reference=a, candidate=trace, image=case.input,
                       title=f"{case.name}: pyparity {case.pipeline} vs {vs}",
                       extra={"golden": out.golden_summary} if gold_report is not None else None)
            out.html = str(page)

    out.failing_stages = failing[:50]
    if opts.update:
        change = save_golden(trace, case.golden, opts.goldens, stages=case.golden_stages, update=True,
                             force=opts.force, score=ref_score(ref_report), source=str(case.input))
        out.golden_change = change.describe()
        out.status = {"created": NEW, "updated": UPDATED, "unchanged": UNCHANGED, "refused": REFUSED}[change.action]
        if change.action == "refused":
            out.message = change.message
    elif out.golden_status == "regression":
        out.status = REGRESSION
    elif out.golden_status == "nothing-compared":
        out.status, out.message = NOTHING, "vs golden: " + gold_report.summary().splitlines()[0]
    if out.status not in (REFUSED,) and out.reference_status == "diverged":
        out.status = DIVERGED if out.status in (PASS, NEW, UPDATED, UNCHANGED) else out.status
    if out.status in (PASS, NEW, UPDATED, UNCHANGED) and out.reference_status == "nothing-compared":
        # a run that shares no stage with its reference proves nothing, whatever the golden says
        out.status, out.message = NOTHING, "vs reference: " + ref_report.summary().splitlines()[0]


def _worker_init(sys_path: list[str]) -> None:
    for p in sys_path:
        if p not in sys.path:
            sys.path.append(p)


def check_goldens(corpus: Corpus, opts: GateOptions) -> None:
    """Before anything runs: every golden exists, is complete and from this producer version."""
    from pyparity.gate.goldens import check_producer, golden_dir, read_golden_meta

    if opts.update:
        return
    for c in corpus.cases:
        p = golden_dir(opts.goldens, c.golden)
        if not p.exists():
            raise InputError(f"{corpus.path}: case {c.name}: golden {p} does not exist "
                             f"(bless it with: pyparity gate {corpus.path} --update)")
        check_producer(p, read_golden_meta(p))


def run_gate(corpus: Corpus, opts: GateOptions, jobs: int | None = None, console=None, on_result=None,
             progress: bool = True) -> list[CaseOutcome]:
    """Run every case (``jobs`` processes; 1 runs in this process) and return outcomes in corpus order."""
    from pyparity.gate.pipelines import entry

    check_goldens(corpus, opts)
    jobs = max(1, jobs or os.cpu_count() or 1)
    entries = {c.name: entry(c.pipeline) for c in corpus.cases}
    results: dict[str, CaseOutcome] = {}
    prog = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        prog = Progress(TextColumn("[bold]gate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=console, transient=False)
    task = None

    def done(o: CaseOutcome) -> None:
        results[o.name] = o
        if prog is not None:
            from rich.markup import escape as markup_escape

            from pyparity.render.escape import printable

            prog.update(task, advance=1, description=markup_escape(printable(f"{o.name}: {o.status}")))
            if o.failed:
                prog.console.print(printable(f"{o.status.upper()} {o.name}: "
                                             f"{o.golden_first or o.reference_first or o.message}"), markup=False)
        if on_result is not None:
            on_result(o)

    if prog is not None:
        prog.start()
        task = prog.add_task("", total=len(corpus.cases))
    try:
        if jobs == 1 or len(corpus.cases) == 1:
            for c in corpus.cases:
                done(run_case(c, opts, entries[c.name]))
        else:
            with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init, initargs=(list(sys.path),)) as ex:
                pending = set()
                todo = iter(corpus.cases)
                exhausted = False
                while True:
                    while not exhausted and len(pending) < 2 * jobs:
                        c = next(todo, None)
                        if c is None:
                            exhausted = True
                            break
                        pending.add(ex.submit(run_case, c, opts, entries[c.name]))
                    if not pending:
                        break
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for f in finished:
                        done(f.result())
    finally:
        if prog is not None:
            prog.stop()
    return [results[c.name] for c in corpus.cases]


GATE_SCHEMA = "pyparity-gate-report/1"  # pyparity/schemas/gate-report-1.schema.json, docs/reports.md


def gate_document(outcomes: list[CaseOutcome], corpus: Corpus) -> dict:
    """The gate's JSON report: ``schema`` and ``pyparity`` (the version that wrote it) first."""
    import pyparity

    return {"schema": GATE_SCHEMA, "pyparity": pyparity.__version__, "corpus": str(corpus.path), "name": corpus.name,
            "ok": not any(o.failed for o in outcomes),
            "counts": {s: sum(o.status == s for o in outcomes) for s in sorted({o.status for o in outcomes})},
            "seconds": round(sum(o.seconds for o in outcomes), 6),
            "cases": [o.to_dict() for o in outcomes]}


def write_gate_json(outcomes: list[CaseOutcome], corpus: Corpus, path: Path) -> None:
    import json

    from pyparity.atomic import write_text_atomic

    write_text_atomic(path, json.dumps(gate_document(outcomes, corpus), indent=1) + "\n")


def write_gate_junit(outcomes: list[CaseOutcome], path: Path) -> None:
    import xml.etree.ElementTree as ET

    from pyparity.atomic import write_text_atomic

    from pyparity.render.junit import junit_document, junit_text

    root = junit_document([ET.fromstring(x) for o in outcomes for x in o.junit], name="pyparity gate")
    write_text_atomic(path, junit_text(root))


def write_gate_index(outcomes: list[CaseOutcome], corpus: Corpus, html_dir: Path) -> Path:
    """An index page linking each case's report (relative links only)."""
    import pyparity
    from pyparity.atomic import write_text_atomic
    from pyparity.render.numbers import format_seconds
    from pyparity.render.templating import render

    rows = [{"name": o.name, "status": o.status, "link": Path(o.html).name if o.html else "",
             "golden_first": o.golden_first or "", "reference_first": o.reference_first or "", "message": o.message,
             "time": format_seconds(o.seconds)} for o in outcomes]
    page = render("gate_index.html.j2", name=corpus.name, outcomes=rows, version=pyparity.__version__)
    return write_text_atomic(Path(html_dir) / "index.html", page)


def render_summary(outcomes: list[CaseOutcome], console) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from pyparity.render.escape import printable, printable_lines

    style = {PASS: "green", UNCHANGED: "green", NEW: "cyan", UPDATED: "cyan", REGRESSION: "red",
             DIVERGED: "red", ERROR: "red", REFUSED: "red", NOTHING: "red"}
    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False)
    for col in ("case", "pipeline", "status", "vs golden", "vs reference", "first divergence / message"):
        t.add_column(col, no_wrap=col != "first divergence / message", overflow="fold")
    for o in outcomes:
        detail = o.golden_first or o.reference_first or o.message or o.golden_change
        t.add_row(Text(printable(o.name)), Text(printable(o.pipeline)), Text(o.status, style=style.get(o.status, "")),
                  o.golden_status or "-", o.reference_status or "-", Text(printable(detail or "")))
    console.print(t)
    n_fail = sum(o.failed for o in outcomes)
    counts = ", ".join(f"{sum(o.status == s for o in outcomes)} {s}"
                       for s in (PASS, UNCHANGED, NEW, UPDATED, REGRESSION, DIVERGED, ERROR, REFUSED, NOTHING)
                       if any(o.status == s for o in outcomes))
    console.print(counts)
    for o in outcomes:
        if o.golden_change and o.status in (UPDATED, REFUSED):
            console.print(printable_lines(o.golden_change), markup=False)
    for o in outcomes:
        if o.failed:
            console.print(Text(printable(f"{o.status.upper()} {o.name}"), style="bold red"))
            text = (o.golden_summary if o.status == REGRESSION
                    else o.reference_summary if o.status == DIVERGED or o.reference_status == NOTHING
                    else o.golden_summary if o.status == NOTHING else o.reference_summary or o.message)
            for s in printable_lines(text or o.message).splitlines():
                console.print("  " + s, markup=False)
            break  # the first failing case in full; the table names the others
    console.print(Text(f"GATE FAILED: {n_fail} of {len(outcomes)} case(s)", style="bold red") if n_fail
                  else Text(f"GATE PASSED: {len(outcomes)} case(s)", style="bold green"))
