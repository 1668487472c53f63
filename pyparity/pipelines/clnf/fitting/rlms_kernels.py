"""Fused numba kernels for the unrecorded NU-RLMS iterations (the fast path of nu_rlms.py).

Each kernel strings together the njit functions the recording path calls one by one (pdm_kernels.py,
mean_shift.py, rotation), in the same order on the same float32 values, so the fast path is bit-identical
to the recording path (tests/pipelines/clnf/fitting/test_fast_path.py holds it to that on every reference dump); what is
gone is the Python dispatch between them. Two pieces are evaluated differently, each proven equal by its
own property test there: the KDE weights come from a table filled on first use (mean_shift.mean_shift_tabled:
the same expf values) and the convergence test's `np.sum` is numpy's pairwise sum reproduced (pairwise_sum).
The normal equations, the parameter update and the OpenCV calls between them are pdm_fused.py's.
"""

from __future__ import annotations

import numba
import numpy as np

from pyparity.pipelines.clnf.fitting.mean_shift import mean_shift_tabled
from pyparity.pipelines.clnf.model.pdm_fused import hessian_and_rhs, update_finish
from pyparity.pipelines.clnf.model.pdm_kernels import jacobian, shape2d, shape3d
from pyparity.conventions.rotations_f32 import euler_to_matrix_k


@numba.njit(cache=True)
def window_offsets(cur, base, sim, half):
    """`(current_shape_2D - base_shape_2D) * sim_img_to_ref.t()` (native cv::gemm: double sums, one
    rounding), then `+ (resp_size - 1) / 2` in float -> (dxs, dys) float32."""
    n = cur.shape[0] // 2
    dxs = np.empty(n, dtype=np.float32)
    dys = np.empty(n, dtype=np.float32)
    a00, a01 = np.float64(sim[0, 0]), np.float64(sim[0, 1])
    a10, a11 = np.float64(sim[1, 0]), np.float64(sim[1, 1])
    for i in range(n):
        x = np.float64(np.float32(cur[i] - base[i]))
        y = np.float64(np.float32(cur[i + n] - base[i + n]))
        dxs[i] = np.float32(x * a00 + y * a01) + half
        dys[i] = np.float32(x * a10 + y * a11) + half
    return dxs, dys


@numba.njit(cache=True)
def to_image_frame(ms_ref, sim):
    """`mean_shifts_2D * sim_ref_to_img.t()` (native cv::gemm) -> stacked (2n,) float32."""
    n = ms_ref.shape[0] // 2
    out = np.empty(2 * n, dtype=np.float32)
    a00, a01 = np.float64(sim[0, 0]), np.float64(sim[0, 1])
    a10, a11 = np.float64(sim[1, 0]), np.float64(sim[1, 1])
    for i in range(n):
        x, y = np.float64(ms_ref[i]), np.float64(ms_ref[i + n])
        out[i] = np.float32(x * a00 + y * a01)
        out[i + n] = np.float32(x * a10 + y * a11)
    return out


