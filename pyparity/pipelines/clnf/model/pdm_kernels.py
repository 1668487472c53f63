"""PDM.cpp's arithmetic as numba kernels, float32 as the C++ (the PDM class in pdm.py calls them; the
fused fast paths in pdm_fused.py and rlms_kernels.py string them together).

  * cv::Mat products of float matrices (MatExpr `*`, cv::gemm) accumulate in double and round once to
    float (OpenCV's GEMMSingleMul<float,double>): `cv_gemv_f32`, `project`.
  * cv::Matx products accumulate in float, left to right: `matx33_mul`.
  * The explicit sgemm_ calls (CalcShape3D, Hessians) are float32 BLAS: `sgemm_jtwj`, `shape3d`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from pyparity.pipelines.clnf.numerics.f32kernels import FMA_FUSED, fma

_MASKS: dict = {}


def haswell_split_mask(m: int, n: int) -> np.ndarray:
    """Which outputs C(i, j) of a column-major sgemm_ (NN, m x n, any k) OpenBLAS 0.3.21's Haswell
    kernel (kernel/x86_64/sgemm_kernel_8x4_haswell_2.c) accumulates in two FMA chains (even k / odd k
    of the 8-unrolled k loop, the K % 8 remainder on the even chain, summed at the end) rather than in
    one chain in k order. (m, n) bool.

    The level-3 driver hands the kernel n in chunks of 12, 8, 4 (then whatever is left, <= 4). In a
    12-wide chunk with m >= 16 the kernel splits n into halves L (first 6) and R (last 6) and staggers
    16-row passes over 8-row panels: panel 0 of L first (two chains), then R / L 16-row passes (one
    chain) one panel apart, and the last full panel of whichever half is left with two chains. 4-wide
    chunks use two chains on every full 8-row panel. Everything else (8-wide chunks, 2 and 1, the
    4/2/1-row tails) is one chain."""
    mask = np.zeros((m, n), dtype=bool)
    j0, rem = 0, n
    while rem > 0:
        w = 12 if rem >= 12 else 8 if rem >= 8 else 4 if rem > 4 else rem
        jj, nrem = j0, w
        while nrem > 0:
            b = 12 if nrem > 11 else 8 if nrem > 7 else 4 if nrem > 3 else 2 if nrem > 1 else 1
            if b == 12 and m >= 16:
                left, right = slice(jj, jj + 6), slice(jj + 6, jj + 12)
                mask[0:8, left] = True                  # COMPUTE_H_m8n6
                r11, p = m, 0
                while True:
                    r11 -= 8                             # COMPUTE_R_m16n6 at panel p
                    p += 1
                    if r11 < 16:
                        mask[8 * p:8 * p + 8, left] = True    # COMPUTE_T_m8n6(L)
                        break
                    r11 -= 8                             # COMPUTE_L_m16n6 at panel p
                    p += 1
                    if r11 < 16:
                        mask[8 * p:8 * p + 8, right] = True   # COMPUTE_T_m8n6(R)
                        break
            elif b == 4:
                mask[0:8 * (m // 8), jj:jj + 4] = True  # COMPUTE_m8n4 (KERNEL_k2m8n4)
            jj += b
            nrem -= b
        j0 += w
        rem -= w
    return mask


def split_mask_t(k: int) -> np.ndarray:
    """haswell_split_mask(k, k) transposed (row r = the n index), cached per size."""
    if k not in _MASKS:
        _MASKS[k] = np.ascontiguousarray(haswell_split_mask(k, k).T)
    return _MASKS[k]


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def sgemm_jtwj_body(jwt, j, split_t, out, fused):
    # all three chains for every output (one in k order; even / odd k of the 8-unrolled part with the
    # remainder on the even one), then each output takes its kernel's: simple loops LLVM vectorises
    k, kk_n = jwt.shape
    km = kk_n - kk_n % 8
    acc0 = np.empty(k, dtype=np.float32)
    acc1 = np.empty(k, dtype=np.float32)
    one = np.empty(k, dtype=np.float32)
    for r in range(k):
        for i in range(k):
            acc0[i] = np.float32(0.0)
            acc1[i] = np.float32(0.0)
            one[i] = np.float32(0.0)
        for kk in range(kk_n):
            w = jwt[r, kk]
            jrow = j[kk]
            if kk < km and (kk & 1) == 1:
                for i in range(k):
                    acc1[i] = fma(w, jrow[i], acc1[i], fused)
            else:
                for i in range(k):
                    acc0[i] = fma(w, jrow[i], acc0[i], fused)
            for i in range(k):
                one[i] = fma(w, jrow[i], one[i], fused)
        for i in range(k):
            out[r, i] = acc0[i] + acc1[i] if split_t[r, i] else one[i]


@numba.njit(cache=True, fastmath={"contract"})
def sgemm_jtwj_kernel(jwt, j, split_t, out, fused):
    if fused:
        sgemm_jtwj_body(jwt, j, split_t, out, True)
    else:
        sgemm_jtwj_body(jwt, j, split_t, out, False)


def sgemm_jtwj(jwt: np.ndarray, j: np.ndarray, reg_diag: np.ndarray) -> np.ndarray:
    """The Hessian sgemm_ of CLNF::NU_RLMS / PDM::CalcParams: reg + J_w_t·J (k, k) float32.

    The call is sgemm_(N, N, M = k, N = k, K = 2n, J, J_w_t, C = reg): C(i, r) = Σ_kk J[kk, i]·J_w_t[r, kk]
    + C, i.e. row r of the row-major Hessian is the kernel's column r. Each output is one FMA chain or
    two (haswell_split_mask), then C is added (beta = 1, alpha = 1: the kernel's final multiply-add
    is a plain float add). Bit-exact on every recorded Hessian of the level-2 dumps (main and parts)."""
    jwt = np.ascontiguousarray(jwt, dtype=np.float32)
    k = jwt.shape[0]
    h = np.empty((k, k), dtype=np.float32)
    sgemm_jtwj_kernel(jwt, np.ascontiguousarray(j, dtype=np.float32), split_mask_t(k), h, FMA_FUSED)
    idx = np.arange(k)
    h[idx, idx] = (h[idx, idx] + np.asarray(reg_diag, dtype=np.float32)).astype(np.float32)
    return h


@numba.njit(cache=True, fastmath={"contract"})
def shape3d(v, p, mean, fused):
    rows, m = v.shape
    out = np.empty(rows, dtype=np.float32)
    for r in range(rows):
        acc = np.float32(0.0)
        for kk in range(m):
            acc = fma(p[kk], v[r, kk], acc, fused)
        out[r] = np.float32(acc + mean[r])
    return out


@numba.njit(cache=True)
def shape2d(s3, g, r):
    """CalcShape2D's loop: s * (r0·X + r1·Y + r2·Z) + t, float32 in the C++ order (no FMA)."""
    n = s3.shape[0] // 3
    out = np.empty(2 * n, dtype=np.float32)
    s, tx, ty = g[0], g[4], g[5]
    for i in range(n):
        x, y, z = s3[i], s3[i + n], s3[i + 2 * n]
        out[i] = s * (r[0, 0] * x + r[0, 1] * y + r[0, 2] * z) + tx
        out[i + n] = s * (r[1, 0] * x + r[1, 1] * y + r[1, 2] * z) + ty
    return out


