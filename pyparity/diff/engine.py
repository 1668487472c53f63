"""diff_traces: align two traces, compare every stage under its tolerance, diagnose divergences."""

from __future__ import annotations

import time

from pyparity.diff.align import Mapping, align
from pyparity.diff.compare import (
    EXPECTED, FAILING, IGNORED, ONLY_IN_A, ONLY_IN_B, StageResult, compare_arrays, compare_printed,
)
from pyparity.diff.diagnose import diagnose
from pyparity.diff.hypothesis import Context
from pyparity.diff.policy import Policy, default_policy
from pyparity.diff.report import DiffReport, trace_origin
from pyparity.errors import UsageError
from pyparity.trace.trace import Trace, glob_match


def _printed_decimals(trace: Trace, name: str) -> list[int] | None:
    """Digits a text source (an OpenFace CSV) printed for each element of a stage, if it says."""
    return (trace.meta.get("printed_decimals") or {}).get(name)


def diff_traces(
    actual: Trace,
    expected: Trace,
    policy: Policy | None = None,
    mapping: Mapping | None = None,
    stages: list[str] | None = None,
    diagnose_all: bool = False,
    progress=None,
) -> DiffReport:
    """Compare ``actual`` (the candidate: a port's trace) against ``expected`` (the reference), stage by stage.

    ``(actual, expected)`` as everywhere in the API (`pyparity.app.compare`, the pytest plugin). The report
    names the expected side A and the actual side B, as `pyparity diff A B` does.

    Parameters
    ----------
    policy : tolerances per stage (default: the built-in policy).
    mapping : renames / ignores (default: names as they are).
    stages : optional globs (A's names) restricting the comparison. When no stage of either trace
        matches any of them, that is a `UsageError` (a typo must not turn into a comparison of
        nothing); globs that match nothing while others do are listed in ``report.unmatched_stage_globs``
        (front-ends that take globs from a user refuse them).
    diagnose_all : diagnose every diverged stage, not only the first one (diagnosis costs time).
    progress : optional callable(done, total) for progress bars.
    """
    for name, value in (("actual", actual), ("expected", expected)):
        if not isinstance(value, Trace):
            raise TypeError(f"diff_traces: {name} must be a Trace (pyparity.trace.read_trace(path), "
                            f"Trace.from_arrays(dict)), not {type(value).__name__}")
    a, b = expected, actual
    started = time.perf_counter()
    policy = policy or default_policy()
    mapping = mapping or Mapping()
    all_pairs = align(a.names, b.names, mapping)
    pairs = all_pairs
    unmatched: list[str] = []
    if stages:
        pairs, unmatched = _select(all_pairs, list(stages))
        if not pairs and all_pairs:
            raise UsageError(f"stage filter {', '.join(repr(g) for g in unmatched)} matches no stage of "
                             f"{a.source or 'A'} ({len(a)} stages) or {b.source or 'B'} ({len(b)} stages)")
    results: list[StageResult] = []
    first = None
    first_expected = None
    earlier: list[str] = []
    seconds: list[float] = []
    for i, p in enumerate(pairs):
        t0 = time.perf_counter()
        tol = policy.tolerance_for(p.name)
        rule = policy.rule_for(p.name)
        if p.name_b is None or p.name_a is None:
            status = ONLY_IN_A if p.name_b is None else ONLY_IN_B
            (a if p.name_a else b).verify(p.name_a or p.name_b)  # a corrupt one-sided member is bad input too
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
        seconds.append(time.perf_counter() - t0)
        if progress is not None:
            progress(i + 1, len(pairs))
    return DiffReport(
        a_source=a.source or "A", b_source=b.source or "B", stages=results, first_divergence=first,
        policy_source=policy.source, nothing_compared=_nothing_compared(a, b, all_pairs, pairs, results, stages),
        unmatched_stage_globs=unmatched, a_origin=trace_origin(a), b_origin=trace_origin(b),
        seconds=time.perf_counter() - started, stage_seconds=seconds,
    )


def _select(pairs: list, globs: list[str]) -> tuple[list, list[str]]:
    """The pairs whose name matches a glob, and the globs that match nothing."""
    used = [False] * len(globs)
    kept = []
    for p in pairs:
        hit = False
        for i, g in enumerate(globs):
            if glob_match(p.name, g):
                used[i] = hit = True
                if all(used):
                    break
        if hit:
            kept.append(p)
    return kept, [g for g, u in zip(globs, used) if not u]


def _nothing_compared(a: Trace, b: Trace, all_pairs: list, pairs: list, results: list[StageResult],
                      stages: list[str] | None) -> str:
    """Why no stage was compared ("" when some were): a verdict about nothing is never parity."""
    if any(r.status not in (ONLY_IN_A, ONLY_IN_B, IGNORED) for r in results):
        return ""
    if not len(a) and not len(b):
        return "both traces are empty"
    if not len(a):
        return "the reference (A) has no stage"
    if not len(b):
        return "the candidate (B) recorded no stage (the run never reached a recorded stage or capture)"
    if not all_pairs:
        return "the mapping ignores every stage"
    n_a = sum(1 for p in pairs if p.name_a is not None)
    n_b = sum(1 for p in pairs if p.name_b is not None)
    filtered = bool(stages)
    globs = ", ".join(list(stages or [])[:4]) + (", ..." if len(stages or []) > 4 else "")
    where = f" among the stages matching {globs}" if filtered else ""
    if filtered and not n_a:
        return f"no stage of the reference (A) matches {globs} ({n_b} stage(s) of B do)"
    if filtered and not n_b:
        return f"no stage of the candidate (B) matches {globs} ({n_a} stage(s) of A do)"
    shared = sum(1 for p in pairs if p.name_a is not None and p.name_b is not None)
    if not shared:
        return (f"A and B have no stage in common{where} ({n_a} only in A, {n_b} only in B; "
                "a misspelt name, another prefix, or a mapping that renames B's stages is needed)")
    return f"every stage A and B share{where} ({shared}) is ignored by the policy"
