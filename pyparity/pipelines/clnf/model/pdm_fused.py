"""Fused numba kernels of PDM::CalcParams and PDM::UpdateModelParameters (the unrecorded fast path),
and the Gauss-Newton normal equations NU-RLMS shares with them (rlms_kernels.py's fused iterations).

Each kernel strings together the njit functions the recording path calls one by one (pdm_kernels.py),
in the same order on the same float32 values, so the fast path is bit-identical to the recording path
(tests/pipelines/clnf/fitting/test_fast_path.py). The Hessian sgemm runs two rows per pass (sgemm_jtwj_pairs: every output
the same FMA chain); the OpenCV calls between them (cv::solve's Cholesky, cv::SVDecomp of Orthonormalise
and cv::Rodrigues both ways) run as one kernel, solve_and_rotate, through cv_ports' bit-exact ports.
"""

from __future__ import annotations

import numba
import numpy as np

from pyparity.pipelines.clnf.numerics.cv_ports import cholesky_solve_f32, rodrigues_m2v_f32, rodrigues_v2m_f32, svd3_f32
from pyparity.pipelines.clnf.numerics.f32kernels import fma
from pyparity.pipelines.clnf.model.pdm_kernels import (clamp_params, cv_gemv_f32, jacobian, l2_dist, matx33_mul,
                                                 orthonormalise_finish,
                                                 project, shape3d, small_rotation)
from pyparity.conventions.rotations_f32 import euler_to_matrix_k, matrix_to_euler_k


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _sgemm_jtwj_pairs_body(jwt, j, split_t, out, fused):
    # pdm_kernels.sgemm_jtwj_body on two output rows at a time: the same three chains per output, each in the
    # same order; two rows per pass over J give the CPU twice as many independent chains per step
    k, kk_n = jwt.shape
    km = kk_n - kk_n % 8
    a0 = np.empty(k, dtype=np.float32)
    a1 = np.empty(k, dtype=np.float32)
    ao = np.empty(k, dtype=np.float32)
    b0 = np.empty(k, dtype=np.float32)
    b1 = np.empty(k, dtype=np.float32)
    bo = np.empty(k, dtype=np.float32)
    r = 0
    while r < k:
        two = r + 1 < k
        rb = r + 1 if two else r
        for i in range(k):
            a0[i] = np.float32(0.0)
            a1[i] = np.float32(0.0)
            ao[i] = np.float32(0.0)
            b0[i] = np.float32(0.0)
            b1[i] = np.float32(0.0)
            bo[i] = np.float32(0.0)
        for kk in range(kk_n):
            wa = jwt[r, kk]
            wb = jwt[rb, kk]
            jrow = j[kk]
            if kk < km and (kk & 1) == 1:
                for i in range(k):
                    a1[i] = fma(wa, jrow[i], a1[i], fused)
                    b1[i] = fma(wb, jrow[i], b1[i], fused)
            else:
                for i in range(k):
                    a0[i] = fma(wa, jrow[i], a0[i], fused)
                    b0[i] = fma(wb, jrow[i], b0[i], fused)
            # the one-chain outputs in a loop of their own, as pdm_kernels.sgemm_jtwj_body: the product wa·jrow[i]
            # must stay private to each multiply-add (a product shared by two adds is not contracted)
            for i in range(k):
                ao[i] = fma(wa, jrow[i], ao[i], fused)
                bo[i] = fma(wb, jrow[i], bo[i], fused)
        for i in range(k):
            out[r, i] = a0[i] + a1[i] if split_t[r, i] else ao[i]
        if two:
            for i in range(k):
                out[rb, i] = b0[i] + b1[i] if split_t[rb, i] else bo[i]
        r += 2


@numba.njit(cache=True, fastmath={"contract"})
def sgemm_jtwj_pairs(jwt, j, split_t, out, fused):
    """pdm_kernels.sgemm_jtwj_kernel (bit for bit: every output's chain is the same sequence of FMAs), two rows per
    pass."""
    if fused:
        _sgemm_jtwj_pairs_body(jwt, j, split_t, out, True)
    else:
        _sgemm_jtwj_pairs_body(jwt, j, split_t, out, False)