@numba.njit(cache=True)
def jacobian(s3, v, g, r, w, rigid, weighted):
    """ComputeRigidJacobian / ComputeJacobian: J (2n, k) stacked rows and J_w_t (k, 2n), float32 in
    the C++ order. rigid: k = 6 (always weighted, as C++); else k = 6 + m, weighted if `weighted`."""
    n = s3.shape[0] // 3
    m = 0 if rigid else v.shape[1]
    k = 6 + m
    J = np.empty((2 * n, k), dtype=np.float32)
    s = g[0]
    ms = -s
    for i in range(n):
        x, y, z = s3[i], s3[i + n], s3[i + 2 * n]
        jx = J[i]
        jy = J[i + n]
        jx[0] = x * r[0, 0] + y * r[0, 1] + z * r[0, 2]
        jy[0] = x * r[1, 0] + y * r[1, 1] + z * r[1, 2]
        jx[1] = s * (y * r[0, 2] - z * r[0, 1])
        jy[1] = s * (y * r[1, 2] - z * r[1, 1])
        jx[2] = ms * (x * r[0, 2] - z * r[0, 0])
        jy[2] = ms * (x * r[1, 2] - z * r[1, 0])
        jx[3] = s * (x * r[0, 1] - y * r[0, 0])
        jy[3] = s * (x * r[1, 1] - y * r[1, 0])
        jx[4] = np.float32(1.0)
        jy[4] = np.float32(0.0)
        jx[5] = np.float32(0.0)
        jy[5] = np.float32(1.0)
        for j in range(m):
            vx, vy, vz = v[i, j], v[i + n, j], v[i + 2 * n, j]
            jx[6 + j] = s * (r[0, 0] * vx + r[0, 1] * vy + r[0, 2] * vz)
            jy[6 + j] = s * (r[1, 0] * vx + r[1, 1] * vy + r[1, 2] * vz)
    jwt = np.empty((k, 2 * n), dtype=np.float32)
    for row in range(2 * n):
        wr = w[row]
        for c in range(k):
            jwt[c, row] = J[row, c] * wr if weighted else J[row, c]
    return J, jwt


