"""The gate: run a corpus's pipelines on its inputs, diff against goldens and references.

Each case runs through the application layer (`pyparity.app`: the same specs, policies and stage
selection as ``pyparity run``) wherever the executor puts it (`executors`: this process, local worker
processes, a Dask cluster); the case records its trace in memory, diffs it, writes its HTML page, and
sends back only a compact `CaseOutcome` (summary lines, the failing stages, JUnit XML text, the report of
a failed case; with ``--update`` the few stages its golden keeps). The coordinator (`stream_gate`) writes
goldens, streams each outcome to the results journal (`journal`) and holds none of them, so its memory
stays flat however long the corpus is.
"""

from __future__ import annotations

import functools
import os
import time
import traceback
from dataclasses import dataclass, field, fields, replace
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
    timeout: float | None = None     # seconds per case (None: no limit)


@dataclass
class GoldenPayload:
    """What an ``--update`` run sends the coordinator to bless: the golden's stages of this run."""

    arrays: list
    meta: dict
    score: dict | None
    source: str


_NOT_REPORTED = ("junit", "report", "golden_payload")


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
    golden_payload: GoldenPayload | None = None  # --update only; consumed by the coordinator

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @classmethod
    def from_dict(cls, d: dict) -> "CaseOutcome":
        """An outcome as `to_dict` (plus its ``junit``) stored it in the results journal."""
        return cls(**{k: v for k, v in d.items() if k != "failed"})

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_REPORTED}
        d["failing_stages"] = list(self.failing_stages)
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
    from pyparity.gate.timeout import CaseTimeout, time_limit
    from pyparity.render.gate import error_suite

    t0 = time.perf_counter()
    out = CaseOutcome(case.name, case.pipeline, case.golden, PASS)
    try:
        with time_limit(opts.timeout):
            _run_case(case, opts, pipeline_entry if pipeline_entry is not None else entry(case.pipeline), out)
    except CaseTimeout:
        out.status, out.message, out.golden_payload = ERROR, f"timed out after {opts.timeout:g} s (--timeout)", None
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
    from pyparity.app import compare, recorded_groups, resolve_policy_for
    from pyparity.diff.compare import ONLY_IN_A
    from pyparity.gate.goldens import golden_dir, load_golden, ref_score
    from pyparity.render.gate import suite_xml
    from pyparity.trace import read_trace
    from pyparity.trace.trace import glob_escape, glob_match

    trace, spec_policy = _record(case, opts, entry)
    trace = inject_regression(trace, opts.inject)
    reports = opts.reports
    # as every front-end resolves them: --policy, else the case's, else its pipeline's default
    policy = resolve_policy_for(reports.policy or case.policy, trace, default=spec_policy)
    gpolicy = (resolve_policy_for(reports.policy or case.golden_policy, trace)
               if (reports.policy or case.golden_policy) else policy)
    failing: list[str] = []

    ref = ref_report = None
    if case.reference is not None:
        ref = read_trace(case.reference)
        ref_report = compare(trace, ref, reports, scope=recorded_groups(trace), policy=policy)
        out.reference_status = ("nothing-compared" if ref_report.nothing_compared
                                else "match" if ref_report.ok else "diverged")
        out.reference_first = ref_report.first_divergence
        out.reference_summary = ref_report.summary()
        failing += [s.name for s in ref_report.failing]
        out.junit.append(suite_xml(ref_report, f"{case.name} vs reference"))

    gold = gold_report = None
    if golden_dir(opts.goldens, case.golden).exists() or not opts.update:
        try:
            gold = load_golden(opts.goldens, case.golden)
        except TraceError:
            if not opts.update:
                raise
    # the golden's stages (of those the user's --stage globs select); a golden outside them is not compared
    scope = [glob_escape(n) for n in (gold.names if gold is not None else ())
             if not reports.stages or any(glob_match(n, g) for g in reports.stages)]
    if gold is not None and scope:
        gold_report = compare(trace, gold, scope=scope, policy=gpolicy, reports=replace(reports, stages=()))
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
        # goldens are written by the coordinator only (`bless`): send it the stages the golden keeps
        sel = trace.select(case.golden_stages) if case.golden_stages else trace
        if not len(sel):
            raise InputError(f"golden {case.golden}: no stage of {trace.source} matches "
                             f"{', '.join(case.golden_stages) or '*'}")
        out.golden_payload = GoldenPayload([(n, np.asarray(sel[n])) for n in sel.names], dict(trace.meta),
                                           ref_score(ref_report), str(case.input))
        # the reference's word already here, so that a worker's verdict (and --fail-fast) never says pass for a
        # case that diverges from or compares nothing with its reference; `bless` settles again after saving
        _settle(out, ref_report)
        out.report = None  # an --update case sends the coordinator its golden's stages, not a diff report
        return
    if out.golden_status == "regression":
        out.status, out.report = REGRESSION, gold_report
    elif out.golden_status == "nothing-compared":
        out.status, out.message, out.report = NOTHING, "vs golden: " + gold_report.summary().splitlines()[0], gold_report
    _settle(out, ref_report)


