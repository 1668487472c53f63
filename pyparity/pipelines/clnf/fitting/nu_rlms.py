"""Non-uniform regularised landmark mean-shift (CLNF::NU_RLMS and CLNF::GetWeightMatrix), float32.

One call runs the rigid or the non-rigid iterations of one scale and records, under the caller's
`fit/sK/{rigid,nonrigid}` scope, exactly the reference's stages (names, dtypes, shapes, order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.clnf.fitting.mean_shift import (kde_mean_shift, kde_table, landmark_likelihoods,
                                                landmark_likelihoods_fast)
from pyparity.pipelines.clnf.numerics.f32kernels import FMA_FUSED
from pyparity.pipelines.clnf.model.pdm import PDM, cholesky_solve, minus_diag_times, rotation_update_opencv
from pyparity.pipelines.clnf.model.pdm_fused import solve_and_rotate, update_pre
from pyparity.pipelines.clnf.model.pdm_kernels import cv_gemv_f32, sgemm_jtwj, split_mask_t
from pyparity.pipelines.clnf.fitting.rlms_kernels import (rlms_finish_then_pre, rlms_iteration_pre, to_image_frame,
                                                  window_offsets)
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.pipelines.clnf import scopes
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("fit/s*/*rigid/weight_matrix_diag", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::GetWeightMatrix",
          "the diagonal of W (patch confidences)"),
    Stage("fit/s*/*rigid/reg_term_diag", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "the regularisation term's diagonal"),
    Stage("fit/s*/*rigid/it*/shape_stacked", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "landmarks at the start of iteration NN"),
    Stage("fit/s*/*rigid/it*/shape_change", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "‖shape − previous‖ (stops below 0.01)"),
    Stage("fit/s*/*rigid/it*/jacobian", "nu_rlms", "PDM.cpp: PDM::ComputeRigidJacobian, PDM::ComputeJacobian",
          "the Jacobian (level 2)"),
    Stage("fit/s*/*rigid/it*/jacobian_w_t", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS", "Jᵀ·W (level 2)"),
    Stage("fit/s*/*rigid/it*/dxs", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "landmark offsets in their response windows, x"),
    Stage("fit/s*/*rigid/it*/dys", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "landmark offsets in their response windows, y"),
    Stage("fit/s*/*rigid/it*/mean_shifts_ref_stacked", "nu_rlms",
          "LandmarkDetectorModel.cpp: CLNF::NonVectorisedMeanShift_precalc_kde",
          "KDE mean-shifts in the reference frame"),
    Stage("fit/s*/*rigid/it*/mean_shifts_stacked", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "mean-shifts in the image frame, hidden landmarks zeroed"),
    Stage("fit/s*/*rigid/it*/j_w_t_m", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "Jᵀ·W·v minus the regularisation term"),
    Stage("fit/s*/*rigid/it*/hessian", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "JᵀWJ + regularisation (level 2)"),
    Stage("fit/s*/*rigid/it*/param_update", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "the Cholesky solve"),
    Stage("fit/s*/*rigid/it*/params_global", "nu_rlms", "PDM.cpp: PDM::UpdateModelParameters, PDM::Clamp",
          "global parameters after the update and clamp"),
    Stage("fit/s*/*rigid/it*/params_local", "nu_rlms", "PDM.cpp: PDM::UpdateModelParameters, PDM::Clamp",
          "local parameters after the update and clamp"),
    Stage("fit/s*/*rigid/iterations", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "iterations run (the one that stops on a small change uncounted)"),
    Stage("fit/s*/nonrigid/landmark_likelihoods", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS",
          "per-landmark likelihoods at the last scale"),
    Stage("fit/s*/nonrigid/loglikelihood", "nu_rlms", "LandmarkDetectorModel.cpp: CLNF::NU_RLMS", "their log-sum"),
    prefixes=scopes.FIT,
)

_f = np.float32


def weight_matrix_diag(n: int, weight_factor, patch_confidences=None) -> np.ndarray:
    """CLNF::GetWeightMatrix diagonal (2n,) float32: identity when weight_factor <= 0, else
    weight_factor · confidence (x and y rows alike). patch_confidences (n,) as read (double)."""
    wf = _f(weight_factor)
    if wf > 0:
        c = np.asarray(patch_confidences, dtype=np.float64).reshape(n)
        w = (np.float32(0) + c).astype(np.float32)  # 0.0f + double confidence, stored as float
        w = (float(wf) * w.astype(np.float64)).astype(np.float32)
        return np.concatenate([w, w])
    return np.ones(2 * n, dtype=np.float32)


@dataclass
class RlmsResult:
    params_global: np.ndarray       # (6,) float32
    params_local: np.ndarray        # (m,) float32
    iterations: int
    loglikelihood: np.float32       # 0 unless compute_lhood
    landmark_likelihoods: np.ndarray | None


def _shape_change(a: np.ndarray, b: np.ndarray) -> float:
    # cv::norm(a, b) on float: float differences, double sum of squares
    d = (a - b).astype(np.float32).astype(np.float64)
    return float(np.sqrt(np.sum(d * d)))


def nu_rlms(pdm: PDM, responses: np.ndarray, params_global, params_local, base_shape: np.ndarray,
            sim_img_to_ref: np.ndarray, sim_ref_to_img: np.ndarray, window_size: int, visible: np.ndarray,
            w_diag: np.ndarray, *, reg_factor, sigma, rigid: bool, compute_lhood: bool = False,
            n_iterations: int = 5, rec: StageRecorder = NULL_RECORDER, level: int = 2, start_iteration: int = 0,
            previous_shape=None, dxs=None, dys=None) -> RlmsResult:
    """CLNF::NU_RLMS.

    responses (n, ws, ws) float32; params_global (6,), params_local (m,) float32; base_shape (2n,) the
    landmarks at the start of the scale; sims (2, 2) float32; visible (n,) int (visibilities[scale][view]);
    w_diag (2n,) the weight matrix diagonal; reg_factor, sigma float32 (per-scale adapted).
    level 2 also records jacobian, jacobian_w_t and hessian (as level-2 dumps do).

    Resuming inside the loop (stage isolation from a recorded iteration): start_iteration NN > 0 with
    params_* = iteration NN's input (iteration NN-1's output), previous_shape = iteration NN-1's
    shape_stacked (for the convergence test), dxs/dys = iteration NN-1's (used by the likelihood if
    the loop stops at once). `iterations` then counts from 0 as the uninterrupted loop would.
    """
    if not rec.enabled:
        return _nu_rlms_fast(pdm, responses, params_global, params_local, base_shape, sim_img_to_ref,
                             sim_ref_to_img, window_size, visible, w_diag, reg_factor=reg_factor, sigma=sigma,
                             rigid=rigid, compute_lhood=compute_lhood, n_iterations=n_iterations,
                             start_iteration=start_iteration, previous_shape=previous_shape, dxs=dxs, dys=dys)
    n, m = pdm.n_points, pdm.n_modes
    g = np.asarray(params_global, dtype=np.float32).reshape(6).copy()
    loc = np.asarray(params_local, dtype=np.float32).reshape(m).copy()
    base = np.asarray(base_shape, dtype=np.float32).reshape(2 * n)
    vis = np.asarray(visible).reshape(n).astype(np.int32)
    invis = vis == 0
    k = 6 if rigid else 6 + m
    reg_diag = np.zeros(k, dtype=np.float32)
    if not rigid:
        reg_diag[6:] = (_f(reg_factor) / pdm.eigen_values).astype(np.float32)
    w = np.asarray(w_diag, dtype=np.float32).reshape(2 * n)
    if rec.enabled:
        rec.save("weight_matrix_diag", w.reshape(-1, 1))
        rec.save("reg_term_diag", reg_diag.reshape(-1, 1))
    half = (window_size - 1) // 2
    sim_i2r = np.asarray(sim_img_to_ref, dtype=np.float32)
    sim_r2i = np.asarray(sim_ref_to_img, dtype=np.float32)
    prev = None if previous_shape is None else np.asarray(previous_shape, dtype=np.float32).reshape(2 * n).copy()
    dxs = None if dxs is None else np.asarray(dxs, dtype=np.float32).reshape(n)
    dys = None if dys is None else np.asarray(dys, dtype=np.float32).reshape(n)
    it_done = start_iteration
    for it in range(start_iteration, n_iterations):
        cur = pdm.calc_shape_2d(loc, g)
        change = None
        if it > 0:
            change = _shape_change(cur, prev)
            if change < 0.01:
                # the reference records the shape and its change before this convergence test
                if rec.enabled:
                    with rec.scope(f"it{it:02d}"):
                        rec.save("shape_stacked", cur.reshape(-1, 1))
                        rec.save("shape_change", np.float64(change))
                break
        prev = cur.copy()
        if rigid:
            J, Jwt = pdm.rigid_jacobian(loc, g, w)
        else:
            J, Jwt = pdm.jacobian(loc, g, w)
        dxs, dys = window_offsets(cur, base, sim_i2r, _f(half))
        ms_ref = kde_mean_shift(responses, dxs, dys, vis, sigma)
        ms = to_image_frame(ms_ref, sim_r2i)
        if invis.any():
            rows = np.concatenate([invis, invis])
            J[rows] = 0
            Jwt[:, rows] = 0
            ms[rows] = 0
        jwtm = cv_gemv_f32(Jwt, ms)
        if not rigid:
            jwtm[6:] = minus_diag_times(jwtm[6:], reg_diag[6:], loc)
        H = sgemm_jtwj(Jwt, J, reg_diag)
        upd = cholesky_solve(H, jwtm)
        loc, g = pdm.update_model_parameters(upd, loc, g)
        loc = pdm.clamp(loc)
        it_done = it + 1
        if rec.enabled:
            with rec.scope(f"it{it:02d}"):
                rec.save("shape_stacked", cur.reshape(-1, 1))
                if change is not None:
                    rec.save("shape_change", np.float64(change))
                if level >= 2:
                    rec.save("jacobian", J)
                    rec.save("jacobian_w_t", Jwt)
                rec.save("dxs", dxs.reshape(-1, 1))
                rec.save("dys", dys.reshape(-1, 1))
                rec.save("mean_shifts_ref_stacked", ms_ref.reshape(-1, 1))
                rec.save("mean_shifts_stacked", ms.reshape(-1, 1))
                rec.save("j_w_t_m", jwtm.reshape(-1, 1))
                if level >= 2:
                    rec.save("hessian", H)
                rec.save("param_update", upd.reshape(-1, 1))
                rec.save("params_global", g.copy())
                rec.save("params_local", loc.reshape(-1, 1))
    ll = np.float32(0)
    lhoods = None
    if compute_lhood:
        lhoods, ll = landmark_likelihoods(responses, dxs, dys, vis, sigma)
        if rec.enabled:
            rec.save("landmark_likelihoods", lhoods.reshape(-1, 1))
            rec.save("loglikelihood", np.float32(ll))
    if rec.enabled:
        rec.save("iterations", np.int32(it_done))
    return RlmsResult(g, loc, it_done, ll, lhoods)


def _nu_rlms_fast(pdm: PDM, responses, params_global, params_local, base_shape, sim_img_to_ref, sim_ref_to_img,
                  window_size: int, visible, w_diag, *, reg_factor, sigma, rigid: bool, compute_lhood: bool,
                  n_iterations: int, start_iteration: int, previous_shape, dxs, dys) -> RlmsResult:
    """nu_rlms with recording off: the same arithmetic, bit for bit. Per iteration two fused kernels:
    the solve and rotation update (rlms_kernels.solve_and_rotate: ports of cv::solve, cv::SVDecomp and
    cv::Rodrigues twice, cv2 where they decline) and the end of that update with the shape, Jacobian,
    mean-shifts and Hessian of the next iteration (rlms_finish_then_pre); the KDE weights come from a
    table kept per window and sigma."""
    n, m = pdm.n_points, pdm.n_modes
    g = np.array(params_global, dtype=np.float32).reshape(6)
    loc = np.array(params_local, dtype=np.float32).reshape(m)
    base = np.ascontiguousarray(base_shape, dtype=np.float32).reshape(2 * n)
    vis = np.ascontiguousarray(visible, dtype=np.int32).reshape(n)
    k = 6 if rigid else 6 + m
    reg_diag = np.zeros(k, dtype=np.float32)
    if not rigid:
        reg_diag[6:] = (_f(reg_factor) / pdm.eigen_values).astype(np.float32)
    w = np.ascontiguousarray(w_diag, dtype=np.float32).reshape(2 * n)
    # ComputeJacobian skips the weighting when trace(W) == rows; ComputeRigidJacobian always weights
    weighted = True if rigid else float(np.sum(w, dtype=np.float64)) != w.shape[0]
    kde_a = np.float32(-0.5 / float(np.float32(np.float32(sigma) * np.float32(sigma))))
    resp = np.ascontiguousarray(responses, dtype=np.float32)
    kde_tab, kde_filled = kde_table(resp.shape[1], kde_a)
    sim_i2r = np.ascontiguousarray(sim_img_to_ref, dtype=np.float32)
    sim_r2i = np.ascontiguousarray(sim_ref_to_img, dtype=np.float32)
    half = _f((window_size - 1) // 2)
    split_t = split_mask_t(k)
    H = np.empty((k, k), dtype=np.float32)
    jwtm = np.empty(k, dtype=np.float32)
    prev = np.empty(2 * n, dtype=np.float32)
    if start_iteration > 0 and previous_shape is None:
        raise ValueError("resuming NU_RLMS after iteration 0 needs the previous iteration's shape")
    if previous_shape is not None:
        prev[:] = np.asarray(previous_shape, dtype=np.float32).reshape(2 * n)
    dx_buf = np.empty(n, dtype=np.float32)
    dy_buf = np.empty(n, dtype=np.float32)
    dxs = None if dxs is None else np.asarray(dxs, dtype=np.float32).reshape(n)
    dys = None if dys is None else np.asarray(dys, dtype=np.float32).reshape(n)
    ev = pdm.eigen_values
    pc, mean = pdm.princ_comp, pdm.mean_shape
    it_done = start_iteration
    it = start_iteration
    converged = it >= n_iterations or rlms_iteration_pre(
        pc, mean, loc, g, w, weighted, rigid, base, sim_i2r, sim_r2i, half, resp, vis, kde_a, kde_tab, kde_filled,
        reg_diag, split_t, FMA_FUSED, prev, it > 0, dx_buf, dy_buf, H, jwtm)
    while not converged:
        # iteration `it` has its Hessian and j_w_t_m: solve (cholesky_solve's cv::solve), update the
        # parameters (pdm.update_model_parameters' steps), and compute the next iteration up to its solve
        dxs, dys = dx_buf, dy_buf
        upd, r1, small, rot, stage = solve_and_rotate(H, jwtm, g)
        if stage:   # a failed Cholesky or a zero singular value: the ports leave those to OpenCV
            if stage == 1:
                upd = cholesky_solve(H, jwtm)
                r1, small = update_pre(upd, g)
            rot = rotation_update_opencv(r1, small)
        it += 1
        it_done = it
        converged = rlms_finish_then_pre(rot, upd, ev, pc, mean, loc, g, w, weighted, rigid, base, sim_i2r, sim_r2i,
                                         half, resp, vis, kde_a, kde_tab, kde_filled, reg_diag, split_t, FMA_FUSED,
                                         prev, dx_buf, dy_buf, H, jwtm, it < n_iterations) or it >= n_iterations
    ll = np.float32(0)
    lhoods = None
    if compute_lhood:
        lhoods, ll = landmark_likelihoods_fast(resp, dxs, dys, vis, sigma)
    return RlmsResult(g, loc, it_done, ll, lhoods)

