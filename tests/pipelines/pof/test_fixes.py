"""Each named fix, diffed against the upstream dump: fails under pof.toml, passes under its
pof-fix-<name>.toml, and the first expected divergence is the stage the fix changes."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.policy import builtin_policy
from pyparity.pipelines.pof.checkpoint import synthetic_model
from pyparity.pipelines.pof.reconstruct import Options, reconstruct_3d, solve_least_squares
from pyparity.pipelines.pof.solver import bone_lengths_from_height
from pyparity.trace import Recorder, read_trace

FIXES = {"signed": "fallback", "zsign": "zsign", "isotropic": "aspect", "bone_table": "torso"}


def _diff(ref, ours, policy):
    sel = [p + "/**" for p in sorted({n.split("/")[0] for n in ours.names})]
    return diff_traces(ours, ref, builtin_policy(policy), stages=sel)


def _check(ref, ours, fix, first_stage):
    base = _diff(ref, ours, "pof")
    assert not base.ok and base.first_divergence == first_stage, base.summary()
    fixed = _diff(ref, ours, f"pof-fix-{fix}")
    assert fixed.ok, fixed.summary()
    assert fixed.expected and fixed.expected[0].name == first_stage
    return fixed


@pytest.mark.parametrize("fix", sorted(FIXES))
def test_fix_policy_is_base_policy_plus_expected_rules(fix):
    base, fx = builtin_policy("pof"), builtin_policy(f"pof-fix-{fix}")
    n = len(fx.rules) - len(base.rules)
    assert n > 0 and all(r.tolerance.expected for r in fx.rules[:n])
    assert fx.rules[n:] == base.rules and fx.default == base.default


def test_fallback_signed_diverges_at_fallback_scale(shared_dir):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "solver-gt" / "arms")
    f, v = 2, "ortho_iso"
    rec = Recorder()
    solve_least_squares(ref[f"frame{f:04d}/gt/pof"][None], ref[f"frame{f:04d}/{v}/keypoints_2d"][None],
                        bone_lengths_from_height(1.78), 1.78, rec, Options(fallback="signed"), frames=[f], inner=f"{v}/")
    ours = rec.finish()
    first = next(n for n in ours.names if n.endswith("/fallback_scale") and not np.array_equal(ref[n], ours[n]))
    rep = _check(ref, ours, "signed", first)
    names = {s.name for s in rep.expected}
    # the fallback fires for the left forearm (step 5, limb 1): its child depth really moves
    assert f"frame0002/{v}/ls/solve/s05_limb01/child_depth" in names
    assert f"frame0002/{v}/output/pose_3d_m" in names


def test_zsign_always_diverges_at_metric_pof(shared_dir):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "walk")
    f = next(i for i in range(8) if ref[f"frame{i:04d}/zsign/needs_flip"].any())
    rec = Recorder()
    reconstruct_3d(synthetic_model("semgcn-temporal"), ref["clip/pose_2d"], ref["clip/visibility"], 1.78, rec,
                   Options(zsign="always", record_zsign_path=False))
    rep = _check(ref, rec.finish(), "zsign", f"frame{f:04d}/metric/pof")
    assert all("/model/" not in s.name for s in rep.expected)  # the network itself stays at parity


@pytest.mark.parametrize("fix,opts,first", [
    ("isotropic", Options(aspect="isotropic"), "frame0000/features/normalize/pose_2d_in"),
    ("bone_table", Options(torso="bone_table"), "frame0000/metric/metric_torso_scale"),
])
def test_gcn_fixes_diverge_at_their_stage(shared_dir, fix, opts, first):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk")
    rec = Recorder()
    reconstruct_3d(synthetic_model("gcn"), ref["clip/pose_2d"], ref["clip/visibility"], 1.78, rec, opts)
    rep = _check(ref, rec.finish(), fix, first)
    assert any(s.name.endswith("/output/pose_3d_m") for s in rep.expected)