def _settle(out: CaseOutcome, ref_report) -> None:
    """The reference's word on a case the golden (or its blessing) passed (``ref_report``: kept where it
    fails the case; the coordinator blessing a golden has only the case's summary lines)."""
    if out.status not in (REFUSED,) and out.reference_status == "diverged":
        if out.status in (PASS, NEW, UPDATED, UNCHANGED):
            out.status, out.report = DIVERGED, ref_report
    if out.status in (PASS, NEW, UPDATED, UNCHANGED) and out.reference_status == "nothing-compared":
        # a run that shares no stage with its reference proves nothing, whatever the golden says
        out.status, out.message = NOTHING, "vs reference: " + out.reference_summary.splitlines()[0]
        out.report = ref_report
    if not out.failed:
        out.report = None


def bless(case: Case, opts: GateOptions, out: CaseOutcome) -> CaseOutcome:
    """On the coordinator: save the golden an ``--update`` case sent (`save_golden`: atomic, locked)."""
    from pyparity.gate.goldens import save_golden
    from pyparity.render.gate import error_suite
    from pyparity.trace import Trace

    payload, out.golden_payload = out.golden_payload, None
    if payload is None or out.status == ERROR:
        return out
    try:
        change = save_golden(Trace.from_arrays(payload.arrays, meta=payload.meta, source=payload.source),
                             case.golden, opts.goldens, stages=case.golden_stages, update=True, force=opts.force,
                             score=payload.score, source=payload.source)
    except PyparityError as exc:
        out.status, out.message, out.report = ERROR, str(exc), None
        out.junit = [error_suite(case.name, out.message, out.seconds)]
        return out
    out.golden_change = change.describe()
    out.status = {"created": NEW, "updated": UPDATED, "unchanged": UNCHANGED, "refused": REFUSED}[change.action]
    if change.action == "refused":
        out.message = change.message
    _settle(out, None)
    return out


def check_goldens(corpus: Corpus, opts: GateOptions) -> None:
    """Before anything runs: every golden exists, is complete and in a format this pyparity reads."""
    from pyparity.gate.goldens import check_format, golden_dir, read_golden_meta

    if opts.update:
        return
    for c in corpus.cases:
        p = golden_dir(opts.goldens, c.golden)
        if not p.exists():
            raise InputError(f"{corpus.path}: case {c.name}: golden {p} does not exist (an update run blesses it)",
                             param="update")
        check_format(p, read_golden_meta(p))


@dataclass
class GateRun:
    """What the coordinator keeps of a gate run: counts, the first failed case, and where the outcomes
    are (never the outcomes). Iterating it streams the outcomes from the journal in corpus order."""

    journal: "object"
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    resumed: int = 0
    not_run: int = 0                 # cases never started (--fail-fast stopped the gate)
    first_failed: CaseOutcome | None = None  # with its report, where it ran in this run
    seconds: float = 0.0             # wall time of the run
    case_seconds: float = 0.0        # the cases' own times, summed

    def count(self, o: CaseOutcome) -> None:
        self.counts[o.status] = self.counts.get(o.status, 0) + 1
        self.case_seconds += o.seconds
        if o.failed and self.first_failed is None:
            self.first_failed = o

    @property
    def failed(self) -> int:
        return sum(n for s, n in self.counts.items() if s in FAILED)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.not_run == 0

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self):
        return self.journal.outcomes()

    def outcomes(self):
        return self.journal.outcomes()


def _run_item(opts: GateOptions, item) -> CaseOutcome:
    case, entry = item
    return run_case(case, opts, entry)


def _worker_failed(item, exc: BaseException) -> CaseOutcome:
    """The outcome of a case whose worker died under it (killed, out of memory, lost with its node)."""
    from pyparity.render.gate import error_suite

    case, _ = item
    out = CaseOutcome(case.name, case.pipeline, case.golden, ERROR,
                      message=f"the worker running this case died ({type(exc).__name__}: {exc})")
    out.junit = [error_suite(case.name, out.message)]
    return out


def _map(executor, fn, items: list):
    """``executor.map``, passing `_worker_failed` where the executor takes an ``on_error`` (an executor of
    one's own may not)."""
    import inspect

    if not items:
        return iter(())
    try:
        takes = "on_error" in inspect.signature(executor.map).parameters
    except (TypeError, ValueError):
        takes = False
    return executor.map(fn, items, on_error=_worker_failed) if takes else executor.map(fn, items)


