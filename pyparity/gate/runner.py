"""The gate: run a corpus's pipelines on its inputs, diff against goldens and references.

Each case runs through the application layer (`pyparity.app`: the same specs, policies and stage
selection as ``pyparity run``) wherever the executor puts it (`executors`); the case records its trace in
memory, diffs it, writes its HTML page / golden itself, and sends back only a compact `CaseOutcome`
(summary lines, the failing stages, JUnit XML text, and the report of a failed case).
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

from pyparity.app.reports import ReportOptions
from pyparity.errors import InputError, PyparityError, TraceError
from pyparity.gate.corpus import Case, Corpus

PASS, REGRESSION, DIVERGED, ERROR, NEW, UPDATED, UNCHANGED, REFUSED, NOTHING = (
    "pass", "regression", "diverged", "error", "new", "updated", "unchanged", "refused", "nothing-compared")
FAILED = {REGRESSION, DIVERGED, ERROR, REFUSED, NOTHING}


@dataclass
class GateOptions:
    """goldens: the golden root; update/force: bless this run's results; html_dir: one page per case;
    inject: the gate's self-test perturbations; reports: ``--policy`` (over every case's) and ``--stage``."""

    goldens: Path
    model_dir: Path | None = None
    update: bool = False
    force: bool = False
    html_dir: Path | None = None
    inject: list[str] = field(default_factory=list)
    reports: ReportOptions = field(default_factory=ReportOptions)


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
    report: object | None = None     # the DiffReport that failed the case (kept for failed cases only)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("junit")
        d.pop("report")
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
            raise InputError("expected STAGE_GLOB[=DELTA]", param="inject_regression", value=s) from None
    arrays = []
    for n in trace.names:
        a = trace[n]
        for glob, delta in parsed:
            if glob_match(n, glob) and a.size:
                a = np.array(a, copy=True)
                a.reshape(-1)[0] += (delta if a.dtype.kind in "fc" else max(1, int(round(delta))))
        arrays.append((n, a))
    return Trace.from_arrays(arrays, meta=trace.meta, source=str(trace.source))


def _record(case: Case, opts: GateOptions, entry):
    """The case's trace and the default policy of its pipeline."""
    from pyparity.app import record, spec as spec_of
    from pyparity.gate.goldens import producer_meta
    from pyparity.gate.pipelines import GateEntry, resolve
    from pyparity.trace import Recorder
    from pyparity.trace.meta import input_meta

    meta = {"producer": producer_meta(case.pipeline), "input": input_meta(case.input, with_path=True)}
    run = resolve(entry)
    if isinstance(run, GateEntry):
        s = spec_of(run.spec)
        extra = {"model_dir": opts.model_dir} if "model_dir" in {f.name for f in fields(s.options)} else {}
        trace, _, _ = record(s, case.input, s.options(**{**run.options, **extra}), meta=meta, select=run.stages)
        return trace, s.default_policy(meta["producer"])
    rec = Recorder(meta=meta)
    run(case.input, rec, opts.model_dir)
    return rec.finish(), None


def run_case(case: Case, opts: GateOptions, pipeline_entry=None) -> CaseOutcome:
    """Run one case end to end (in whatever process calls it); never raises for a bad case."""
    from pyparity.gate.pipelines import entry
    from pyparity.render.gate import error_suite

    t0 = time.perf_counter()
    out = CaseOutcome(case.name, case.pipeline, case.golden, PASS)
    try:
        _run_case(case, opts, pipeline_entry if pipeline_entry is not None else entry(case.pipeline), out)
    except PyparityError as exc:
        out.status, out.message = ERROR, str(exc)
    except Exception as exc:  # a crashing pipeline is a failed case, reported, not a crashed gate
        tb = traceback.extract_tb(exc.__traceback__)
        where = f" at {Path(tb[-1].filename).name}:{tb[-1].lineno}" if tb else ""
        out.status, out.message = ERROR, f"{type(exc).__name__}: {exc}{where}"
    if out.status == ERROR:
        out.junit = [error_suite(case.name, out.message, time.perf_counter() - t0)]
    if not out.failed:
        out.report = None
    out.seconds = time.perf_counter() - t0
    return out