@numba.njit(cache=True)
def hessian_and_rhs(J, Jwt, ms, reg_diag, loc, rigid, split_t, fused, H, jwtm):
    """j_w_t_m = J_w_t·m (native gemv), minus regTerm·p for the local part, and H = reg + J_w_t·J (the
    Haswell sgemm, then + the diagonal in float), into H (k, k) and jwtm (k,)."""
    v = cv_gemv_f32(Jwt, ms)
    k = v.shape[0]
    for i in range(k):
        jwtm[i] = v[i]
    if not rigid:
        # minus_diag_times: double product and difference, rounded once
        for i in range(6, k):
            jwtm[i] = np.float32(np.float64(v[i]) - np.float64(reg_diag[i]) * np.float64(loc[i - 6]))
    sgemm_jtwj_pairs(Jwt, J, split_t, H, fused)
    for i in range(k):
        H[i, i] = H[i, i] + reg_diag[i]


@numba.njit(cache=True)
def update_pre(d, g):
    """PDM::UpdateModelParameters up to the SVD: scale and translation updated in place in g, returns
    (R1 from g's current Euler angles, the small-rotation matrix I + [w]x to orthonormalise)."""
    g[0] = g[0] + d[0]
    g[4] = g[4] + d[4]
    g[5] = g[5] + d[5]
    return euler_to_matrix_k(g[1], g[2], g[3]), small_rotation(d)


@numba.njit(cache=True)
def update_compose(r1, u, vt):
    """R3 = R1 · Orthonormalise(R') from the SVD factors of R'."""
    return matx33_mul(r1, orthonormalise_finish(u, vt))


@numba.njit(cache=True)
def _svd_and_rotate(upd, r1, small):
    """The rotation half of solve_and_rotate / calc_params_solve_and_rotate once R1 and R' are known:
    Orthonormalise's cv::SVDecomp, update_compose and cv::Rodrigues both ways through the ports.
    Returns (upd, R1, R', rotation, stage) with stage 0 done or 2 (an SVD or Rodrigues port declined)."""
    _w, u, vt, ok = svd3_f32(small)
    if not ok:
        return upd, r1, small, r1, 2
    axis_angle, ok = rodrigues_m2v_f32(update_compose(r1, u, vt))
    if not ok:
        return upd, r1, small, r1, 2
    return upd, r1, small, rodrigues_v2m_f32(axis_angle), 0


@numba.njit(cache=True)
def solve_and_rotate(H, jwtm, g):
    """cv::solve(H, j_w_t_m, DECOMP_CHOLESKY), update_pre, Orthonormalise's cv::SVDecomp,
    update_compose and cv::Rodrigues both ways in one call, through the bit-exact ports of cv_ports.
    Returns (update, R1, R', rotation, stage): stage 0 done; 1 the Cholesky failed (g untouched, the
    caller runs all of it with cv2); 2 an SVD reached OpenCV's random-vector branch (g updated, the
    caller runs the SVD and Rodrigues steps with cv2 from R1 and R')."""
    upd, ok = cholesky_solve_f32(H, jwtm)
    r1 = np.empty((3, 3), dtype=np.float32)
    if not ok:
        return upd, r1, r1, r1, 1
    r1, small = update_pre(upd, g)
    return _svd_and_rotate(upd, r1, small)


@numba.njit(cache=True)
def update_finish(rot, d, g, loc, ev, clamp):
    """The Euler angles of the Rodrigues round trip into g (zeros if NaN), the local update, then
    PDM::Clamp if `clamp`. Returns the new params_local."""
    e = matrix_to_euler_k(rot)
    if not (e[0] == e[0] and e[1] == e[1] and e[2] == e[2]):
        e = np.zeros(3, dtype=np.float32)
    g[1] = e[0]
    g[2] = e[1]
    g[3] = e[2]
    m = loc.shape[0]
    out = loc.copy()
    if d.shape[0] > 6:
        for i in range(m):
            out[i] = loc[i] + d[6 + i]
    if clamp:
        return clamp_params(out, ev)
    return out


