"""`run_and_diff`: run a pipeline on an input, record its trace, compare it with a reference, report.

Every front-end that runs a pipeline (each ``pyparity run`` command, ``hunt``, the gate, the pytest
plugin) comes through here, so that policy resolution, the stages compared, the trace's metadata and the
reports are the same whichever asked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from pyparity.app.compare import compare, resolve_policy_for
from pyparity.app.meta import run_meta
from pyparity.app.reports import ReportOptions, write_reports
from pyparity.app.spec import CheckContext, PipelineSpec, RunContext, RunOutcome
from pyparity.errors import UsageError


def _trace(reference):
    if reference is None:
        return None
    if isinstance(reference, (str, os.PathLike)):
        from pyparity.trace import read_trace

        return read_trace(reference)
    return reference


def record(spec: PipelineSpec, input, options=None, *, out=None, start=None, reference=None, meta=None,
           select=None):
    """Run ``spec`` on ``input`` into a new recorder (a trace at ``out``, else in memory; ``meta``: its
    metadata, default the run's; ``select``: globs of the stages kept); returns ``(trace, result, ctx)``.
    ``reference`` is what the run may read (a probe's ``$ref:`` inputs). Nothing is left at ``out`` when
    the run fails."""
    from pyparity.trace import Recorder
    from pyparity.trace.recorder import SelectedStages

    options = options if options is not None else spec.options()
    ctx = RunContext(Path(input), options, None, start, _trace(reference))
    rec = Recorder(out, meta=meta if meta is not None else run_meta(spec, ctx))
    ctx.rec = SelectedStages(rec, select) if select else rec
    try:
        result = spec.run(ctx)
        trace = rec.finish()
    except BaseException:
        rec.abort()
        raise
    return trace, result, ctx


def run_and_diff(spec: PipelineSpec, input, options=None, *, reference=None, start=None, out=None,
                 reports: ReportOptions = ReportOptions(), on_frame: Callable[[str], None] | None = None
                 ) -> RunOutcome:
    """Run ``spec`` on ``input`` with ``options`` (its Options dataclass; None: defaults), starting at
    ``start`` (a StageRef) if given, recording to ``out`` (a trace folder; a folder of frame traces for
    a frames pipeline) or memory; with ``reference`` (a trace or its path) compare as ``reports`` asks
    and write the reports. ``on_frame`` receives one line per frame of a frames pipeline."""
    if spec.frames:  # its JSON report lists the frames run, with or without a reference
        from pyparity.app.sequence import run_frames_and_diff

        return run_frames_and_diff(spec, input, options, reference=reference, start=start, out=out,
                                   reports=reports, on_frame=on_frame)
    if reference is None and reports.files:
        raise UsageError("reports (JSON, JUnit, HTML) need a reference to compare with", param="reference")
    ref = _trace(reference)
    trace, result, ctx = record(spec, input, options, out=out, start=start, reference=ref)
    outcome = RunOutcome(spec, trace, result, out=Path(out) if out is not None else None)
    if spec.describe is not None:
        outcome.lines = list(spec.describe(result, trace, ctx))
    if ref is None:
        return outcome
    policy = resolve_policy_for(reports.policy, default=spec.default_policy(trace.meta.get("producer")))
    report = compare(trace, ref, reports, scope=spec.scope(trace, ctx.options), policy=policy)
    if spec.check is not None:
        checked = spec.check(CheckContext(report, ref, trace, ctx.options, policy, ctx, result, reports))
        report, outcome.notes = checked.report, checked.notes
    outcome.report = report
    write_reports(report, reports, ref, trace, image=ctx.input if ctx.input.is_file() else None)
    return outcome
