"""The upstream defects are reproduced by default and each named fix changes exactly its stage."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof import quirks
from pyparity.pipelines.pof.checkpoint import load_checkpoint, save_npz, synthetic_model
from pyparity.pipelines.pof.features import normalize_pose_2d
from pyparity.pipelines.pof.reconstruct import Options, apply_aspect, reconstruct_3d, solve_least_squares
from pyparity.pipelines.pof.solver import bone_lengths_from_height, solve_depths
from pyparity.trace import Recorder, read_trace


@pytest.fixture(scope="module")
def arms(shared_dir):
    return read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "solver-gt" / "arms")


@pytest.fixture(scope="module")
def temporal():
    return synthetic_model("semgcn-temporal")


def test_fallback_places_child_farther_and_signed_fixes_it(arms):
    f = 2
    pof = arms[f"frame{f:04d}/gt/pof"][None]
    kp = arms[f"frame{f:04d}/ortho_iso/keypoints_2d"][None]
    rep = quirks.fallback_report(pof, kp)
    step = C.SOLVE_ORDER.index(1)  # left forearm, pointing almost at the camera in the reference
    assert rep["fired"][0, step] and rep["wrong_side"][0, step]
    assert rep["fired"].sum() == 1
    bl = bone_lengths_from_height(1.78)
    n, _, _ = normalize_pose_2d(kp, torch_names=True)
    bln = bl / np.float32(1.78 / 3.4)
    up, _, _ = solve_depths(pof, n, bln)
    fx, _, _ = solve_depths(pof, n, bln, fallback="signed")
    expected = arms[f"frame{f:04d}/ortho_iso/expected_norm"]
    # upstream: child 9 (left wrist) farther than its parent although the POF points at the camera
    assert up[0, 9, 2] > up[0, 7, 2] and pof[0, 1, 2] < 0
    assert fx[0, 9, 2] < fx[0, 7, 2]
    assert abs(fx[0, 9, 2] - expected[9, 2]) < 0.1 < abs(up[0, 9, 2] - expected[9, 2])
    # the fix diverges first at the fallback stage of that limb
    r_up, r_fx = Recorder(), Recorder()
    solve_least_squares(pof, kp, bl, 1.78, r_up)
    solve_least_squares(pof, kp, bl, 1.78, r_fx, Options(fallback="signed"))
    a, b = r_up.finish(), r_fx.finish()
    diverged = [nm for nm in a.names if not np.array_equal(a[nm], b[nm])]
    assert diverged[0].endswith("/fallback_scale")  # the fixed stage (also where unused: valid limbs)
    used = [nm for nm in diverged if not nm.endswith("/fallback_scale")]
    assert used[0] == "frame0000/ls/solve/s05_limb01/scale_unclamped"


def test_zsign_depends_on_clip_length(shared_dir, temporal):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "semgcn-temporal" / "walk")
    kp, vis = ref["clip/pose_2d"], ref["clip/visibility"]
    flips = [f for f in range(8) if ref[f"frame{f:04d}/zsign/needs_flip"].any()]
    f = flips[0]
    one = reconstruct_3d(temporal, kp[f:f + 1], vis[f:f + 1])
    clip = reconstruct_3d(temporal, kp, vis)
    assert one.quirks["zsign_applied"] and not clip.quirks["zsign_applied"]
    assert quirks.zsign_applied("semgcn-temporal", 1) and not quirks.zsign_applied("semgcn-temporal", 8)
    if f == 0:  # same prev_pof (zeros): the only difference is the correction
        np.testing.assert_allclose(one.pof[0], ref["frame0000/zsign/pof_corrected_diag"], rtol=0, atol=1e-5)
    assert np.sign(one.pof[0, :, 2]).tolist() != np.sign(one.pof_raw[0, :, 2]).tolist()
    # zsign="never" on one frame = the clip's raw POF at frame 0; "always" on the clip = the diag stage
    never = reconstruct_3d(temporal, kp[:1], vis[:1], opts=Options(zsign="never"))
    np.testing.assert_allclose(never.pof[0], ref["frame0000/model/out/pof"], rtol=0, atol=1e-5)
    always = reconstruct_3d(temporal, kp, vis, opts=Options(zsign="always"))
    np.testing.assert_allclose(always.pof, np.stack([ref[f"frame{i:04d}/zsign/pof_corrected_diag"] for i in range(8)]),
                               rtol=0, atol=1e-5)  # measured 6.2e-6
    np.testing.assert_allclose(always.pof_raw, clip.pof_raw, atol=0)


def test_anisotropic_input_and_isotropic_fix(arms):
    kp = arms["frame0000/pipeline/keypoints_2d"][None]
    iso = apply_aspect(kp, Options(aspect="isotropic"))
    np.testing.assert_allclose(iso[0], arms["frame0000/persp_iso/keypoints_2d"], rtol=0, atol=1e-6)
    assert quirks.aspect_distortion((1920, 1080)) == pytest.approx(16 / 9)


def test_metric_torso_disagrees_with_bone_table(shared_dir):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "gcn" / "walk")
    t = quirks.torso_mismatch(1.78)
    assert t["metric_torso_m"] == ref["frame0000/metric/metric_torso_scale"]
    assert t["bone_table_torso_m"] == pytest.approx(float(ref["frame0000/metric/bone_lengths_m"][10]), rel=1e-6)
    assert t["ratio"] == pytest.approx(1 / (3.4 * 0.288))
    m = synthetic_model("gcn")
    r_up, r_fx = Recorder(), Recorder()
    reconstruct_3d(m, ref["clip/pose_2d"], ref["clip/visibility"], 1.78, r_up, record_inputs=False)
    reconstruct_3d(m, ref["clip/pose_2d"], ref["clip/visibility"], 1.78, r_fx, Options(torso="bone_table"), record_inputs=False)
    a, b = r_up.finish(), r_fx.finish()
    first = next(nm for nm in a.names if not np.array_equal(a[nm], b[nm]))
    assert first == "frame0000/metric/metric_torso_scale"


def test_solver_exact_only_under_orthographic(shared_dir):
    ref = read_trace(shared_dir / "reference_dumps" / "pof-upstream" / "solver-gt" / "walk")
    errs = {}
    for v in ("ortho_iso", "persp_iso", "pipeline"):
        e = 0.0
        for f in range(8):
            pof = ref[f"frame{f:04d}/gt/pof"][None]
            n, _, _ = normalize_pose_2d(ref[f"frame{f:04d}/{v}/keypoints_2d"][None], torch_names=True)
            p, _, _ = solve_depths(pof, n, None)
            e = max(e, float(np.abs(p[0, 5:] - ref[f"frame{f:04d}/{v}/expected_norm"][5:]).max()))
        errs[v] = e
    assert errs["ortho_iso"] < 2e-6 < 0.05 < errs["persp_iso"] < errs["pipeline"]


def _rot(a, b, c):
    ca, sa, cb, sb, cc, sc = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(c), np.sin(c)
    rx = np.array([[1, 0, 0], [0, ca, -sa], [0, sa, ca]])
    ry = np.array([[cb, 0, sb], [0, 1, 0], [-sb, 0, cb]])
    rz = np.array([[cc, -sc, 0], [sc, cc, 0], [0, 0, 1]])
    return rx @ ry @ rz


_BASE = np.array([[0, 1.65, .1], [.03, 1.68, .08], [-.03, 1.68, .08], [.08, 1.66, 0], [-.08, 1.66, 0],
                  [.19, 1.45, 0], [-.19, 1.45, 0], [.22, 1.15, 0], [-.22, 1.15, 0], [.24, .9, 0], [-.24, .9, 0],
                  [.095, .93, 0], [-.095, .93, 0], [.1, .5, 0], [-.1, .5, 0], [.1, .08, 0], [-.1, .08, 0]])
_EPS32 = float(np.finfo(np.float32).eps)


def _recovery_error(X, project=lambda X: X[:, :2]):
    """Solver (no bone lengths, upstream's default clamp) on the exact POF of skeleton X (17,3) and its
    2D ``project(X)``: max error of body joints 5-16 / max(1, |pose|) in torso units, or None where
    the premise fails (a limb within 1e-3 of the validity threshold, a degenerate torso, or a limb
    longer than the solver's 1.5-torso clamp)."""
    pof = np.zeros((14, 3))
    for i, (p, c) in enumerate(C.LIMBS):
        v = X[c] - X[p]
        pof[i] = v / np.linalg.norm(v)
    if np.min(1 - pof[:, 2] ** 2) <= C.VALID_SOLVE_THRESHOLD + 1e-3:
        return None  # a limb too close to the optical axis: the fallback branch is not exact by design
    kp = np.asarray(project(X), np.float32)[None]
    n, _, torso = normalize_pose_2d(kp, torch_names=True)
    if torso[0] < 0.2:
        return None
    T = float(torso[0])
    if max(np.linalg.norm(X[C.LIMBS[i][1]] - X[C.LIMBS[i][0]]) / T for i in C.SOLVE_ORDER) >= 1.5:
        return None
    p, _, _ = solve_depths(pof.astype(np.float32)[None], n, None)
    exp = np.zeros((17, 3))
    pel = (X[11, :2] + X[12, :2]) / 2
    exp[:, :2] = (X[:, :2] - pel) / T
    exp[:, 2] = (X[:, 2] - X[11, 2]) / T
    return float(np.abs(p[0, 5:] - exp[5:]).max()) / max(1.0, float(np.abs(exp).max()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.6, 0.6), min_size=17 * 3, max_size=17 * 3), st.floats(-0.5, 0.5), st.floats(-np.pi, np.pi),
       st.floats(0.5, 3.0))
def test_property_orthographic_recovery(noise, pitch, yaw, scale):
    """Independently of upstream: random skeleton, orthographic projection, every |orient_xy|^2 above
    the threshold -> body joints 5-16 recovered up to float32 rounding (torso units). Measured over
    15 399 random skeletons: <= 4.9e-7 = 4.1 eps32; the bound is 32 eps32 (a chain of <= 4 limbs,
    each dividing by |orient_xy|^2 >= 0.051)."""
    X = (_BASE + 0.25 * np.array(noise).reshape(17, 3)) @ _rot(pitch, yaw, 0).T * scale
    err = _recovery_error(X)
    if err is not None:
        assert err <= 32 * _EPS32, err


def test_recovery_check_fails_off_its_premise():
    """The property's check can fail: the same skeletons seen in perspective (camera 2.5 m away) are
    not recovered (errors of several percent of the torso), so the orthographic bound is not vacuous."""
    errs = []
    for yaw in np.linspace(-np.pi, np.pi, 9):
        X = _BASE @ _rot(0.1, yaw, 0).T
        Xc = X + np.array([0.0, -0.9, 2.5])
        err = _recovery_error(X, lambda _X: 2.5 * Xc[:, :2] / Xc[:, 2:3])  # pinhole, f = 2.5 (scale 1 at the pelvis)
        if err is not None:
            errs.append(err)
    assert errs and min(errs) > 1e3 * 32 * _EPS32


def test_bad_inputs(temporal):
    kp = np.random.default_rng(0).uniform(0.3, 0.7, (2, 17, 2)).astype(np.float32)
    vis = np.ones((2, 17), np.float32)
    with pytest.raises(InputError, match="shape"):
        reconstruct_3d(temporal, kp[:, :16], vis)
    bad = kp.copy(); bad[1, 4, 0] = np.nan
    with pytest.raises(InputError, match="frame 1, joint 4"):
        reconstruct_3d(temporal, bad, vis)
    with pytest.raises(InputError, match="visibility"):
        reconstruct_3d(temporal, kp, np.zeros((2, 17), np.float32))
    with pytest.raises(InputError, match="torso"):
        reconstruct_3d(temporal, np.full((2, 17, 2), 0.5, np.float32), vis)
    with pytest.raises(InputError, match="height"):
        reconstruct_3d(temporal, kp, vis, height_m=0.0)


def test_checkpoint_roundtrip_and_errors(tmp_path):
    m = synthetic_model("gcn")
    p = save_npz(m, tmp_path / "gcn.npz")
    m2 = load_checkpoint(p)
    assert m2.variant == "gcn" and all(np.array_equal(m.params[k], m2.params[k]) for k in m.params)
    bad = dict(m.params); bad["combine.weight"] = bad["combine.weight"][:, :10]
    np.savez(tmp_path / "bad.npz", __config__=np.array('{"model_type": "gcn"}'), **bad)
    with pytest.raises(ModelError, match="combine.weight"):
        load_checkpoint(tmp_path / "bad.npz")
    np.savez(tmp_path / "unk.npz", __config__=np.array('{"model_type": "gat-3000"}'), **m.params)
    with pytest.raises(ModelError, match="unknown POF model_type"):
        load_checkpoint(tmp_path / "unk.npz")
    (tmp_path / "x.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="x.pth"):
        load_checkpoint(tmp_path / "x.pth")