def _run_case(case: Case, opts: GateOptions, entry, out: CaseOutcome) -> None:
    from pyparity.app import compare, recorded_groups
    from pyparity.diff.compare import ONLY_IN_A
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.gate.goldens import golden_dir, load_golden, ref_score, save_golden
    from pyparity.render.gate import suite_xml
    from pyparity.trace import read_trace
    from pyparity.trace.trace import glob_escape, glob_match

    trace, spec_policy = _record(case, opts, entry)
    trace = inject_regression(trace, opts.inject)
    reports = opts.reports
    policy = resolve_policy(reports.policy or case.policy or spec_policy)
    gpolicy = resolve_policy(reports.policy or case.golden_policy) if (reports.policy or case.golden_policy) else policy
    failing: list[str] = []

    ref = ref_report = None
    if case.reference is not None:
        ref = read_trace(case.reference)
        ref_report = compare(ref, trace, reports, scope=recorded_groups(trace), policy=policy)
        out.reference_status = ("nothing-compared" if ref_report.nothing_compared
                                else "match" if ref_report.ok else "diverged")
        out.reference_first = ref_report.first_divergence
        out.reference_summary = ref_report.summary()
        failing += [s.name for s in ref_report.failing]
        out.junit.append(suite_xml(ref_report, f"{case.name} vs reference"))

    gold = gold_report = None
    if golden_dir(opts.goldens, case.golden).exists() or not opts.update:
        try:
            gold = load_golden(opts.goldens, case.golden, check_version=not opts.update)
        except TraceError:
            if not opts.update:
                raise
    # the golden's stages (of those the user's --stage globs select); a golden outside them is not compared
    scope = [glob_escape(n) for n in (gold.names if gold is not None else ())
             if not reports.stages or any(glob_match(n, g) for g in reports.stages)]
    if gold is not None and scope:
        gold_report = compare(gold, trace, scope=scope, policy=gpolicy, reports=replace(reports, stages=()))
        missing = [s.name for s in gold_report.stages if s.status == ONLY_IN_A]
        regressed = [s.name for s in gold_report.failing] + missing
        out.golden_status = ("regression" if regressed else "nothing-compared" if gold_report.nothing_compared
                             else "match")
        out.golden_first = gold_report.first_divergence or (missing[0] if missing else None)
        out.golden_summary = gold_report.summary() + (
            f"\n  {len(missing)} golden stage(s) not produced (first: {missing[0]})" if missing else "")
        out.junit.append(suite_xml(gold_report, f"{case.name} vs golden"))
        if not opts.update:
            failing = regressed + [f for f in failing if f not in regressed]
    elif gold is None:
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
        out.status, out.report = REGRESSION, gold_report
    elif out.golden_status == "nothing-compared":
        out.status, out.message, out.report = NOTHING, "vs golden: " + gold_report.summary().splitlines()[0], gold_report
    if out.status not in (REFUSED,) and out.reference_status == "diverged":
        if out.status in (PASS, NEW, UPDATED, UNCHANGED):
            out.status, out.report = DIVERGED, ref_report
    if out.status in (PASS, NEW, UPDATED, UNCHANGED) and out.reference_status == "nothing-compared":
        # a run that shares no stage with its reference proves nothing, whatever the golden says
        out.status, out.message = NOTHING, "vs reference: " + ref_report.summary().splitlines()[0]
        out.report = ref_report


def check_goldens(corpus: Corpus, opts: GateOptions) -> None:
    """Before anything runs: every golden exists, is complete and from this producer version."""
    from pyparity.gate.goldens import check_producer, golden_dir, read_golden_meta

    if opts.update:
        return
    for c in corpus.cases:
        p = golden_dir(opts.goldens, c.golden)
        if not p.exists():
            raise InputError(f"{corpus.path}: case {c.name}: golden {p} does not exist (an update run blesses it)",
                             param="update")
        check_producer(p, read_golden_meta(p))


def _run_item(opts: GateOptions, item) -> CaseOutcome:
    case, entry = item
    return run_case(case, opts, entry)


def run_gate(corpus: Corpus, opts: GateOptions, jobs: int | None = None, console=None, on_result=None,
             progress: bool = True, executor=None) -> list[CaseOutcome]:
    """Run every case on ``executor`` (default: ``jobs`` local processes, 1 runs in this process) and
    return outcomes in corpus order."""
    from pyparity.gate.executors import local
    from pyparity.gate.pipelines import entry

    check_goldens(corpus, opts)
    jobs = max(1, jobs or os.cpu_count() or 1)
    executor = executor or local(jobs, len(corpus.cases))
    items = [(c, entry(c.pipeline)) for c in corpus.cases]
    results: dict[str, CaseOutcome] = {}
    prog = task = None
    if progress:
        from pyparity.render.gate import progress_bar

        prog = progress_bar(console)
        prog.start()
        task = prog.add_task("", total=len(corpus.cases))
    try:
        for o in executor.map(functools.partial(_run_item, opts), items):
            results[o.name] = o
            if prog is not None:
                from pyparity.render.gate import show_progress

                show_progress(prog, task, o)
            if on_result is not None:
                on_result(o)
    finally:
        if prog is not None:
            prog.stop()
    return [results[c.name] for c in corpus.cases]


def write_gate_reports(outcomes: list[CaseOutcome], corpus: Corpus, reports: ReportOptions) -> Path | None:
    """The gate's JSON (``-``: standard output), JUnit and HTML index as ``reports`` asks; returns the
    index page written, if any."""
    from pyparity.app.reports import write_text
    from pyparity.render.gate import gate_index_html, gate_json, gate_junit

    if reports.json is not None:
        write_text(reports.json, gate_json(outcomes, corpus))
    if reports.junit is not None:
        write_text(reports.junit, gate_junit(outcomes))
    if reports.github:
        from pyparity.render.github import write_github_gate

        write_github_gate(outcomes, corpus.path, corpus.name)
    if reports.html is not None:
        index = Path(reports.html) / "index.html"
        write_text(index, gate_index_html(outcomes, corpus))
        return index
    return None
