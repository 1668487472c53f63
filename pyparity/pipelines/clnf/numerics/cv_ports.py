"""Numba ports of the OpenCV 4.x routines NU-RLMS calls per iteration, for the matrix sizes it uses.

This cv2 is built with LAPACK, but OpenCV's LAPACK HAL declines small matrices (SVD below 25 rows,
Cholesky below 100), so cv::SVDecomp of a 3x3 and cv::solve(DECOMP_CHOLESKY) of the (6+m)-square
Hessian run OpenCV's own code: JacobiSVDImpl_ and CholImpl (modules/core/src/lapack.cpp), and
cv::Rodrigues is modules/calib3d/src/calibration.cpp. The ports follow that code statement by
statement in the same precision (products of two floats rounded to float before a double sum, as
C++'s usual arithmetic conversions do); no fastmath, so nothing is contracted into an FMA (the
wheel's baseline is SSE3, which has none). tests/pipelines/clnf/numerics/test_cv_ports.py holds each port to cv2's bits
on random inputs of the shapes and ranges that occur.
"""

from __future__ import annotations

import math

import numba
import numpy as np

_FLT_EPS = np.float32(1.1920928955078125e-07)
_FLT_MIN = 1.1754943508222875e-38
_DBL_MIN = 2.2250738585072014e-308
_DBL_EPS = 2.220446049250313e-16


@numba.njit(cache=True)
def _hypot(a, b):
    """cv::hypot of lapack.cpp (not std::hypot), in double."""
    a = abs(a)
    b = abs(b)
    if a > b:
        b /= a
        return a * math.sqrt(1 + b * b)
    if b > 0:
        a /= b
        return b * math.sqrt(1 + a * a)
    return 0.0


@numba.njit(cache=True)
def _jacobi_svd(at, eps, minval):
    """JacobiSVDImpl_ with Vt, n1 = n, m = n = at.shape[0] (square): at holds the transposed input,
    rows become the left singular vectors; returns (w double-then-cast, vt) in at's dtype."""
    n = at.shape[0]
    m = at.shape[1]
    dt = at.dtype.type
    vt = np.zeros((n, n), dtype=at.dtype)
    W = np.empty(n, dtype=np.float64)
    for i in range(n):
        sd = 0.0
        for k in range(m):
            t = at[i, k]
            sd += np.float64(t) * np.float64(t)
        W[i] = sd
        vt[i, i] = 1
    max_iter = max(m, 30)
    for it in range(max_iter):
        changed = False
        for i in range(n - 1):
            for j in range(i + 1, n):
                a = W[i]
                b = W[j]
                p = 0.0
                for k in range(m):
                    p += np.float64(at[i, k]) * np.float64(at[j, k])
                if abs(p) <= np.float64(eps) * math.sqrt(a * b):
                    continue
                p *= 2
                beta = a - b
                gamma = _hypot(p, beta)
                if beta < 0:
                    delta = (gamma - beta) * 0.5
                    s = dt(math.sqrt(delta / gamma))
                    c = dt(p / (gamma * np.float64(s) * 2))
                else:
                    c = dt(math.sqrt((gamma + beta) / (gamma * 2)))
                    s = dt(p / (gamma * np.float64(c) * 2))
                a = 0.0
                b = 0.0
                for k in range(m):
                    x = at[i, k]
                    y = at[j, k]
                    t0 = c * x + s * y
                    t1 = -s * x + c * y
                    at[i, k] = t0
                    at[j, k] = t1
                    a += np.float64(t0) * np.float64(t0)
                    b += np.float64(t1) * np.float64(t1)
                W[i] = a
                W[j] = b
                changed = True
                for k in range(n):
                    x = vt[i, k]
                    y = vt[j, k]
                    vt[i, k] = c * x + s * y
                    vt[j, k] = -s * x + c * y
        if not changed:
            break
    for i in range(n):
        sd = 0.0
        for k in range(m):
            t = at[i, k]
            sd += np.float64(t) * np.float64(t)
        W[i] = math.sqrt(sd)
    for i in range(n - 1):
        j = i
        for k in range(i + 1, n):
            if W[j] < W[k]:
                j = k
        if i != j:
            tmp = W[i]
            W[i] = W[j]
            W[j] = tmp
            for k in range(m):
                tmp2 = at[i, k]
                at[i, k] = at[j, k]
                at[j, k] = tmp2
            for k in range(n):
                tmp2 = vt[i, k]
                vt[i, k] = vt[j, k]
                vt[j, k] = tmp2
    w = np.empty(n, dtype=at.dtype)
    for i in range(n):
        w[i] = dt(W[i])
    for i in range(n):
        sd = W[i]
        if not (sd > minval):
            # a zero singular value: OpenCV draws a random vector here; never the case for the
            # near-rotations this is used on (the callers fall back to cv2)
            return w, vt, False
        s = dt(1 / sd)
        for k in range(m):
            at[i, k] = at[i, k] * s
    return w, vt, True


