"""One gate case, wherever the executor runs it: record the case's pipeline through the application layer
(`pyparity.app`: the same specs, policies and stage selection as ``pyparity run``), diff the trace
against its reference and its golden, write its HTML page, and return a `CaseOutcome`."""

from __future__ import annotations

import time
import traceback
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from pyparity.errors import InputError, PyparityError, TraceError
from pyparity.corpus_spec import Case
from pyparity.gate.outcome import (DIVERGED, ERROR, NEW, NOTHING, PASS, REFUSED, REGRESSION, UNCHANGED, UPDATED,
                                   CaseOutcome, GateOptions, GoldenPayload)


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
