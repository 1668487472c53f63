"""Pipeline specs: what the application layer needs to know to run, record and judge a pipeline.

Each pipeline registers one `PipelineSpec`: its options, how it runs on an input into a recorder
(models loaded by its ``run``), the stages it can start from (`StageRef`), its default policy and named
fixes (policy overlays), what its trace's producer block says, and an optional check after the diff.
Front-ends never hold an ``if`` about a particular pipeline: what differs lives here. `registry` finds
specs by name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping


@dataclass(frozen=True)
class Fix:
    """A named fix of a reference defect: the options it sets and the built-in policy that declares the
    stages it changes as expected divergences (an overlay of the spec's policy)."""

    name: str
    options: Mapping[str, object]
    policy: str
    about: str = ""


@dataclass(frozen=True)
class NoOptions:
    """A pipeline without options."""


@dataclass
class RunContext:
    """One run: the input, the pipeline's options, where to record, and what it is compared with."""

    input: Path
    options: object
    rec: object                         # a StageRecorder
    start: object | None = None         # a StageRef, or None (run everything)
    reference: object | None = None     # the Trace the run will be compared with (some pipelines read it)
    models: object | None = None        # what the run loaded (for the front-end and the post-diff check)


@dataclass
class CheckContext:
    """What a post-diff check sees: the report, both traces, the run (its context and result), the
    resolved policy and the report options (a check that re-diffs compares as the user asked)."""

    report: object                      # DiffReport
    reference: object                   # Trace
    trace: object                       # Trace
    options: object
    policy: object                      # Policy
    run: RunContext | None = None
    result: object = None
    reports: object = None              # ReportOptions


@dataclass
class CheckResult:
    """A post-diff check's verdict: the report that stands and what the check says about it."""

    report: object
    notes: list[str] = field(default_factory=list)


@dataclass
class RunOutcome:
    """What a run gave: the trace, the pipeline's own result and what it says about it, and the
    comparison (None without a reference) with what the post-diff check added."""

    spec: "PipelineSpec"
    trace: object | None                 # Trace (None for a frames run)
    result: object = None
    report: object | None = None         # DiffReport, FramesReport, or None
    lines: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    out: Path | None = None
    frames: int = 0
    also_ok: bool = True                 # what the report does not hold (a frames run's end-of-video diff)

    @property
    def exit_code(self) -> int:
        """0: no comparison asked, or parity; 1: a divergence, or nothing compared."""
        return 0 if (self.report is None or self.report.ok) and self.also_ok else 1


def recorded_groups(trace) -> list[str]:
    """Globs for the top-level groups ``trace`` recorded: a run is compared on those only (a reference
    dump holds later pipelines' stages too)."""
    return [p + "/**" for p in sorted({n.split("/")[0] for n in trace.names})]


@dataclass(frozen=True)
class PipelineSpec:
    """How the application layer runs and judges one pipeline.

    run(ctx) records into ``ctx.rec`` and returns the pipeline's own result; for a ``frames`` spec it
    yields ``(frame name, result, trace)`` per frame, recording each frame with ``ctx.rec(i, name)``.
    describe(result, trace, ctx): lines a front-end prints about the run (faces found, margins);
    key_outputs: the stages whose error matters most to users (the first present is summed up per frame).
    producer(options): keys added to the trace's producer block (e.g. the fixes applied, which select
    the default policy); a run adds its parameters and model checksums with ``ctx.rec.update_meta``.
    check(ctx): a check after the diff that may replace the report (semgcn-temporal drift).
    scope(trace, options): the globs of the reference compared when the user names no stages.
    """

    name: str
    about: str
    policy: str
    run: Callable[[RunContext], object]
    options: type = NoOptions
    start_points: tuple[str, ...] = ()
    fixes: Mapping[str, Fix] = field(default_factory=dict)
    producer: Callable[[object], dict] | None = None
    check: Callable[[CheckContext], CheckResult] | None = None
    describe: Callable[[object, object, object], list[str]] | None = None
    key_outputs: tuple[str, ...] = ()
    scope: Callable[[object, object], list[str]] = lambda trace, options: recorded_groups(trace)
    frames: bool = False

    def default_policy(self, producer: Mapping | None = None) -> str:
        """The built-in policy a comparison of this pipeline's trace uses unless told otherwise: the
        spec's, or the one fix's overlay when a trace's producer says exactly one fix was applied."""
        fixes = list((producer or {}).get("fixes") or ())
        if len(fixes) == 1 and fixes[0] in self.fixes:
            return self.fixes[fixes[0]].policy
        return self.policy

    def producer_meta(self, options) -> dict:
        import pyparity

        return {"name": "pyparity", "version": pyparity.__version__, "pipeline": self.name,
                **(self.producer(options) if self.producer is not None else {})}