@numba.njit(cache=True)
def svd3_f32(a):
    """cv::SVDecomp of a 3x3 float32 (SVD::compute: JacobiSVD on the transpose) -> (w, u, vt, ok);
    ok False where OpenCV would take its random-vector branch (then call cv2)."""
    at = np.ascontiguousarray(a.T).astype(np.float32)
    w, vt, ok = _jacobi_svd(at, np.float32(_FLT_EPS * np.float32(2)), _FLT_MIN)
    return w, np.ascontiguousarray(at.T), vt, ok


@numba.njit(cache=True)
def svd3_f64(a):
    """SVD::compute of a 3x3 double -> (w, u, vt, ok) as svd3_f32."""
    at = np.ascontiguousarray(a.T).astype(np.float64)
    w, vt, ok = _jacobi_svd(at, _DBL_EPS * 10, _DBL_MIN)
    return w, np.ascontiguousarray(at.T), vt, ok


@numba.njit(cache=True)
def _chol_diag(L, i, eps):
    """CholImpl's diagonal step of row i: False where the factorisation fails."""
    s = np.float64(L[i, i])
    for k in range(i):
        t = np.float64(L[i, k])
        s -= t * t
    if s < eps:
        return False
    L[i, i] = np.float32(1. / math.sqrt(s))
    return True


@numba.njit(cache=True)
def cholesky_solve_f32(H, b):
    """cv::solve(H, b, DECOMP_CHOLESKY) for float32 H (k x k, k > 3) and b (k,): CholImpl on a copy
    of H (its lower triangle), b solved in place. Returns (x, ok); ok False where CholImpl fails
    (cv::solve then returns false and leaves an unspecified dst: callers fall back to cv2)."""
    m = H.shape[0]
    L = H.copy()
    x = b.copy()
    eps = np.float64(_FLT_EPS)
    # CholImpl's rows, two at a time: row i + 1 needs row i only from column i on, so up to there the
    # two rows' chains (each element's own operations, in CholImpl's order) run side by side
    i = 0
    while i < m:
        if i + 1 < m:
            for j in range(i):
                s0 = np.float64(L[i, j])
                s1 = np.float64(L[i + 1, j])
                for k in range(j):
                    ljk = L[j, k]
                    s0 -= np.float64(L[i, k] * ljk)
                    s1 -= np.float64(L[i + 1, k] * ljk)
                ljj = np.float64(L[j, j])
                L[i, j] = np.float32(s0 * ljj)
                L[i + 1, j] = np.float32(s1 * ljj)
            if not _chol_diag(L, i, eps):
                return x, False
            s1 = np.float64(L[i + 1, i])
            for k in range(i):
                s1 -= np.float64(L[i + 1, k] * L[i, k])
            L[i + 1, i] = np.float32(s1 * np.float64(L[i, i]))
            if not _chol_diag(L, i + 1, eps):
                return x, False
            i += 2
        else:
            for j in range(i):
                s0 = np.float64(L[i, j])
                for k in range(j):
                    s0 -= np.float64(L[i, k] * L[j, k])
                L[i, j] = np.float32(s0 * np.float64(L[j, j]))
            if not _chol_diag(L, i, eps):
                return x, False
            i += 1
    for i in range(m):
        s = np.float64(x[i])
        for k in range(i):
            s -= np.float64(L[i, k] * x[k])
        x[i] = np.float32(s * np.float64(L[i, i]))
    for i in range(m - 1, -1, -1):
        s = np.float64(x[i])
        for k in range(m - 1, i, -1):
            s -= np.float64(L[k, i] * x[k])
        x[i] = np.float32(s * np.float64(L[i, i]))
    return x, True