def stream_gate(corpus: Corpus, opts: GateOptions, executor=None, journal=None, resume: bool = False,
                fail_fast: bool = False, console=None, progress: bool = True, on_result=None,
                jobs: int | None = None) -> GateRun:
    """Run the corpus's cases on ``executor`` (default: `executors.local` with ``jobs``), streaming each
    outcome to ``journal`` (a `journal.Journal`; default: a temporary one) as it arrives. ``resume``: a case
    whose journaled result is current (`journal.case_key`) is not run again. ``fail_fast``: stop at the
    first failed case (cases not yet started are cancelled and counted as not run)."""
    import tempfile

    from pyparity.executors import local
    from pyparity.gate.journal import Journal, case_key
    from pyparity.gate.pipelines import entry

    if resume and opts.update:
        raise InputError("reuses verdicts; an update run blesses goldens: run it without --resume", param="resume")
    check_goldens(corpus, opts)
    t0 = time.perf_counter()
    if journal is None:
        journal = Journal(Path(tempfile.mkdtemp(prefix="pyparity-gate-")) / "results.jsonl")
    journal.decode = CaseOutcome.from_dict
    previous = journal.previous_keys(never_current=(ERROR,)) if resume else {}
    by_name = {c.name: c for c in corpus.cases}
    keys = {c.name: case_key(c, opts) for c in corpus.cases}
    run = GateRun(journal, len(corpus.cases))
    todo = [c for c in corpus.cases if previous.get(c.name) != keys[c.name]]
    run.resumed = len(corpus.cases) - len(todo)
    executor = executor or local(max(1, jobs or os.cpu_count() or 1), len(todo))
    prog = task = None
    if progress:
        from pyparity.render.gate import progress_bar

        prog = progress_bar(console)
    journal.open(resume)
    finished = 0
    try:
        if prog is not None:
            prog.start()
            task = prog.add_task("", total=len(todo))
        if run.resumed:
            for rec in journal.records():  # the reused results count, and are reported, as if just run
                if rec["case"] in by_name and previous.get(rec["case"]) == keys[rec["case"]] == rec.get("key"):
                    run.count(CaseOutcome.from_dict(rec["outcome"]))
        results = _map(executor, functools.partial(_run_item, opts), [(c, entry(c.pipeline)) for c in todo])
        try:
            for o in results:
                if o.golden_payload is not None:
                    o = bless(by_name[o.name], opts, o)
                journal.append(o, keys[o.name])
                finished += 1
                if not (o.failed and run.first_failed is None):
                    o.report = None  # only the first failed case's report is kept (the summary shows it)
                run.count(o)
                if prog is not None:
                    from pyparity.render.gate import show_progress

                    show_progress(prog, task, o)
                if on_result is not None:
                    on_result(o)
                if fail_fast and o.failed:
                    break
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
    finally:
        if prog is not None:
            prog.stop()
        journal.finish([c.name for c in corpus.cases])
    run.not_run = len(todo) - finished
    run.seconds = time.perf_counter() - t0
    return run


def run_gate(corpus: Corpus, opts: GateOptions, jobs: int | None = None, console=None, on_result=None,
             progress: bool = True, executor=None, **kwargs) -> list[CaseOutcome]:
    """`stream_gate`, with every outcome read back in corpus order (for small corpora and tests; the
    first failed case keeps its report)."""
    run = stream_gate(corpus, opts, executor=executor, console=console, progress=progress, on_result=on_result,
                      jobs=jobs, **kwargs)
    first = run.first_failed
    return [first if first is not None and o.name == first.name else o for o in run.outcomes()]


def _write_chunks(target, chunks) -> None:
    """Pieces of text to a file (atomically) or, for ``"-"``, to standard output, as they come."""
    import sys

    from pyparity.app.reports import STDOUT
    from pyparity.atomic import atomic_path

    if os.fspath(target) == STDOUT:
        for c in chunks:
            sys.stdout.write(c)
        sys.stdout.flush()
        return
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(c)


def write_gate_json(outcomes, corpus: Corpus, target) -> None:
    """The gate's JSON report (`render.gate.gate_document`), streamed a case at a time."""
    from pyparity.render.gate import gate_json_chunks

    _write_chunks(target, gate_json_chunks(outcomes, corpus))


def write_gate_junit(outcomes, target) -> None:
    """The gate's JUnit report, streamed a case at a time."""
    from pyparity.render.gate import gate_junit_chunks

    _write_chunks(target, gate_junit_chunks(outcomes))


def write_gate_reports(outcomes, corpus: Corpus, reports: ReportOptions) -> Path | None:
    """The gate's JSON (``-``: standard output), JUnit and HTML index as ``reports`` asks, streamed from
    ``outcomes`` (a `GateRun`, or a list); returns the index page written, if any."""
    from pyparity.app.reports import write_text
    from pyparity.render.gate import gate_index_html

    if reports.json is not None:
        write_gate_json(outcomes, corpus, reports.json)
    if reports.junit is not None:
        write_gate_junit(outcomes, reports.junit)
    if reports.github:
        from pyparity.render.github import write_github_gate

        write_github_gate(outcomes, corpus.path, corpus.name)
    if reports.html is not None:
        index = Path(reports.html) / "index.html"
        write_text(index, gate_index_html(outcomes, corpus))
        return index
    return None
