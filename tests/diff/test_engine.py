"""diff_traces (diff/engine.py): what each stage of a diff is compared with and under which rule, which
stages are diagnosed, expected divergences, the stage filter, and why a diff compared nothing.

Expected values follow from the engine's docstring and the tolerances' definitions (diff/compare.py);
the arrays are chosen so that each verdict is plain arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.align import Mapping
from pyparity.diff.compare import DIVERGED, EXPECTED, IGNORED, MATCH, ONLY_IN_A, ONLY_IN_B
from pyparity.diff.policy import Policy, Rule, Tolerance
from pyparity.errors import TraceError, UsageError
from pyparity.trace import Trace
from pyparity.trace.trace import StageInfo


def T(source=None, meta=None, **arrays) -> Trace:
    return Trace.from_arrays({k.replace("__", "/"): np.asarray(v) for k, v in arrays.items()}, meta=meta, source=source)


# tolerances and rules -----------------------------------------------------------------------

def test_without_a_policy_the_built_in_default_applies():
    """The built-in default is rtol 1e-5 or 4 ulps (policy.py): 2e-5 relative fails, 0.5e-5 passes."""
    a = T(x=[1.0])
    assert diff_traces(T(x=[1.0 + 2e-5]), a).stage("x").status == DIVERGED
    r = diff_traces(T(x=[1.0 + 0.5e-5]), a).stage("x")
    assert r.status == MATCH and r.tolerance == "rel≤1e-05 or 4 ulp" and r.rule == "default"


def test_each_stage_gets_its_rule_and_the_rule_that_matched():
    pol = Policy([Rule(("loose/*",), Tolerance(atol=0.5))], Tolerance())
    rep = diff_traces(T(loose__x=[1.25], tight=[1.25]), T(loose__x=[1.0], tight=[1.0]), pol)
    loose, tight = rep.stage("loose/x"), rep.stage("tight")
    assert (loose.status, loose.rule, loose.tolerance) == (MATCH, "loose/*", "abs≤0.5")
    assert (tight.status, tight.rule, tight.tolerance) == (DIVERGED, "default", "equal")
    assert rep.first_divergence == "tight" and rep.policy_source == "<built-in>"


def test_sources_and_names_in_the_report():
    a, b = T(source="ref/", x=[1.0]), T(source="port/", y=[1.0])
    rep = diff_traces(b, a, mapping=Mapping(rename={"y": "x"}))
    assert (rep.a_source, rep.b_source) == ("ref/", "port/")
    s = rep.stage("x")
    assert s.status == MATCH and s.name_b == "y"
    same = diff_traces(T(x=[1.0]), T(x=[1.0])).stage("x")
    assert same.name_b is None                              # named only where B's name differs
    nameless = diff_traces(Trace([StageInfo(0, "x", "float64", (1,))], lambda n: np.ones(1)),
                           Trace([StageInfo(0, "x", "float64", (1,))], lambda n: np.ones(1)))
    assert (nameless.a_source, nameless.b_source) == ("A", "B")


# one-sided stages ---------------------------------------------------------------------------

def test_one_sided_stages_keep_their_side_dtype_and_shape():
    a = T(both=[1.0], only_a=np.zeros((2, 3), np.float32))
    b = T(both=[1.0], only_b=np.zeros(4, np.int16))
    rep = diff_traces(b, a, Policy([Rule(("only_b",), Tolerance(atol=1.0))], Tolerance()))
    oa, ob = rep.stage("only_a"), rep.stage("only_b")
    assert (oa.status, oa.dtype_a, oa.shape_a, oa.dtype_b, oa.shape_b, oa.name_b) == (ONLY_IN_A, "float32", (2, 3), None, None, None)
    assert (ob.status, ob.dtype_b, ob.shape_b, ob.dtype_a, ob.shape_a, ob.name_b) == (ONLY_IN_B, "int16", (4,), None, None, "only_b")
    assert (oa.rule, oa.tolerance) == ("default", "equal") and (ob.rule, ob.tolerance) == ("only_b", "abs≤1")
    assert rep.ok and rep.first_divergence is None


def test_one_sided_stage_under_an_ignore_rule_is_ignored():
    pol = Policy([Rule(("extra*",), Tolerance(ignore=True))], Tolerance())
    rep = diff_traces(T(x=[1.0], extra_b=[0.0]), T(x=[1.0], extra_a=[0.0]), pol)
    assert rep.stage("extra_a").status == IGNORED and rep.stage("extra_b").status == IGNORED


@pytest.mark.parametrize("side", ["A", "B"])
def test_a_corrupt_one_sided_stage_is_bad_input(side):
    """An array nothing is compared with is still read and checked against the index."""
    good = T(x=[1.0])
    lying = Trace([StageInfo(0, "x", "float64", (1,)), StageInfo(1, "lonely", "float64", (3,))],
                  lambda n: np.ones(1) if n == "x" else np.ones(2), source="lying")
    with pytest.raises(TraceError, match="lonely"):
        diff_traces(*((good, lying) if side == "A" else (lying, good)))


# printed decimals ---------------------------------------------------------------------------

@pytest.mark.parametrize("side", ["A", "B"])
def test_stages_a_text_source_printed_are_compared_to_half_a_digit(side):
    """meta["printed_decimals"] names the digits each element was printed with, on either side."""
    meta = {"printed_decimals": {"x": [2, 2]}}
    a = T(meta=meta if side == "A" else None, x=[1.0, 2.0])
    b = T(meta=meta if side == "B" else None, x=[1.004, 2.0])
    r = diff_traces(b, a, Policy([], Tolerance())).stage("x")
    assert r.status == MATCH and r.tolerance.startswith("printed to 2 decimal") and r.rule == "default"
    over = diff_traces(T(meta=b.meta, x=[1.006, 2.0]), a, Policy([], Tolerance())).stage("x")
    assert over.status == DIVERGED


def test_printed_decimals_give_way_to_ignore_and_to_a_size_that_does_not_fit():
    meta = {"printed_decimals": {"x": [2, 2]}}
    ign = diff_traces(T(x=[1.5, 2.0]), T(meta=meta, x=[1.0, 2.0]), Policy([], Tolerance(ignore=True))).stage("x")
    assert ign.status == IGNORED
    other = diff_traces(T(x=[1.004, 2.0, 3.0]), T(meta=meta, x=[1.0, 2.0, 3.0]), Policy([], Tolerance())).stage("x")
    assert other.status == DIVERGED and other.tolerance == "equal"    # 3 elements, 2 digit counts: the policy


# diagnosis ------------------------------------------------------------------------------------

def _flip(n=6):
    return np.arange(1.0, n + 1), -np.arange(1.0, n + 1)


def test_only_the_first_failing_stage_is_diagnosed_unless_asked():
    x, minus_x = _flip()
    a, b = T(s1=x, s2=x, s3=x), T(s1=x, s2=minus_x, s3=minus_x)
    pol = Policy([], Tolerance())
    rep = diff_traces(b, a, pol)
    assert rep.first_divergence == "s2"
    assert [h.id for h in rep.stage("s2").diagnosis] and "sign" in [h.id for h in rep.stage("s2").diagnosis]
    assert rep.stage("s3").diagnosis == [] and rep.stage("s1").diagnosis == []
    every = diff_traces(b, a, pol, diagnose_all=True)
    assert "sign" in [h.id for h in every.stage("s3").diagnosis]


def test_diagnosis_sees_the_earlier_reference_stages():
    """A stale input: B's stage equals an earlier stage of A (only A's earlier stages are offered)."""
    first, second = np.array([1.0, 5.0, 2.0]), np.array([7.0, 3.0, 9.0])
    rep = diff_traces(T(p=first, q=first), T(p=first, q=second), Policy([], Tolerance()))
    ids = {h.id: h for h in rep.stage("q").diagnosis}
    assert "stale-values" in ids and "'p'" in ids["stale-values"].title
    later = diff_traces(T(q=first, p=first), T(q=second, p=first), Policy([], Tolerance()))
    assert "stale-values" not in [h.id for h in later.stage("q").diagnosis]   # p comes after q in A


def test_expected_divergences_diagnose_only_the_first_and_never_fail():
    x, minus_x = _flip()
    pol = Policy([Rule(("fix/*",), Tolerance(expected="the fix"))], Tolerance())
    rep = diff_traces(T(fix__a=minus_x, fix__b=minus_x), T(fix__a=x, fix__b=x), pol)
    fa, fb = rep.stage("fix/a"), rep.stage("fix/b")
    assert fa.status == EXPECTED and fb.status == EXPECTED and rep.ok and rep.first_divergence is None
    assert "sign" in [h.id for h in fa.diagnosis] and fb.diagnosis == []
    assert [s.name for s in rep.expected] == ["fix/a", "fix/b"]
    assert fa.note == "expected: the fix"


def test_an_expected_divergence_keeps_its_note_after_the_reason():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    pol = Policy([Rule(("fix",), Tolerance(expected="reordered"))], Tolerance())
    r = diff_traces(T(fix=a[::-1]), T(fix=a), pol).stage("fix")
    assert r.status == EXPECTED and r.note == "expected: reordered; differs only in row order"


def test_a_real_divergence_after_an_expected_one_is_still_diagnosed():
    x, minus_x = _flip()
    pol = Policy([Rule(("fix",), Tolerance(expected="the fix"))], Tolerance())
    rep = diff_traces(T(fix=minus_x, real=minus_x), T(fix=x, real=x), pol)
    assert rep.stage("fix").status == EXPECTED and rep.first_divergence == "real" and not rep.ok
    assert "sign" in [h.id for h in rep.stage("real").diagnosis]


def test_an_expected_stage_that_matches_is_a_match():
    pol = Policy([Rule(("fix",), Tolerance(atol=0.5, expected="the fix"))], Tolerance())
    rep = diff_traces(T(fix=[1.25]), T(fix=[1.0]), pol)
    assert rep.stage("fix").status == MATCH and rep.stage("fix").note == "" and rep.expected == []


def test_expected_does_not_excuse_a_one_sided_stage_or_mark_it():
    pol = Policy([Rule(("**",), Tolerance(expected="drift"))], Tolerance())
    rep = diff_traces(T(x=[1.0]), T(x=[1.0], gone=[1.0]), pol)
    assert rep.stage("gone").status == ONLY_IN_A and rep.stage("gone").note == ""


# progress and order ---------------------------------------------------------------------------

def test_progress_counts_every_stage_compared():
    calls = []
    diff_traces(T(a=[1.0], c=[3.0], d=[0.0]), T(a=[1.0], b=[2.0], c=[3.0]), progress=lambda i, n: calls.append((i, n)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    calls.clear()
    diff_traces(T(a=[1.0], b=[2.0]), T(a=[1.0], b=[2.0]), stages=["b"], progress=lambda i, n: calls.append((i, n)))
    assert calls == [(1, 1)]


def test_stages_are_reported_in_the_reference_order():
    rep = diff_traces(T(c=[3.0], b=[2.0], a=[1.0]), T(a=[1.0], b=[2.0], c=[3.0]))
    assert [s.name for s in rep.stages] == ["a", "b", "c"] and rep.ok


# the stage filter -------------------------------------------------------------------------------

def test_the_filter_keeps_matching_stages_and_lists_globs_that_match_nothing():
    a = T(m__x=[1.0], m__y=[1.0], n__z=[1.0])
    b = T(m__x=[1.0], m__y=[2.0], n__z=[1.0])
    rep = diff_traces(b, a, stages=["m/x", "n/*", "q/*"])
    assert [s.name for s in rep.stages] == ["m/x", "n/z"] and rep.ok
    assert rep.unmatched_stage_globs == ["q/*"]
    assert diff_traces(b, a, stages=["m/*"]).first_divergence == "m/y"
    assert diff_traces(b, a, stages=("m/*", "m/x")).unmatched_stage_globs == []   # one stage, two globs: both used
    assert diff_traces(b, a).unmatched_stage_globs == []


def test_a_filter_that_matches_nothing_is_a_usage_error_naming_both_traces():
    a, b = T(source="ref", x=[1.0], y=[1.0]), T(source="port", x=[1.0])
    with pytest.raises(UsageError) as err:
        diff_traces(b, a, stages=["nope/*", "zz"])
    assert str(err.value) == "stage filter 'nope/*', 'zz' matches no stage of ref (2 stages) or port (1 stages)"
    with pytest.raises(UsageError) as err:
        diff_traces(Trace(b.stages, b._loader), Trace(a.stages, a._loader), stages=["nope"])
    assert str(err.value) == "stage filter 'nope' matches no stage of A (2 stages) or B (1 stages)"


def test_a_filter_over_two_empty_traces_says_they_are_empty():
    rep = diff_traces(T(), T(), stages=["x"])
    assert not rep.ok and rep.nothing_compared == "both traces are empty"


# nothing compared ---------------------------------------------------------------------------------

NOTHING = [
    ("both empty", T(), T(), {}, "both traces are empty"),
    ("empty reference", T(), T(x=[1.0]), {}, "the reference (A) has no stage"),
    ("empty candidate", T(x=[1.0]), T(), {},
     "the candidate (B) recorded no stage (the run never reached a recorded stage or capture)"),
    ("mapping ignores all", T(x=[1.0]), T(x=[1.0]), {"mapping": Mapping(ignore=["**"])}, "the mapping ignores every stage"),
    ("no common stage", T(x=[1.0], y=[1.0]), T(z=[1.0]), {},
     "A and B have no stage in common (2 only in A, 1 only in B; a misspelt name, another prefix, or a mapping "
     "that renames B's stages is needed)"),
    ("policy ignores all", T(x=[1.0], y=[1.0]), T(x=[1.0], y=[1.0], z=[1.0]), {"policy": Policy([], Tolerance(ignore=True))},
     "every stage A and B share (2) is ignored by the policy"),
    ("filter: only B", T(x=[1.0]), T(p__x=[1.0]), {"stages": ["p/*"]}, "no stage of the reference (A) matches p/* (1 stage(s) of B do)"),
    ("filter: only A", T(p__x=[1.0], p__y=[1.0]), T(x=[1.0]), {"stages": ["p/*"]},
     "no stage of the candidate (B) matches p/* (2 stage(s) of A do)"),
    ("filter: no common", T(p__x=[1.0], x=[1.0]), T(p__y=[1.0], x=[1.0]), {"stages": ["p/*"]},
     "A and B have no stage in common among the stages matching p/* (1 only in A, 1 only in B; a misspelt name, "
     "another prefix, or a mapping that renames B's stages is needed)"),
    ("filter: all ignored", T(p__x=[1.0], x=[1.0]), T(p__x=[1.0], x=[1.0]),
     {"stages": ["p/*"], "policy": Policy([Rule(("p/*",), Tolerance(ignore=True))], Tolerance())},
     "every stage A and B share among the stages matching p/* (1) is ignored by the policy"),
    ("five globs", T(p__x=[1.0], x=[1.0]), T(p__y=[1.0], x=[1.0]), {"stages": ["p/*", "a", "b", "c", "d"]},
     "A and B have no stage in common among the stages matching p/*, a, b, c, ... (1 only in A, 1 only in B; "
     "a misspelt name, another prefix, or a mapping that renames B's stages is needed)"),
    ("four globs", T(p__x=[1.0], x=[1.0]), T(p__y=[1.0], x=[1.0]), {"stages": ["p/*", "a", "b", "c"]},
     "A and B have no stage in common among the stages matching p/*, a, b, c (1 only in A, 1 only in B; "
     "a misspelt name, another prefix, or a mapping that renames B's stages is needed)"),
]


@pytest.mark.parametrize("a,b,kw,why", [c[1:] for c in NOTHING], ids=[c[0] for c in NOTHING])
def test_why_nothing_was_compared(a, b, kw, why):
    rep = diff_traces(b, a, **kw)
    assert rep.nothing_compared == why and not rep.ok and rep.n_compared == 0


@pytest.mark.parametrize("stages", [None, ["x", "q"]])
def test_one_compared_stage_is_something(stages):
    """One stage compared among one-sided and ignored ones: not a comparison of nothing."""
    pol = Policy([Rule(("ign",), Tolerance(ignore=True))], Tolerance())
    rep = diff_traces(T(x=[1.0], ign=[1.0], b_only=[1.0]), T(x=[1.0], ign=[1.0], a_only=[1.0]), pol, stages=stages)
    assert rep.nothing_compared == "" and rep.ok and rep.n_compared == 1
    diverged = diff_traces(T(x=[2.0]), T(x=[1.0]), pol)
    assert diverged.nothing_compared == "" and not diverged.ok


def test_the_diagnosis_sees_the_stage_by_its_name_in_a():
    a = Trace.from_arrays({"s/x": np.array([1.0, 2.0, 3.0]), "s/y": np.array([4.0, 5.0, 6.0])})
    b = Trace.from_arrays({"s/x": np.array([1.0, 2.0, 3.0]), "s/y": np.array([1.0, 2.0, 3.0])})
    r = diff_traces(b, a).stages[1]
    stale = [h for h in r.diagnosis if h.id == "stale-values"]
    assert stale and stale[0].detail == ("B's 's/y' equals the reference's earlier stage 's/x' "
                                         "(a stale or wrong input, or a missing update step)")


def test_the_diagnosis_sees_the_candidate_trace():
    """The candidate recorded the score it thresholds (d/margin); the reference did not."""
    a = Trace.from_arrays({"d/output": np.array([0.0, 1.0])})
    b = Trace.from_arrays({"d/output": np.array([1.0, 1.0]), "d/margin": np.array([0.25, 0.5])})
    r = diff_traces(b, a).stages[0]
    flip = [h for h in r.diagnosis if h.id == "decision-flip"]
    assert flip and flip[0].title == "decision flipped: [0]"
    assert flip[0].detail == ("[0] (0 in A, 1 in B; margin B +0.25); "
                              "the scores differ, not only their last bits: look at the stages that feed them")


def test_the_report_gives_the_candidates_origin():
    a = Trace.from_arrays({"s": np.zeros(2)}, source="A-dir")
    b = Trace.from_arrays({"s": np.zeros(2)}, meta={"producer": {"name": "port", "version": "1.0"}}, source="B-dir")
    rep = diff_traces(b, a)
    assert (rep.b_origin["path"], rep.b_origin["producer"]) == ("B-dir", "port 1.0")
    assert (rep.a_origin["path"], rep.a_origin["producer"]) == ("A-dir", None)


@pytest.mark.parametrize("wrong", [{"x": np.ones(2)}, "some/path", None])
def test_arguments_that_are_not_traces_are_refused_by_name(wrong):
    """(actual, expected): a dict, a path or None is a TypeError naming the argument and what is accepted."""
    trace = T(x=[1.0, 2.0])
    with pytest.raises(TypeError, match=r"diff_traces: actual must be a Trace .*read_trace"):
        diff_traces(wrong, trace)
    with pytest.raises(TypeError, match=r"diff_traces: expected must be a Trace"):
        diff_traces(trace, wrong)


def test_actual_comes_first():
    """The report's A is the expected side (the reference), B the actual one, as `pyparity diff A B`."""
    report = diff_traces(T(only_actual=[1.0]), T(only_expected=[1.0]))
    assert {s.name: s.status for s in report.stages} == {"only_expected": ONLY_IN_A, "only_actual": ONLY_IN_B}