@numba.njit(cache=True)
def rodrigues_m2v_f32(rf):
    """cv::Rodrigues of a 3x3 float32 rotation matrix -> (axis-angle (3,) float32, ok); ok False
    where OpenCV's SVD would take its random branch."""
    R = np.empty((3, 3), dtype=np.float64)
    for i in range(3):
        for j in range(3):
            R[i, j] = np.float64(rf[i, j])
    out = np.zeros(3, dtype=np.float32)
    for i in range(3):
        for j in range(3):
            v = R[i, j]
            if not (v >= -100.0 and v < 100.0):   # checkRange(R, true, NULL, -100, 100)
                return out, True
    _w, U, Vt, ok = svd3_f64(R)
    if not ok:
        return out, False
    for i in range(3):
        for j in range(3):
            acc = 0.0
            for k in range(3):
                acc += U[i, k] * Vt[k, j]
            R[i, j] = acc
    rx = R[2, 1] - R[1, 2]
    ry = R[0, 2] - R[2, 0]
    rz = R[1, 0] - R[0, 1]
    s = math.sqrt((rx * rx + ry * ry + rz * rz) * 0.25)
    c = (R[0, 0] + R[1, 1] + R[2, 2] - 1) * 0.5
    c = 1. if c > 1. else (-1. if c < -1. else c)
    theta = math.acos(c)
    if s < 1e-5:
        if c > 0:
            rx = 0.0
            ry = 0.0
            rz = 0.0
        else:
            t = (R[0, 0] + 1) * 0.5
            rx = math.sqrt(max(t, 0.))
            t = (R[1, 1] + 1) * 0.5
            ry = math.sqrt(max(t, 0.)) * (-1. if R[0, 1] < 0 else 1.)
            t = (R[2, 2] + 1) * 0.5
            rz = math.sqrt(max(t, 0.)) * (-1. if R[0, 2] < 0 else 1.)
            if abs(rx) < abs(ry) and abs(rx) < abs(rz) and (R[1, 2] > 0) != (ry * rz > 0):
                rz = -rz
            theta /= math.sqrt(rx * rx + ry * ry + rz * rz)
            rx *= theta
            ry *= theta
            rz *= theta
    else:
        vth = 1 / (2 * s)
        vth *= theta
        rx *= vth
        ry *= vth
        rz *= vth
    out[0] = np.float32(rx)
    out[1] = np.float32(ry)
    out[2] = np.float32(rz)
    return out, True


@numba.njit(cache=True)
def rodrigues_v2m_f32(v):
    """cv::Rodrigues of a float32 axis-angle (3,) -> 3x3 float32 rotation matrix."""
    rx = np.float64(v[0])
    ry = np.float64(v[1])
    rz = np.float64(v[2])
    theta = math.sqrt(rx * rx + ry * ry + rz * rz)
    out = np.zeros((3, 3), dtype=np.float32)
    if theta < _DBL_EPS:
        for i in range(3):
            out[i, i] = 1
        return out
    c = math.cos(theta)
    s = math.sin(theta)
    c1 = 1. - c
    itheta = 1. / theta if theta else 0.
    rx *= itheta
    ry *= itheta
    rz *= itheta
    rrt = (rx * rx, rx * ry, rx * rz, rx * ry, ry * ry, ry * rz, rx * rz, ry * rz, rz * rz)
    r_x = (0.0, -rz, ry, rz, 0.0, -rx, -ry, rx, 0.0)
    eye = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
    for i in range(9):
        out[i // 3, i % 3] = np.float32((c * eye[i] + c1 * rrt[i]) + s * r_x[i])
    return out