@numba.njit(cache=True)
def _pairwise_block(a, start, n):
    """numpy's pairwise_sum (loops_utils.h) on a block of n <= 128: sequential below 8, else eight
    strided partial sums added as a tree, then the remainder."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[start + i]
        return res
    r = np.empty(8, dtype=np.float64)
    for j in range(8):
        r[j] = a[start + j]
    i = 8
    while i < n - (n % 8):
        for j in range(8):
            r[j] += a[start + i + j]
        i += 8
    res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        res += a[start + i]
        i += 1
    return res


@numba.njit(cache=True)
def pairwise_sum(a, start, n):
    """numpy's float64 add.reduce of a contiguous a[start:start + n] (pairwise_sum: blocks of <= 128,
    halves above, n2 = n / 2 rounded down to a multiple of 8), as nu_rlms's `np.sum` of the squared
    shape changes computes it. Iterative (a recursive njit function does not link into callers)."""
    # explicit stack of (start, n, partial-sum slot); a post-order walk adds the two halves as numpy does
    st_s = np.empty(64, dtype=np.int64)
    st_n = np.empty(64, dtype=np.int64)
    st_state = np.zeros(64, dtype=np.int64)
    st_left = np.zeros(64, dtype=np.float64)
    top = 0
    st_s[0], st_n[0], st_state[0] = start, n, 0
    ret = 0.0
    while top >= 0:
        s0, n0 = st_s[top], st_n[top]
        if n0 <= 128:
            ret = _pairwise_block(a, s0, n0)
            top -= 1
            continue
        n2 = n0 // 2
        n2 -= n2 % 8
        if st_state[top] == 0:
            st_state[top] = 1
            top += 1
            st_s[top], st_n[top], st_state[top] = s0, n2, 0
        elif st_state[top] == 1:
            st_left[top] = ret
            st_state[top] = 2
            top += 1
            st_s[top], st_n[top], st_state[top] = s0 + n2, n0 - n2, 0
        else:
            ret = st_left[top] + ret
            top -= 1
    return ret


@numba.njit(cache=True)
def rlms_iteration_pre(pc, mean, loc, g, w, weighted, rigid, base, sim_i2r, sim_r2i, half, responses, vis,
                       kde_a, kde_tab, kde_filled, reg_diag, split_t, fused, prev, has_prev, dxs, dys, H,
                       jwtm):
    """One NU_RLMS iteration up to the Cholesky solve: CalcShape2D, the convergence test against `prev`
    (if has_prev), the Jacobian, window offsets, KDE mean-shift, the image-frame shifts, invisible rows
    zeroed, j_w_t_m and the Hessian. Returns True if the shape change was below 0.01 (converged: nothing
    else is computed); else writes dxs, dys, H, jwtm and stores the shape in `prev`."""
    n = mean.shape[0] // 3
    s3 = shape3d(pc, loc, mean, fused)
    r = euler_to_matrix_k(g[1], g[2], g[3])
    cur = shape2d(s3, g, r)
    if has_prev:
        # cv::norm(cur, prev): float differences, double sum of squares
        sq = np.empty(2 * n, dtype=np.float64)
        for i in range(2 * n):
            d = np.float64(np.float32(cur[i] - prev[i]))
            sq[i] = d * d
        if np.sqrt(pairwise_sum(sq, 0, 2 * n)) < 0.01:
            return True
    for i in range(2 * n):
        prev[i] = cur[i]
    # ComputeRigidJacobian / ComputeJacobian recompute the same 3-D shape and rotation
    J, Jwt = jacobian(shape3d(pc, loc, mean, fused), pc, g, euler_to_matrix_k(g[1], g[2], g[3]), w,
                         rigid, weighted)
    ox, oy = window_offsets(cur, base, sim_i2r, half)
    for i in range(n):
        dxs[i] = ox[i]
        dys[i] = oy[i]
    ms_ref = np.zeros(2 * n, dtype=np.float32)
    mean_shift_tabled(responses, dxs, dys, vis, kde_a, kde_tab, kde_filled, ms_ref)
    ms = to_image_frame(ms_ref, sim_r2i)
    k = J.shape[1]
    for i in range(n):
        if vis[i] == 0:
            for c in range(k):
                J[i, c] = np.float32(0.0)
                J[i + n, c] = np.float32(0.0)
                Jwt[c, i] = np.float32(0.0)
                Jwt[c, i + n] = np.float32(0.0)
            ms[i] = np.float32(0.0)
            ms[i + n] = np.float32(0.0)
    hessian_and_rhs(J, Jwt, ms, reg_diag, loc, rigid, split_t, fused, H, jwtm)
    return False


@numba.njit(cache=True)
def rlms_finish_then_pre(rot, d, ev, pc, mean, loc, g, w, weighted, rigid, base, sim_i2r, sim_r2i, half, responses,
                         vis, kde_a, kde_tab, kde_filled, reg_diag, split_t, fused, prev, dxs, dys, H, jwtm, do_pre):
    """The end of one NU_RLMS iteration's parameter update (update_finish with PDM::Clamp, g and loc
    updated in place) followed, if do_pre, by the next iteration's rlms_iteration_pre (with the
    convergence test). Returns rlms_iteration_pre's result (False if not do_pre)."""
    new_loc = update_finish(rot, d, g, loc, ev, True)
    for i in range(loc.shape[0]):
        loc[i] = new_loc[i]
    if not do_pre:
        return False
    return rlms_iteration_pre(pc, mean, loc, g, w, weighted, rigid, base, sim_i2r, sim_r2i, half, responses, vis,
                              kde_a, kde_tab, kde_filled, reg_diag, split_t, fused, prev, True, dxs, dys, H, jwtm)


