"""The result of a diff, as plain data that the renderers (table, JSON, JUnit, HTML) present."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from pyparity.diff.compare import EXPECTED, FAILING, IGNORED, MATCH, ONLY_IN_A, ONLY_IN_B, StageResult
from pyparity.trace.trace import IN_MEMORY


@dataclass
class DiffReport:
    a_source: str
    b_source: str
    stages: list[StageResult] = field(default_factory=list)
    first_divergence: str | None = None
    policy_source: str = ""
    nothing_compared: str = ""  # why no stage was compared, when none was (then the report is not ok)
    unmatched_stage_globs: list[str] = field(default_factory=list)  # filter globs that matched no stage
    a_origin: dict = field(default_factory=dict)  # `trace_origin` of each side: path (or None), producer, input
    b_origin: dict = field(default_factory=dict)
    seconds: float = 0.0  # wall time of the diff
    stage_seconds: list[float] = field(default_factory=list)  # per entry of `stages`, when timed
    # where the first divergence is computed: {"code": "path:line", "function", "reference"} (the stage index)
    first_where: dict | None = None

    @property
    def ok(self) -> bool:
        """True when at least one stage was compared and every compared stage matches (stages present
        on one side only do not fail, but a comparison of nothing is never parity)."""
        return self.first_divergence is None and not self.nothing_compared

    def require_every_stage_glob(self) -> None:
        """For globs a user typed: one that matched no stage is a `UsageError`, not a silent gap."""
        if self.unmatched_stage_globs:
            from pyparity.errors import UsageError

            raise UsageError(f"stage filter {', '.join(repr(g) for g in self.unmatched_stage_globs)} matches no "
                             f"stage of {self.a_source} or {self.b_source}")

    def counts(self) -> dict[str, int]:
        return dict(Counter(s.status for s in self.stages))

    def stage(self, name: str) -> StageResult:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    @property
    def first(self) -> StageResult | None:
        return self.stage(self.first_divergence) if self.first_divergence else None

    @property
    def failing(self) -> list[StageResult]:
        return [s for s in self.stages if s.status in FAILING]

    @property
    def worst(self) -> StageResult | None:
        """The failing stage with the largest max abs error."""
        f = [s for s in self.failing if s.max_abs is not None]
        return max(f, key=lambda s: s.max_abs) if f else (self.failing[0] if self.failing else None)

    @property
    def expected(self) -> list[StageResult]:
        """Stages that diverged where the policy says they are expected to (reported, not failing)."""
        return [s for s in self.stages if s.status == EXPECTED]

    @property
    def n_aligned(self) -> int:
        return sum(1 for s in self.stages if s.status not in (ONLY_IN_A, ONLY_IN_B))

    @property
    def n_compared(self) -> int:
        """Stages whose arrays were compared (aligned and not ignored)."""
        return sum(1 for s in self.stages if s.status not in (ONLY_IN_A, ONLY_IN_B, IGNORED))

    def one_sided(self) -> str:
        """", 3 only in A (the candidate never produced them), 1 only in B" or ""."""
        c = self.counts()
        return ((f", {c[ONLY_IN_A]} only in A (the candidate never produced them)" if c.get(ONLY_IN_A) else "")
                + (f", {c[ONLY_IN_B]} only in B" if c.get(ONLY_IN_B) else ""))

    def verdict(self) -> str:
        """One line: PARITY / NOTHING COMPARED / FIRST DIVERGENCE, with what was compared and what was not."""
        if self.nothing_compared:
            return f"NOTHING COMPARED: {self.nothing_compared}"
        if self.ok:
            return f"PARITY: all {self.n_compared} compared stages match" + self.one_sided()
        return f"FIRST DIVERGENCE {self.first_divergence}"

    def summary(self) -> str:
        """One paragraph: the first divergence, its diagnosis, the worst stage (used by assertions)."""
        c = self.counts()
        head = (f"{c.get(MATCH, 0)}/{self.n_aligned} aligned stages match"
                + (f", {c.get(ONLY_IN_A, 0)} only in A" if c.get(ONLY_IN_A) else "")
                + (f", {c.get(ONLY_IN_B, 0)} only in B" if c.get(ONLY_IN_B) else ""))
        if self.expected:
            head += f", {len(self.expected)} expected divergence(s) (first: {self.expected[0].name})"
        if self.nothing_compared:
            return f"nothing compared: {self.nothing_compared}; " + head + "."
        if self.ok:
            return head + "."
        f = self.first
        lines = [head + f"; first divergence: {f.name} ({f.status}{_err(f)})"]
        if f.note:
            lines.append(f"  note: {f.note}")
        if self.first_where:
            w = self.first_where
            lines.append(f"  computed in {w.get('code', '?')} {w.get('function', '')}()"
                         + (f"; reference: {w['reference']}" if w.get("reference") else ""))
        for h in f.diagnosis:
            lines.append(f"  likely cause: {h.title} — {h.detail}")
        w = self.worst
        if w is not None and w.name != f.name:
            lines.append(f"  worst stage: {w.name} ({w.status}{_err(w)})")
        return "\n".join(lines)

    def origin(self, side: str) -> dict:
        """`trace_origin` of side ``"a"`` or ``"b"`` (from the source string alone for reports built by hand)."""
        o = self.a_origin if side == "a" else self.b_origin
        src = self.a_source if side == "a" else self.b_source
        return o or {"path": None if src == IN_MEMORY else src, "producer": None, "input": None,
                     "label": src}

    def to_dict(self) -> dict:
        return {
            "a": self.origin("a"),
            "b": self.origin("b"),
            "policy": self.policy_source,
            "ok": self.ok,
            "nothing_compared": self.nothing_compared or None,
            "n_compared": self.n_compared,
            "first_divergence": self.first_divergence,
            "first_divergence_where": self.first_where,
            "counts": self.counts(),
            "expected_divergences": [{"name": s.name, "reason": s.note} for s in self.expected],
            "seconds": round(self.seconds, 6),
            "stages": [stage_dict(s) for s in self.stages],
        }


def trace_origin(trace) -> dict:
    """Where a trace came from, for reports: ``path`` (None for a trace held in memory), ``producer``
    ("openface-cpp 2.0.2", "pyparity openface-image"), ``input`` (the file it was run on) and a one-line
    ``label`` that says all of it (for an in-memory run: that it was not saved, and how to keep it)."""
    meta = getattr(trace, "meta", None) or {}
    src = getattr(trace, "source", None)
    path = None if src in (None, IN_MEMORY) else str(src)
    prod = meta.get("producer") if isinstance(meta.get("producer"), dict) else {}
    producer = " ".join(str(prod[k]) for k in ("name", "version") if prod.get(k)) or None
    how = prod.get("pipeline") or prod.get("command")
    if producer and how:
        producer += f" ({how})"
    inp = meta.get("input") if isinstance(meta.get("input"), dict) else {}
    input_ = inp.get("path") or inp.get("file")
    input_ = str(input_) if input_ else None
    if path is not None:
        label = path
    else:
        label = ("in memory: " + (producer or "this run's trace") + (f" on {input_}" if input_ else "")
                 + " (not saved; --out PATH keeps it)")
    return {"path": path, "producer": producer, "input": input_, "label": label}


def _err(s: StageResult) -> str:
    if s.max_abs is None:
        return f": {s.note}" if s.note else ""
    return f", max abs {s.max_abs:.3g} at {list(s.argmax or ())}, {s.n_over}/{s.n_total} over"


def json_number(x):
    """A metric for JSON: a number, None, or "inf" / "-inf" / "nan" (JSON has no non-finite numbers)."""
    if x is None:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def stage_dict(s: StageResult) -> dict:
    return {
        "name": s.name,
        "status": s.status,
        "max_abs": json_number(s.max_abs),
        "mean_abs": json_number(s.mean_abs),
        "max_rel": json_number(s.max_rel),
        "argmax": list(s.argmax) if s.argmax is not None else None,
        "n_over": s.n_over,
        "n_total": s.n_total,
        "nan": [s.nan_a, s.nan_b],
        "inf": [s.inf_a, s.inf_b],
        "dtype": [s.dtype_a, s.dtype_b],
        "shape": [list(s.shape_a) if s.shape_a is not None else None,
                  list(s.shape_b) if s.shape_b is not None else None],
        "tolerance": s.tolerance,
        "rule": s.rule,
        "name_b": s.name_b,
        "order_only": s.order_only,
        "note": s.note,
        "diagnosis": [h.to_dict() for h in s.diagnosis],
    }


@dataclass
class FrameDiff:
    """One frame of a sequence run and its diff (None: the reference has no dump of this frame)."""

    frame: str
    input: str
    report: DiffReport | None = None

    @property
    def status(self) -> str:
        if self.report is None:
            return "no-reference"
        if self.report.nothing_compared:
            return "nothing-compared"
        return "match" if self.report.ok else "diverged"


@dataclass
class FramesReport:
    """A sequence run diffed frame by frame against a folder of reference frame dumps. Frames on one
    side only are counted, not failed; but a run in which no frame was compared is never parity."""

    frames: list[FrameDiff] = field(default_factory=list)
    reference_only: list[str] = field(default_factory=list)  # reference frames the run did not reach

    def count(self, status: str) -> int:
        return sum(1 for f in self.frames if f.status == status)

    @property
    def nothing_compared(self) -> str:
        with_ref = [f for f in self.frames if f.report is not None]
        if not self.frames:
            return "the run produced no frame"
        if not with_ref:
            return (f"the reference has no frame dump for any of the {len(self.frames)} frame(s) run "
                    f"(expected {self.frames[0].frame}/, ...)")
        if all(f.report.nothing_compared for f in with_ref):
            return f"no frame shared a stage with its reference ({with_ref[0].frame}: {with_ref[0].report.nothing_compared})"
        return ""

    @property
    def ok(self) -> bool:
        return not self.nothing_compared and all(f.report.ok for f in self.frames if f.report is not None)

    def summary_line(self) -> str:
        line = (f"{len(self.frames)} frames, {self.count('match')} match, {self.count('diverged')} diverged"
                + (f", {self.count('nothing-compared')} nothing compared" if self.count("nothing-compared") else "")
                + (f", {self.count('no-reference')} without a reference frame" if self.count("no-reference") else "")
                + (f", {len(self.reference_only)} reference frame(s) not run" if self.reference_only else ""))
        return line + (f"; NOTHING COMPARED: {self.nothing_compared}" if self.nothing_compared else "")
