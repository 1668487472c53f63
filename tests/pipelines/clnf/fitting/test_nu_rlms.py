"""NU-RLMS, mean-shift and the CLNF::Fit scale loop driven by the reference's own response maps
(stage isolation: `responses_from=<reference trace>`), against the OpenFace 2.0.2 dumps."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.pipelines.clnf.fitting.landmarks import fit_landmarks
from pyparity.pipelines.clnf.fitting.fit import TraceResponses, clnf_fit
from pyparity.pipelines.clnf.fitting.mean_shift import kde_mean_shift
from pyparity.pipelines.clnf.fitting.nu_rlms import nu_rlms
from pyparity.trace import Recorder, read_trace

LANDMARK_ATOL = 0.005   # "0.00 px"
REL = 1e-4              # parameters and intermediate arrays (the committed policy)


def _rel(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a))), 1e-6))


def test_mean_shift_on_reference_offsets(openface_dumps):
    """KDE mean-shift from the reference's own dxs/dys and responses: bit-exact."""
    t = read_trace(openface_dumps / "images" / "sample3.jpg")
    for s in ("s0", "s1", "s2"):
        p = f"face00/clnf/h00/fit/{s}/"
        resp = t[p + "responses"]
        vis = (np.abs(resp).reshape(len(resp), -1).max(axis=1) > 0).astype(np.int32)
        for kind in ("rigid", "nonrigid"):
            q = f"{p}{kind}/it00/"
            ms = kde_mean_shift(resp, t[q + "dxs"], t[q + "dys"], vis, t[p + "sigma"])
            np.testing.assert_array_equal(ms, t[q + "mean_shifts_ref_stacked"].ravel())


@pytest.mark.parametrize("dump", ["sample1.jpg", "001.jpg", "sample3.jpg"])
def test_first_rigid_iteration_level2(pdm, openface_dumps, dump):
    """One rigid iteration: Jacobian, weighted transpose, mean-shifts, JᵀWv and Hessian (the
    OpenBLAS sgemm reproduced) bit-exact; the update to 1e-5."""
    t = read_trace(openface_dumps / "images" / dump)
    p = "face00/clnf/h00/fit/s0/"
    resp = t[p + "responses"]
    vis = (np.abs(resp).reshape(len(resp), -1).max(axis=1) > 0).astype(np.int32)
    g, loc = t["face00/clnf/h00/init/params_global"], t["face00/clnf/h00/init/params_local"]
    rec = Recorder()
    nu_rlms(pdm, resp, g, loc, t[p + "base_shape_stacked"], t[p + "sim_img_to_ref"], t[p + "sim_ref_to_img"],
            11, vis, np.ones(136, np.float32), reg_factor=t[p + "reg_factor"], sigma=t[p + "sigma"], rigid=True,
            n_iterations=1, rec=rec)
    ours = rec.finish()
    for name in ("weight_matrix_diag", "reg_term_diag", "it00/shape_stacked", "it00/jacobian", "it00/jacobian_w_t",
                 "it00/dxs", "it00/dys", "it00/mean_shifts_ref_stacked", "it00/mean_shifts_stacked", "it00/j_w_t_m",
                 "it00/hessian", "it00/params_local"):
        ref = t[p + "rigid/" + name]
        assert ours[name].dtype == ref.dtype and ours[name].shape == ref.shape, name
        np.testing.assert_array_equal(ours[name], ref, err_msg=name)
    for name in ("it00/param_update", "it00/params_global"):
        assert _rel(t[p + "rigid/" + name], ours[name]) <= 1e-5, name


def _faces(openface_dumps):
    out = []
    for d in sorted((openface_dumps / "images").iterdir()):
        t = read_trace(d)
        for f in range(4):
            if f"face{f:02d}/clnf/input/bbox" in t:
                out.append((d.name, t, f"face{f:02d}"))
    return out


@pytest.fixture(scope="module")
def faces(openface_dumps):
    return _faces(openface_dumps)


def test_fit_with_reference_responses_all_dumps(pdm, faces):
    """CLNF::Fit (3 scales, rigid + non-rigid) from the reference's responses: every recorded stage
    present with the same dtype/shape, iteration counts exact, landmarks within 0.005 px."""
    assert len(faces) >= 25
    for name, t, f in faces:
        pre = f"{f}/clnf/h00/"
        rec = Recorder()
        with rec.scope(pre[:-1]):
            clnf_fit(pdm, TraceResponses(t, pre), t[pre + "init/params_global"], t[pre + "init/params_local"],
                     t[pre + "init/window_sizes"], rec=rec)
        ours = rec.finish()
        ref_names = [n for n in t.names if n.startswith(pre + "fit/")]
        assert [n for n in ours.names if n in set(ref_names)] == ref_names, name   # same stages, same order
        for n in ref_names:
            assert ours.info(n).dtype == t.info(n).dtype and ours.info(n).shape == t.info(n).shape, (name, n)
            if n.endswith("iterations") or n.endswith("view_id") or n.endswith("success"):
                assert int(ours[n]) == int(t[n]), (name, n)
        err = np.max(np.abs(ours[pre + "fit/landmarks_stacked"] - t[pre + "fit/landmarks_stacked"]))
        assert err <= LANDMARK_ATOL, (name, f, err)
        assert _rel(t[pre + "fit/params_global"], ours[pre + "fit/params_global"]) <= REL, name
        assert abs(float(ours[pre + "fit/model_likelihood"]) - float(t[pre + "fit/model_likelihood"])) <= 1e-4, name


def test_parts_merge_refit_with_reference_responses_bit_exact(model, faces):
    """Stage isolation from the C++ box with the reference's response maps (main model and parts):
    every recorded stage of `hNN/` (init, fit with every iteration's intermediates, parts, merge,
    refit; not the validator) is reproduced with the same names, order, dtype and shape, and
    bit-identical values, on every face of every dump. (This needs the reference's float trig
    (glibc sinf/cosf/asinf/atan2f), OpenCV's own Orthonormalise products, the Haswell sgemm's
    accumulation order in the Hessian and in CalcParams' `M + V·p`, and glibc's expf in the KDE
    table: each of those alone breaks it on some dumps.)"""
    for name, t, f in faces:
        rec = Recorder()
        with rec.scope(f"{f}/clnf"):
            fit_landmarks(None, t[f"{f}/clnf/input/bbox"], model, rec=rec, responses_from=t,
                          trace_prefix=f"{f}/clnf/h00/")
        ours = rec.finish()
        pre = f"{f}/clnf/h00/"
        ref_names = [n for n in t.names if n.startswith(pre) and not n.startswith(pre + "validation")]
        assert [n for n in ours.names if n in set(ref_names)] == ref_names, name
        assert set(ref_names) >= {n for n in ours.names if "jacobian" not in n and "hessian" not in n}, name
        for n in ref_names:
            assert ours.info(n).dtype == t.info(n).dtype and ours.info(n).shape == t.info(n).shape, (name, n)
            np.testing.assert_array_equal(ours[n], t[n], err_msg=f"{name} {n}")