@numba.njit(cache=True)
def calc_params_iteration_pre(M, V, loc, glob, shape_3d, locs, reg, split_t, fused, H, jwtm):
    """One PDM::CalcParams Gauss-Newton iteration up to the solve (shape_3d = M + V·loc as the caller
    computed it): residual of the projection, the (unweighted) Jacobian, j_w_t_m and the Hessian."""
    R = euler_to_matrix_k(glob[1], glob[2], glob[3])
    proj = project(shape_3d, glob[0], R, glob[4], glob[5])
    resid = np.empty(proj.shape[0], dtype=np.float32)
    for i in range(proj.shape[0]):
        resid[i] = locs[i] - proj[i]
    w = np.ones(proj.shape[0], dtype=np.float32)
    J, Jwt = jacobian(shape3d(V, loc, M, fused), V, glob, euler_to_matrix_k(glob[1], glob[2], glob[3]), w,
                         False, False)
    hessian_and_rhs(J, Jwt, resid, reg, loc, False, split_t, fused, H, jwtm)


@numba.njit(cache=True)
def calc_params_error(shape_3d, glob, locs):
    """The error of the updated pose with the pre-update shape (float32 of cv::norm)."""
    R = euler_to_matrix_k(glob[1], glob[2], glob[3])
    return np.float32(l2_dist(project(shape_3d, glob[0], R, glob[4], glob[5]), locs))


@numba.njit(cache=True)
def calc_params_post_solve(x, glob):
    """CalcParams after cv::solve: the 0.75 damping (float), then update_pre. Returns (the damped
    update, R1, the small rotation)."""
    upd = np.empty(x.shape[0], dtype=np.float32)
    for i in range(x.shape[0]):
        upd[i] = np.float32(0.75) * x[i]
    r1, small = update_pre(upd, glob)
    return upd, r1, small


@numba.njit(cache=True)
def calc_params_solve_and_rotate(H, jwtm, glob):
    """CalcParams' cv::solve, calc_params_post_solve, then Orthonormalise's SVD and the two
    cv::Rodrigues through the ports, as solve_and_rotate (same return values and stages)."""
    x, ok = cholesky_solve_f32(H, jwtm)
    r1 = np.empty((3, 3), dtype=np.float32)
    if not ok:
        return x, r1, r1, r1, 1
    upd, r1, small = calc_params_post_solve(x, glob)
    return _svd_and_rotate(upd, r1, small)


@numba.njit(cache=True)
def calc_params_finish(rot, upd, glob, loc, shape_3d, locs, M, V, reg, split_t, fused, H, jwtm, curr_error,
                       not_improved, next_shape):
    """The end of a CalcParams iteration: update_finish (no clamp; loc in place), the error of the new
    pose with the pre-update shape and the not-improved count. Returns (stop, curr_error, not_improved)
    as the loop carries them; unless stopping and if next_shape (the FMA form of M + V·p, V with >= 100
    rows), the next iteration's shape (into shape_3d) and its calc_params_iteration_pre."""
    new_loc = update_finish(rot, upd, glob, loc, glob, False)   # (the eigenvalues are not read without clamp)
    for i in range(loc.shape[0]):
        loc[i] = new_loc[i]
    err = calc_params_error(shape_3d, glob, locs)
    if 0.999 * np.float64(curr_error) < np.float64(err):
        not_improved += 1
        if not_improved == 3:
            return True, curr_error, not_improved
    if next_shape:
        s3 = shape3d(V, loc, M, fused)
        for i in range(s3.shape[0]):
            shape_3d[i] = s3[i]
        calc_params_iteration_pre(M, V, loc, glob, shape_3d, locs, reg, split_t, fused, H, jwtm)
    return False, err, not_improved
