"""Policy.with_expected: stages expected to diverge, each still under its own rule's tolerance."""

from __future__ import annotations

from pyparity.diff.policy import parse_policy

BASE = parse_policy({
    "default": {"atol": 1e-5},
    "rule": [{"stages": ["**/decision"], "exact": True},
             {"stages": ["**/layer"], "atol": 0.0, "rtol_max": 1e-4},
             {"stages": ["**/fixed"], "expected": "a named fix"}],
}, "test")


def test_overlay_keeps_each_stage_tolerance_and_leaves_exact_and_own_reasons():
    pol = BASE.with_expected(["late/**"], "drift", "drift")
    assert pol.source == "test + drift"
    layer = pol.tolerance_for("late/layer")
    assert layer.expected == "drift" and layer.rtol_max == 1e-4 and layer.atol == 0.0
    other = pol.tolerance_for("late/value")
    assert other.expected == "drift" and other.atol == 1e-5
    assert pol.tolerance_for("late/decision") == BASE.tolerance_for("late/decision")   # exact: never expected
    assert pol.tolerance_for("late/fixed").expected == "a named fix"                   # a rule's own reason wins
    assert pol.tolerance_for("early/layer") == BASE.tolerance_for("early/layer")       # outside the globs


def test_overlays_survive_merging():
    merged = parse_policy({"rule": [{"stages": ["x"], "atol": 1.0}]}, "top").merged_over(
        BASE.with_expected(["late/**"], "drift"))
    assert merged.tolerance_for("late/value").expected == "drift"
