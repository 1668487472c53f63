"""The compiled arithmetic of CEN patch experts (CEN_patch_expert.cpp): im2col with the sparse
contrast normalisation, each layer's float32 sgemm and activation, the interpolation to the full grid,
and one kernel that runs every landmark of a scale (`cen.cen_scale_responses` drives it)."""

from __future__ import annotations

import numba
import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.numerics.f32kernels import expf_neg_into, n_block_split, sgemm_row, sgemm_rows2


# ---------------------------------------------------------------------------------------------
# Kernels (numba). Layouts: an im2col is (K, P) float32 -- feature k (0 = the bias column of ones,
# then 1 + xx·height + yy) by window position p -- i.e. the transposed matrix that C++ feeds to
# sgemm. Window positions are enumerated x-major (k = x·yB + y) as the C++ loops do.
# ---------------------------------------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _im2col_sparse_body(aoi, h, w, H, W, flip, col, p0):
    """im2colBiasSparseContrastNorm of aoi (flipped horizontally first if `flip`, as cv::flip(.., 1))
    into col[:, p0:p0 + (yB·xB - 1)/2]: every position with even x-major index is skipped; per kept
    window: float sum in yy-outer/xx-inner order, mean = sum / (w·h) (float division), centred values
    and their float square sum in column order, then times (float)(1.0 / sqrtf(sum_sq)) (norm 0 -> 1).

    Each window's sums keep that order; the loops run over all kept windows at once. Layout: with
    sh[yy, j·yB + i] = a[i + yy, j], the value of feature (xx, yy) in the window of x-major index k is
    sh[yy, xx·yB + k]; the kept k = 2r + 1 are every other entry, so sh is stored de-interleaved
    (even / odd entries), which makes every feature's values over the kept windows one contiguous
    run (padded with zeros to a multiple of 16 for the sum passes; the padded lanes are discarded)."""
    yB = H - h + 1
    xB = W - w + 1
    ns = (yB * xB - 1) // 2
    nsp = (ns + 15) // 16 * 16
    npix = np.float32(w * h)
    nq = W * yB
    half = nq // 2 + 1 + nsp
    # sx[2·yy] = sh[yy, even entries], sx[2·yy + 1] = sh[yy, odd entries], flattened
    sx = np.zeros(2 * h * half, dtype=np.float32)
    at = np.empty((W, H), dtype=np.float32)        # a transposed: at[j] = column j of the (flipped) patch
    for y in range(H):
        for j in range(W):
            at[W - 1 - j if flip else j, y] = aoi[y, j]
    row = np.empty(nq + 1, dtype=np.float32)
    for yy in range(h):
        for j in range(W):
            for i in range(yB):
                row[j * yB + i] = at[j, i + yy]
        row[nq] = np.float32(0.0)
        e0 = 2 * yy * half
        e1 = e0 + half
        for m in range((nq + 1) // 2):
            sx[e0 + m] = row[2 * m]
            sx[e1 + m] = row[2 * m + 1]
    # feature (xx, yy) over the kept windows: sx[(2·yy + (b & 1))·half + (b >> 1) + r], b = xx·yB + 1.
    # Each loop over the windows takes a row (or column block) of features at once: with the sizes
    # constant the feature loop unrolls and the window loop vectorises; the per-window order of the
    # adds is the one above
    s = np.zeros(nsp, dtype=np.float32)
    ss = np.zeros(nsp, dtype=np.float32)
    for yy in range(h):
        for r in range(nsp):
            a = s[r]
            for xx in range(w):
                b = xx * yB + 1
                a = a + sx[(2 * yy + (b & 1)) * half + (b >> 1) + r]
            s[r] = a
    for r in range(nsp):
        s[r] = s[r] / npix
    for xx in range(w):
        b = xx * yB + 1
        for r in range(nsp):
            a = ss[r]
            mu = s[r]
            for yy in range(h):
                d = sx[(2 * yy + (b & 1)) * half + (b >> 1) + r] - mu
                a = a + d * d
            ss[r] = a
    for r in range(ns):
        norm = np.float32(np.sqrt(ss[r]))
        if norm == 0:
            norm = np.float32(1.0)
        ss[r] = np.float32(1.0 / np.float64(norm))
    for xx in range(w):
        b = xx * yB + 1
        for yy in range(h):
            o = (2 * yy + (b & 1)) * half + (b >> 1)
            v = sx[o:o + ns]
            cx = col[1 + xx * h + yy, p0:p0 + ns]
            for r in range(ns):
                cx[r] = (v[r] - s[r]) * ss[r]
    col[0, p0:p0 + ns] = np.float32(1.0)


@numba.njit(cache=True)
def im2col_sparse_cn(aoi, h, w, flip, col, p0):
    """_im2col_sparse_body; for 11x11 experts and the odd window sizes 3..11 compiled with the sizes
    as constants (constant trip counts: no loop set-up or remainder code; same arithmetic)."""
    H, W = aoi.shape
    if h == 11 and w == 11 and H == W:
        if H == 21:
            return _im2col_sparse_body(aoi, 11, 11, 21, 21, flip, col, p0)
        if H == 19:
            return _im2col_sparse_body(aoi, 11, 11, 19, 19, flip, col, p0)
        if H == 17:
            return _im2col_sparse_body(aoi, 11, 11, 17, 17, flip, col, p0)
        if H == 15:
            return _im2col_sparse_body(aoi, 11, 11, 15, 15, flip, col, p0)
        if H == 13:
            return _im2col_sparse_body(aoi, 11, 11, 13, 13, flip, col, p0)
    _im2col_sparse_body(aoi, h, w, H, W, flip, col, p0)


@numba.njit(cache=True)
def im2col_dense_cn(aoi, h, w, col):
    """im2colBias followed by contrastNorm (the dense CEN_patch_expert::Response): every position;
    the mean is cv::mean (double sum, times 1/n, cast to float), the norm sqrtf of the float square
    sum, and the centred values are divided by it."""
    H, W = aoi.shape
    yB = H - h + 1
    xB = W - w + 1
    K = w * h + 1
    for j in range(xB):
        for i in range(yB):
            r = i + j * yB
            col[0, r] = np.float32(1.0)
            for yy in range(h):
                for xx in range(w):
                    col[1 + xx * h + yy, r] = aoi[i + yy, j + xx]
            sd = 0.0
            for x in range(1, K):
                sd += np.float64(col[x, r])
            mean = np.float32(sd * (1.0 / (K - 1)))
            ss = np.float32(0.0)
            for x in range(1, K):
                v = col[x, r] - mean
                ss = ss + v * v
            norm = np.float32(np.sqrt(ss))
            if norm == 0:
                norm = np.float32(1.0)
            for x in range(1, K):
                col[x, r] = (col[x, r] - mean) / norm


@numba.njit(cache=True)
def dense_layer(w, b, act, x, out, acc, fused, dense_sigmoid):
    """One layer on x (K, P) -> out (U, P): the OpenBLAS sgemm `out = w · x` (one call, m = P,
    n = U, k = K), then `+ b[u]` in float, then the activation. acc: (P,) float32 scratch.
    Neighbouring units with the same blocking go through the product in pairs (sgemm_rows2: each output's
    FMA chain unchanged); the expf values of a unit are computed in one vectorised pass."""
    U = w.shape[0]
    K, P = x.shape
    acc_b = np.empty(P, dtype=np.float32)
    u = 0
    while u < U:
        split = n_block_split(u, U)
        if u + 1 < U and n_block_split(u + 1, U) == split:
            sgemm_rows2(w[u], w[u + 1], x, out[u], out[u + 1], split, acc, acc_b, fused)
            nu = 2
        else:
            sgemm_row(w[u], x, out[u], split, acc, fused)
            nu = 1
        for v in range(u, u + nu):
            bu = b[v]
            for p in range(P):
                out[v, p] = out[v, p] + bu
        u += nu
    if act == 0:
        for u in range(U):
            o = out[u]
            expf_neg_into(o, acc, P)
            if dense_sigmoid:
                # Response: `1.0 / (1.0 + exp(-in))` in double, stored as float
                for p in range(P):
                    o[p] = np.float32(1.0 / (1.0 + np.float64(acc[p])))
            else:
                # ResponseInternal: `1.0f / (1.0f + exp(-in))` in float
                for p in range(P):
                    o[p] = np.float32(1.0) / (np.float32(1.0) + acc[p])
    elif act == 2:
        # cv::threshold(THRESH_TOZERO, 0): src > 0 ? src : 0
        for u in range(U):
            for p in range(P):
                if not out[u, p] > 0:
                    out[u, p] = np.float32(0.0)


@numba.njit(cache=True)
def interp_to_grid(sparse, p0, nb, nbw, ws, flip, out):
    """`sparse(1 x n) · interp_matrix` as OpenCV's float gemm (float products summed in double, in
    row order, rounded to float), reshaped column-major to (ws, ws) (out[y, x] = full[x·ws + y]) and
    flipped horizontally if `flip`. nb/nbw: the matrix's non-zeros per column (`_interp_sparse`)."""
    for x in range(ws):
        xo = ws - 1 - x if flip else x
        for y in range(ws):
            c = x * ws + y
            s = 0.0
            for t in range(nb.shape[1]):
                r = nb[c, t]
                if r >= 0:
                    s += np.float64(sparse[p0 + r]) * np.float64(nbw[c, t])
            out[y, xo] = np.float32(s)


@numba.njit(cache=True)
def scale_kernel(aois, aoi_index, call_left, call_right, call_expert, ws, h, w, nb, nbw,
                  w0, b0, a0, w1, b1, a1, w2, b2, a2, w3, b3, a3, n_layers, fused, out):
    """All calls of one (scale, view, window size) whose experts share one architecture (<= 4 layers;
    unused layer slots are 1x1 dummies). Call c: left landmark call_left[c] (or -1), right landmark
    call_right[c] (or -1), expert call_expert[c] (index into the stacked weights). The left map goes
    to out[left], the right one (computed on the flipped patch, flipped back) to out[right]."""
    C = call_left.shape[0]
    ns = (ws * ws - 1) // 2
    K0 = w * h + 1
    for c in range(C):
        left = call_left[c]
        right = call_right[c]
        P = ns * ((left >= 0) + (right >= 0))
        x = np.empty((K0, P), dtype=np.float32)
        p0 = 0
        if left >= 0:
            im2col_sparse_cn(aois[aoi_index[left]], h, w, False, x, 0)
            p0 = ns
        if right >= 0:
            im2col_sparse_cn(aois[aoi_index[right]], h, w, True, x, p0)
        e = call_expert[c]
        acc = np.empty(P, dtype=np.float32)
        for li in range(n_layers):
            if li == 0:
                wl, bl, al = w0[e], b0[e], a0[e]
            elif li == 1:
                wl, bl, al = w1[e], b1[e], a1[e]
            elif li == 2:
                wl, bl, al = w2[e], b2[e], a2[e]
            else:
                wl, bl, al = w3[e], b3[e], a3[e]
            o = np.empty((wl.shape[0], P), dtype=np.float32)
            dense_layer(wl, bl, al, x, o, acc, fused, False)
            x = o
        if left >= 0:
            interp_to_grid(x[0], 0, nb, nbw, ws, False, out[left])
        if right >= 0:
            interp_to_grid(x[0], ns if left >= 0 else 0, nb, nbw, ws, True, out[right])


def interpolation_matrix(window_size: int) -> np.ndarray:
    """LandmarkDetector::interpolationMatrix for a ws x ws response: ((ws²-1)/2, ws²) float32. Row =
    sparse position (the odd x-major indices k = x·ws + y), column = full position x·ws + y: a kept
    position copies its value, a skipped one averages its existing 4-neighbours (weight
    (float)(1.0/num_neigh))."""
    ws = int(window_size)
    if ws < 3 or ws % 2 == 0:
        # (ws² - 1)/2 sparse rows: C++ overruns its im2col for even sizes and has no kept position at 1
        raise InputError(f"CEN sparse responses need an odd window size >= 3, got {ws}")
    m = np.zeros(((ws * ws - 1) // 2, ws * ws), dtype=np.float32)
    flat = np.full(ws * ws, -1, dtype=np.int64)
    flat[1::2] = np.arange((ws * ws) // 2)
    vid = flat.reshape(ws, ws).T                       # vid[y, x]: sparse row of position x·ws + y
    for x in range(ws):
        for y in range(ws):
            col = x * ws + y
            if col % 2 == 1:
                m[vid[y, x], col] = 1.0
                continue
            nb = [vid[y, x - 1]] if x - 1 >= 0 else []
            nb += [vid[y - 1, x]] if y - 1 >= 0 else []
            nb += [vid[y, x + 1]] if x + 1 < ws else []
            nb += [vid[y + 1, x]] if y + 1 < ws else []
            for r in nb:
                m[r, col] = np.float32(1.0 / len(nb))
    return m


_INTERPOLATION_TABLES: dict = {}


def interpolation_tables(ws: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(interpolation_matrix(ws), nb, nbw): nb (ws², 4) int64 the rows of each column's non-zeros in
    ascending order (-1 padded), nbw (ws², 4) float32 their values."""
    r = _INTERPOLATION_TABLES.get(ws)
    if r is None:
        m = interpolation_matrix(ws)
        nb = np.full((ws * ws, 4), -1, dtype=np.int64)
        nbw = np.zeros((ws * ws, 4), dtype=np.float32)
        for c in range(ws * ws):
            rows = np.nonzero(m[:, c])[0]
            nb[c, :len(rows)] = rows
            nbw[c, :len(rows)] = m[rows, c]
        r = _INTERPOLATION_TABLES[ws] = (m, nb, nbw)
    return r