@numba.njit(cache=True)
def gemm33(a, b):
    """cv::gemm of two 3x3 float matrices (OpenCV's small-matrix path): a float sum of three float
    products per output (matches cv2.gemm bit for bit; double accumulation does not)."""
    out = np.empty((3, 3), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            out[i, j] = a[i, 0] * b[0, j] + a[i, 1] * b[1, j] + a[i, 2] * b[2, j]
    return out


@numba.njit(cache=True)
def orthonormalise_finish(u, vt):
    """PDM::Orthonormalise after the SVD: X = u·vt, W = diag(1, 1, det X) (cv::determinant: double
    formula, stored as float), u·W·vt (two gemms, left to right)."""
    x = gemm33(u, vt)
    det = (np.float64(x[0, 0]) * (np.float64(x[1, 1]) * x[2, 2] - np.float64(x[1, 2]) * x[2, 1])
           - np.float64(x[0, 1]) * (np.float64(x[1, 0]) * x[2, 2] - np.float64(x[1, 2]) * x[2, 0])
           + np.float64(x[0, 2]) * (np.float64(x[1, 0]) * x[2, 1] - np.float64(x[1, 1]) * x[2, 0]))
    w = np.eye(3, dtype=np.float32)
    w[2, 2] = np.float32(det)
    return gemm33(gemm33(u, w), vt)


@numba.njit(cache=True)
def small_rotation(d):
    """R' = [1, -wz, wy; wz, 1, -wx; -wy, wx, 1] of UpdateModelParameters."""
    r2 = np.eye(3, dtype=np.float32)
    r2[2, 1] = d[1]
    r2[1, 2] = -d[1]
    r2[0, 2] = d[2]
    r2[2, 0] = -d[2]
    r2[1, 0] = d[3]
    r2[0, 1] = -d[3]
    return r2


@numba.njit(cache=True)
def clamp_params(p, ev):
    """PDM::Clamp: v = 3.0f * sqrt(eigenvalue) (float), |p| > v -> ±v."""
    out = p.copy()
    three = np.float32(3.0)
    for i in range(out.shape[0]):
        v = three * np.float32(math.sqrt(ev[i]))
        if abs(out[i]) > v:
            out[i] = v if out[i] > 0 else -v
    return out


@numba.njit(cache=True)
def matx33_mul(a, b):
    """cv::Matx33f product: float accumulator from 0, k ascending, no FMA."""
    out = np.empty((3, 3), dtype=np.float32)
    for i in range(3):
        for j in range(3):
            acc = np.float32(0.0)
            for k in range(3):
                acc = acc + a[i, k] * b[k, j]
            out[i, j] = acc
    return out


@numba.njit(cache=True)
def matx_mul(a, b):
    """cv::Mat(Matx33f) * Mat_<float> with k = 3 (PDM::CalcParams from a box): float accumulator from 0,
    k ascending, no FMA. a (3, 3), b (3, n) float32."""
    a = a.astype(np.float32)
    out = np.empty((a.shape[0], b.shape[1]), dtype=np.float32)
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = np.float32(0.0)
            for k in range(a.shape[1]):
                acc = acc + a[i, k] * b[k, j]
            out[i, j] = acc
    return out


@numba.njit(cache=True)
def project(shape3, sc, r, tx, ty):
    """PDM::CalcParams' `scaling * shape_3D.t() * R_2D.t()` (native cv::gemm: products summed in
    double, k ascending, times alpha = scaling in double, one rounding) + translation (float)."""
    n = shape3.shape[0] // 3
    out = np.empty(2 * n, dtype=np.float32)
    a = np.float64(sc)
    for i in range(n):
        x, y, z = np.float64(shape3[i]), np.float64(shape3[i + n]), np.float64(shape3[i + 2 * n])
        px = np.float32(((x * np.float64(r[0, 0]) + y * np.float64(r[0, 1])) + z * np.float64(r[0, 2])) * a)
        py = np.float32(((x * np.float64(r[1, 0]) + y * np.float64(r[1, 1])) + z * np.float64(r[1, 2])) * a)
        out[i] = px + tx
        out[i + n] = py + ty
    return out


@numba.njit(cache=True)
def cv_gemv_f32(a, x):
    """cv::gemm of a float (rows, k) matrix and a (k,) vector below OpenCV's BLAS threshold (100 rows):
    each output a double sum in k order, rounded once to float32."""
    rows, k = a.shape
    out = np.empty(rows, dtype=np.float32)
    for i in range(rows):
        acc = 0.0
        for j in range(k):
            acc += np.float64(a[i, j]) * np.float64(x[j])
        out[i] = np.float32(acc)
    return out


@numba.njit(cache=True)
def cv_sum_f32(v):
    """cv::sum of a continuous float32 array (flattened) as the reference's OpenCV 4.6 computes it on its
    AVX-512 machine (sum.simd.hpp, 16 float lanes): each 16-float step widened into two 8-lane double
    accumulators, the 8 lane sums (acc0 + acc1) added in lane order; then OpenCV's unrolled scalar tail,
    which adds four floats IN FLOAT before adding them to the double sum; then the last < 4 singly.
    (Utilities::AlignShapesWithScale's scale sqrt(sum(x²)/n) needs this: with an exact double sum 3 of
    the 214 recorded similarity transforms are one ulp off; with this all are bit-identical.)"""
    n = v.shape[0]
    l0 = np.zeros(8)
    l1 = np.zeros(8)
    x = 0
    while x + 16 <= n:
        for lane in range(8):
            l0[lane] += np.float64(v[x + lane])
            l1[lane] += np.float64(v[x + 8 + lane])
        x += 16
    s = 0.0
    for lane in range(8):
        s += l0[lane] + l1[lane]
    while x <= n - 4:
        s += np.float64(np.float32(np.float32(np.float32(v[x] + v[x + 1]) + v[x + 2]) + v[x + 3]))
        x += 4
    while x < n:
        s += np.float64(v[x])
        x += 1
    return s


@numba.njit(cache=True)
def l2_dist(a, b):
    """cv::norm(a - b) of float vectors: float differences, squares summed in double."""
    acc = 0.0
    for i in range(a.shape[0]):
        d = np.float64(np.float32(a[i] - b[i]))
        acc += d * d
    return math.sqrt(acc)
