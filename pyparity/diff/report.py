"""The result of a diff, as plain data that the renderers (table, JSON, JUnit, HTML) present."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from pyparity.diff.compare import EXPECTED, FAILING, MATCH, ONLY_IN_A, ONLY_IN_B, StageResult


@dataclass
class DiffReport:
    a_source: str
    b_source: str
    stages: list[StageResult] = field(default_factory=list)
    first_divergence: str | None = None
    policy_source: str = ""

    @property
    def ok(self) -> bool:
        """True when every aligned stage matches (stages present on one side only do not fail)."""
        return self.first_divergence is None

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

    def summary(self) -> str:
        """One paragraph: the first divergence, its diagnosis, the worst stage (used by assertions)."""
        c = self.counts()
        head = (f"{c.get(MATCH, 0)}/{self.n_aligned} aligned stages match"
                + (f", {c.get(ONLY_IN_A, 0)} only in A" if c.get(ONLY_IN_A) else "")
                + (f", {c.get(ONLY_IN_B, 0)} only in B" if c.get(ONLY_IN_B) else ""))
        if self.expected:
            head += f", {len(self.expected)} expected divergence(s) (first: {self.expected[0].name})"
        if self.ok:
            return head + "."
        f = self.first
        lines = [head + f"; first divergence: {f.name} ({f.status}{_err(f)})"]
        if f.note:
            lines.append(f"  note: {f.note}")
        for h in f.diagnosis:
            lines.append(f"  likely cause: {h.title} — {h.detail}")
        w = self.worst
        if w is not None and w.name != f.name:
            lines.append(f"  worst stage: {w.name} ({w.status}{_err(w)})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "a": self.a_source,
            "b": self.b_source,
            "policy": self.policy_source,
            "ok": self.ok,
            "first_divergence": self.first_divergence,
            "counts": self.counts(),
            "expected_divergences": [{"name": s.name, "reason": s.note} for s in self.expected],
            "stages": [stage_dict(s) for s in self.stages],
        }


def _err(s: StageResult) -> str:
    if s.max_abs is None:
        return f": {s.note}" if s.note else ""
    return f", max abs {s.max_abs:.3g} at {list(s.argmax or ())}, {s.n_over}/{s.n_total} over"


def _num(x):
    if x is None:
        return None
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def stage_dict(s: StageResult) -> dict:
    return {
        "name": s.name,
        "status": s.status,
        "max_abs": _num(s.max_abs),
        "mean_abs": _num(s.mean_abs),
        "max_rel": _num(s.max_rel),
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
