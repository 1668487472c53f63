"""Comparing a trace with its reference the same way in every front-end: one policy resolution (an
explicit policy, else the default of the pipeline that produced the candidate), one stage selection
(the globs a user typed, each of which must match, else what the run recorded)."""

from __future__ import annotations

from pyparity.app.reports import ReportOptions
from pyparity.app.registry import spec_for_producer


def producer_of(trace) -> dict:
    p = (getattr(trace, "meta", None) or {}).get("producer")
    return p if isinstance(p, dict) else {}


def default_policy_ref(candidate, reference=None):
    """The default policy for comparing ``candidate`` with ``reference``: that of the pipeline whose
    trace the candidate is (its producer block), else the reference's; None: the built-in default."""
    for t in (candidate, reference):
        if t is None:
            continue
        s = spec_for_producer(producer_of(t))
        if s is not None:
            return s.default_policy(producer_of(t))
    return None


def resolve_policy_for(policy, candidate=None, reference=None, default=None):
    """``policy`` (a name, a path, a Policy) resolved as every front-end does; None: ``default`` (a
    name or path), else the producer's default (`default_policy_ref`), else the built-in default."""
    from pyparity.diff.policy import default_policy
    from pyparity.diff.policy_names import resolve_policy

    ref = policy if policy is not None else default if default is not None else default_policy_ref(candidate, reference)
    return resolve_policy(ref) or default_policy()


def compare(candidate, reference, reports: ReportOptions = ReportOptions(), *, mapping=None, scope=None,
            default_policy=None, policy=None):
    """Diff ``candidate`` (actual) against ``reference`` (expected) as ``reports`` asks (policy, stages, diagnosis).

    scope: globs compared when ``reports.stages`` is empty (a run's recorded groups; None: every stage).
    default_policy: the policy when ``reports.policy`` is None (else the candidate's producer's).
    policy: an already resolved `Policy` (wins over both).
    Returns the `DiffReport`; a typed stage glob that matches no stage is a `UsageError`.
    """
    from pyparity.diff import diff_traces

    pol = policy if policy is not None else resolve_policy_for(reports.policy, candidate, reference, default_policy)
    stages = list(reports.stages) or (list(scope) if scope is not None else None)
    report = diff_traces(candidate, reference, policy=pol, mapping=mapping, stages=stages,
                         diagnose_all=reports.diagnose_all)
    if reports.stages:
        report.require_every_stage_glob()  # a --stage typo beside globs that match: refused, not ignored
    link_first_divergence(report)
    return report


def link_first_divergence(report) -> None:
    """Point the report's first divergence at the code that computes it, here and in the reference (the
    stage index); a stage no pipeline declares stays unlinked."""
    if not report.first_divergence or report.first_where is not None:
        return
    from pyparity.app.stages import lookup, where

    found = lookup(report.first_divergence)
    if len(found) == 1:
        w = where(found[0])
        report.first_where = {"code": w.code, "module": found[0].module, "function": found[0].function,
                              "reference": found[0].reference}
