"""diff_traces: align two traces, compare every stage under its tolerance, diagnose divergences."""

from __future__ import annotations

from pyparity.diff.align import Mapping, align
from pyparity.diff.compare import (
    EXPECTED, FAILING, IGNORED, ONLY_IN_A, ONLY_IN_B, StageResult, compare_arrays, compare_printed,
)
from pyparity.diff.diagnose import Context, diagnose
from pyparity.diff.policy import Policy, default_policy
from pyparity.diff.report import DiffReport
from pyparity.trace.trace import Trace, glob_match


def _printed_decimals(trace: Trace, name: str) -> list[int] | None:
    """Digits a text source (an OpenFace CSV) printed for each element of a stage, if it says."""
    return (trace.meta.get("printed_decimals") or {}).get(name)


def diff_traces(
    a: Trace,
    b: Trace,
    policy: Policy | None = None,
    mapping: Mapping | None = None,
    stages: list[str] | None = None,
    diagnose_all: bool = False,
    progress=None,
) -> DiffReport:
    """Compare trace ``b`` (candidate) against ``a`` (reference), stage by stage.

    Parameters
    ----------
    policy : tolerances per stage (default: the built-in policy).
    mapping : renames / ignores (default: names as they are).
    stages : optional globs (A's names) restricting the comparison.
    diagnose_all : diagnose every diverged stage, not only the first one (diagnosis costs time).
    progress : optional callable(done, total) for progress bars.
    """
    policy = policy or default_policy()
    mapping = mapping or Mapping()
    pairs = align(a.names, b.names, mapping)
    if stages:
        pairs = [p for p in pairs if any(glob_match(p.name, g) for g in stages)]
    results: list[StageResult] = []
    first = None
    first_expected = None
    earlier: list[str] = []
    for i, p in enumerate(pairs):
        tol = policy.tolerance_for(p.name)
        rule = policy.rule_for(p.name)
        if p.name_b is None or p.name_a is None:
            status = ONLY_IN_A if p.name_b is None else ONLY_IN_B
            info = a.info(p.name_a) if p.name_a else b.info(p.name_b)
            r = StageResult(name=p.name, status=IGNORED if tol.ignore else status, tolerance=tol.describe(),
                            rule=rule, name_b=p.name_b)
            if p.name_a:
                r.dtype_a, r.shape_a = info.dtype, info.shape
            else:
                r.dtype_b, r.shape_b = info.dtype, info.shape
        else:
            # An unreadable array is bad input (TraceError, exit 2), not a divergence.
            arr_a, arr_b = a[p.name_a], b[p.name_b]
            decimals = _printed_decimals(a, p.name_a) or _printed_decimals(b, p.name_b)
            if decimals is not None and not tol.ignore and arr_a.size == len(decimals):
                r = compare_printed(p.name, arr_a, arr_b, decimals)
            else:
                r = compare_arrays(p.name, arr_a, arr_b, tol)
            r.rule = rule
            if p.name_b != p.name:
                r.name_b = p.name_b
            # Expected divergences: only the first is worth a diagnosis (the rest follow from it, and
            # diagnosing each costs more than the comparison itself).
            wanted = first is None and (not tol.expected or first_expected is None)
            if r.status in FAILING and (wanted or diagnose_all):
                ctx = Context(stage=p.name_a, reference=a, candidate=b, earlier=tuple(earlier))
                r.diagnosis = diagnose(arr_a, arr_b, tol, ctx)
        if tol.expected and r.status in FAILING:
            r.note = (f"expected: {tol.expected}" + (f"; {r.note}" if r.note else ""))
            r.status = EXPECTED
            first_expected = first_expected or p.name
        if r.status in FAILING and first is None:
            first = p.name
        if p.name_a:
            earlier.append(p.name_a)
        results.append(r)
        if progress is not None:
            progress(i + 1, len(pairs))
    return DiffReport(
        a_source=a.source or "A", b_source=b.source or "B", stages=results, first_divergence=first,
        policy_source=policy.source,
    )
