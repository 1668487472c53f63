"""POF parity over every shared pof-upstream dump: every stage, in order, with upstream's dtypes.

Model dumps: the committed policy pyparity/policies/pof.toml (discrete stages exact, 3D joints and
solver values and limb unit vectors <= 1e-5 absolute, layers <= 1e-5 x the stage's max |value|).
Solver-gt dumps (no network): <= 1e-6 absolute.
"""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff import diff_traces
from pyparity.diff.policy import builtin_policy
from pyparity.pipelines.pof.checkpoint import synthetic_model
from pyparity.pipelines.pof.features import normalize_pose_2d
from pyparity.pipelines.pof.reconstruct import reconstruct_3d, solve_least_squares
from pyparity.pipelines.pof.solver import bone_lengths_from_height, solve_depths
from pyparity.trace import Recorder, read_trace

MODEL_DUMPS = [("semgcn-temporal", "walk"), ("semgcn-temporal", "arms"), ("semgcn-temporal", "occluded"),
               ("semgcn", "walk"), ("gcn", "walk"), ("transformer", "walk")]
_MODELS: dict = {}


def _model(v):
    if v not in _MODELS:
        _MODELS[v] = synthetic_model(v)
    return _MODELS[v]


def _compare(ref, ours, atol=1e-5):
    """-> (worst abs on non-model stages, worst relative-to-stage-max on model stages)."""
    worst_abs, worst_rel = 0.0, 0.0
    for n in ours.names:
        a, b = np.asarray(ref[n]), np.asarray(ours[n])
        assert a.dtype == b.dtype and a.shape == b.shape, n
        if a.dtype.kind in "iub":
            assert np.array_equal(a, b), f"discrete stage differs: {n}"
            continue
        d = float(np.max(np.abs(a.astype(np.float64) - b))) if a.size else 0.0
        if "/model/" in n and "/model/out/" not in n and "pof_head/out" not in n:
            rel = d / max(float(np.max(np.abs(a))), 1e-12)
            assert rel <= 1e-5, f"{n}: |diff| {d:.3g} = {rel:.3g} x stage max"
            worst_rel = max(worst_rel, rel)
        else:
            # the unclamped least-squares scale divides by |orient_xy|^2 (as pof.toml): relative part
            rel_part = n.endswith("/scale_lstsq") or n.endswith("/scale_unclamped")
            lim = atol + (1e-5 * float(np.max(np.abs(a))) if rel_part else 0.0)
            assert d <= lim, f"{n}: |diff| {d:.3g} > {lim:.3g}"
            worst_abs = max(worst_abs, d)
    return worst_abs, worst_rel


@pytest.mark.parametrize("variant,clip", MODEL_DUMPS)
def test_reconstruct_3d_matches_upstream(shared_dir, variant, clip):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / variant / clip)
    rec = Recorder()
    res = reconstruct_3d(_model(variant), ref["clip/pose_2d"], ref["clip/visibility"], float(ref["clip/height_m"]), rec)
    ours = rec.finish()
    assert list(ours.names) == [n for n in ref.names if not n.startswith("clip/")]
    for n in ours.names:
        a, b = ref.info(n), ours.info(n)
        assert (a.dtype, a.shape) == (b.dtype, b.shape), n
    rep = diff_traces(ours, ref, builtin_policy("pof"), stages=["const/**", "frame*/**"])
    assert rep.ok and rep.n_aligned == len(ours.names), rep.summary()
    assert not rep.expected
    np.testing.assert_allclose(res.pose_3d_m, np.stack([ref[f"frame{f:04d}/output/reconstruct_3d"] for f in range(8)]),
                               rtol=0, atol=1e-5)
    _check_decisions(ref, res, ours)


def _check_decisions(ref, res, ours):
    """Discrete decisions exact, including the two clamps (recorded only as values in the dumps), and
    every decision's margin in the reference larger than our deviation on the decided quantity (so a
    near-tie would show up here, not as a silent flip)."""
    from pyparity.pipelines.pof import constants as C

    for f in range(res.pose_3d_m.shape[0]):
        for step, limb in enumerate(C.SOLVE_ORDER):
            p = f"frame{f:04d}/ls/solve/s{step:02d}_limb{limb:02d}/"
            ref_clamped = bool(ref[p + "scale"] != ref[p + "scale_unclamped"])
            assert res.quirks["scale_clamped"][f, step] == ref_clamped, p + "scale clamp"
            assert res.quirks["valid_solve"][f, step] == bool(ref[p + "valid_solve"]), p + "valid_solve"
            dev = abs(float(ours[p + "orient_xy_norm_sq"]) - float(ref[p + "orient_xy_norm_sq"]))
            assert abs(float(ref[p + "orient_xy_norm_sq"]) - C.VALID_SOLVE_THRESHOLD) > 10 * dev, p + "threshold near-tie"
            unc, mx = abs(float(ref[p + "scale_unclamped"])), float(ref[p + "max_scale"])
            dev = abs(abs(float(ours[p + "scale_unclamped"])) - unc)
            assert abs(unc - mx) > 10 * dev, p + "clamp near-tie"
        for step, limb in enumerate(C.ENFORCE_ORDER):
            p = f"frame{f:04d}/ls/enforce/s{step:02d}_limb{limb:02d}/"
            assert res.quirks["enforce_clamped"][f, step] == bool(ref[p + "dz_sq_required"] == 0), p + "enforce clamp"
            assert ref[p + "dz_sign"] == ours[p + "dz_sign"], p + "dz sign"
        if f"frame{f:04d}/zsign/needs_flip" in ref:
            lg, dev = ref[f"frame{f:04d}/model/out/z_sign_logits"], np.abs(ours[f"frame{f:04d}/model/out/z_sign_logits"] - ref[f"frame{f:04d}/model/out/z_sign_logits"])
            assert np.all(np.abs(lg) > 10 * dev), f"frame{f:04d} z-sign logit near-tie"


@pytest.mark.parametrize("clip", ["walk", "arms", "occluded"])
def test_solver_on_ground_truth_pof(shared_dir, clip):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "solver-gt" / clip)
    bl = bone_lengths_from_height(1.78)
    rec = Recorder()
    for f in range(8):
        pof = ref[f"frame{f:04d}/gt/pof"][None]
        for v in ("pipeline", "persp_iso", "ortho_iso"):
            kp = ref[f"frame{f:04d}/{v}/keypoints_2d"][None]
            solve_least_squares(pof, kp, bl, 1.78, rec, frames=[f], inner=f"{v}/")
            n, _, _ = normalize_pose_2d(kp, torch_names=True)
            pn, _, _ = solve_depths(pof, n, None)  # bone_lengths=None, denormalize=False
            np.testing.assert_allclose(pn[0], ref[f"frame{f:04d}/{v}/recovered_norm"], rtol=0, atol=1e-6)
    ours = rec.finish()
    assert len(ours.names) > 9000
    _compare(ref, ours, atol=1e-6)


def test_temporal_model_per_frame_with_reference_prev_pof(shared_dir):
    """Stage isolation: each frame fed the reference's own prev_pof, so no feedback accumulation."""
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "occluded")
    m = _model("semgcn-temporal")
    for f in range(8):
        g = lambda s: ref[f"frame{f:04d}/model/in/{s}"][None]
        pof, logits = m.forward(g("pose_2d"), g("visibility"), g("limb_delta_2d"), g("limb_length_2d"), g("prev_pof"))
        np.testing.assert_allclose(pof[0], ref[f"frame{f:04d}/model/out/pof"], rtol=0, atol=1e-5)
        np.testing.assert_allclose(logits[0], ref[f"frame{f:04d}/model/out/z_sign_logits"], rtol=0, atol=1e-5)

