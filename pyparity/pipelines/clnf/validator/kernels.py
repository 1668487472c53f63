"""Numba kernels for the CNN detection validator (validator.py): the data movement around its matrix
products (im2col, ReLU + 2x2 max pooling, the fully connected layer's input order) and the PAW's
sampling maps, the input normalisation. Pure copies, comparisons and the same float32/float64
element-wise operations the NumPy forms did (no fastmath: no FMA contraction, no reassociation; NumPy's
pairwise summation for np.mean), so every value is bit-identical to them (validator_numpy, tested in
tests/pipelines/clnf/validator/test_fast_paths.py); the products themselves stay NumPy's (OpenBLAS sgemm/sgemv on the
same shapes and layouts).

Maps are kept transposed, (K, w, h) (each map column-major, as the fully connected layer flattens
them and as im2col reads them).

API:
    im2col_t(stack_t, kh, kw, cols) -> cols (yB·xB, M·kh·kw + 1)  # convolution_direct_blas' feature order, 1 last
    relu_maps_t(out, yb, xb, relu) -> (K, xB, yB) float32         # gemm output (yB·xB, K) -> maps [ReLU]
    relu_pool_t(out, yb, xb, relu, res) -> res (K, ox, oy)        # ... then 2x2 max pooling
    pool_maps_t(stack_t, oy, ox) -> (K, ox, oy) float32           # max_pooling of maps
    relu_flat(v) -> (n,) float32                                  # np.maximum(v, 0)
    pairwise_sum(a_f64) -> float                                  # np.add.reduce's pairwise summation
    normalised_map_t(warped, mask_t, mean_image, std_image) -> (1, w, h) float32   # NormaliseWarpedToVector
    paw_coefficients(src, triangulation, alpha, beta) -> (t, 6) float32                 # PAW::CalcCoeff
    paw_maps(co, triangle_id, pixel_mask, min_x, min_y) -> (map_x, map_y) float32   # PAW::WarpRegion
"""

from __future__ import annotations

import numba
import numpy as np

_F32_LOWEST = np.float32(-np.finfo(np.float32).max)


@numba.njit(cache=True)
def im2col_t(stack_t, kh, kw, cols):
    """From maps stored transposed, stack_t[m, x, y] (each map column-major): row y·xB + x, feature
    m·kh·kw + xx·kh + yy is map m at (y + yy, x + xx); the last feature is 1 (the bias row of the
    weight matrix). `cols` (yB·xB, M·kh·kw + 1) float32 is filled and returned (allocated by the
    caller). The validators' kernel heights get their own copy of the loops, with a constant-length
    inner run that unrolls (about twice as fast)."""
    if kh == 3:
        return _im2col_t(stack_t, 3, kw, cols)
    if kh == 5:
        return _im2col_t(stack_t, 5, kw, cols)
    if kh == 7:
        return _im2col_t(stack_t, 7, kw, cols)
    if kh == 9:
        return _im2col_t(stack_t, 9, kw, cols)
    return _im2col_t(stack_t, kh, kw, cols)


@numba.njit(cache=True, inline="always")
def _im2col_t(stack_t, kh, kw, cols):
    n_maps, w, h = stack_t.shape
    yb, xb = h - kh + 1, w - kw + 1
    nk = n_maps * kh * kw
    for y in range(yb):
        for x in range(xb):
            row = cols[y * xb + x]
            c = 0
            for m in range(n_maps):
                for xx in range(kw):
                    src = stack_t[m, x + xx]
                    for yy in range(kh):
                        row[c + yy] = src[y + yy]
                    c += kh
            row[nk] = np.float32(1.0)
    return cols


@numba.njit(cache=True)
def _relu(v):
    # np.maximum(v, 0): v when v >= 0 (keeps -0.0) or NaN, else 0
    if v >= np.float32(0.0) or v != v:
        return v
    return np.float32(0.0)


@numba.njit(cache=True)
def _max(best, v):
    # a max reduction's step (NaN propagates)
    if v > best or v != v:
        return v
    return best


@numba.njit(cache=True)
def relu_maps_t(out, yb, xb, relu):
    """`out` (yB·xB, K): the convolution's product, map k at column k. Returns the K maps transposed,
    (K, xB, yB), after ReLU when `relu`."""
    nk = out.shape[1]
    res = np.empty((nk, xb, yb), dtype=np.float32)
    for y in range(yb):
        for x in range(xb):
            r = y * xb + x
            for k in range(nk):
                v = out[r, k]
                res[k, x, y] = _relu(v) if relu else v
    return res


@numba.njit(cache=True)
def relu_pool_t(out, yb, xb, relu, res):
    """`out` (yB·xB, K) as relu_maps_t, then the stride-2 2x2 max pooling (max_pooling) into the (K, ox, oy)
    transposed maps `res` (filled and returned). A window clipped at the border repeats its last
    row/column (max(v, v) = v: as the -FLT_MAX padding of the NumPy form); the window's values are
    taken in the same order, (y0, x0), (y0, x1), (y1, x0), (y1, x1), from -FLT_MAX."""
    nk, ox, oy = res.shape
    for i in range(oy):
        y0 = 2 * i
        y1 = y0 + 1 if y0 + 1 < yb else y0
        for j in range(ox):
            x0 = 2 * j
            x1 = x0 + 1 if x0 + 1 < xb else x0
            r00, r01 = y0 * xb + x0, y0 * xb + x1
            r10, r11 = y1 * xb + x0, y1 * xb + x1
            for k in range(nk):
                a, b, c, d = out[r00, k], out[r01, k], out[r10, k], out[r11, k]
                if relu:
                    a, b, c, d = _relu(a), _relu(b), _relu(c), _relu(d)
                res[k, j, i] = _max(_max(_max(_max(_F32_LOWEST, a), b), c), d)
    return res


@numba.njit(cache=True)
def pool_maps_t(stack_t, oy, ox):
    """max_pooling (stride 2, 2x2) of transposed maps (K, w, h) into (K, ox, oy)."""
    nk, w, h = stack_t.shape
    res = np.empty((nk, ox, oy), dtype=np.float32)
    for k in range(nk):
        for j in range(ox):
            for i in range(oy):
                best = _F32_LOWEST
                for dj in range(2):
                    x = 2 * j + dj
                    if x >= w:
                        continue
                    for di in range(2):
                        y = 2 * i + di
                        if y >= h:
                            continue
                        best = _max(best, stack_t[k, x, y])
                res[k, j, i] = best
    return res


@numba.njit(cache=True)
def relu_flat(v):
    res = np.empty_like(v)
    for i in range(v.shape[0]):
        res[i] = _relu(v[i])
    return res


@numba.njit(cache=True)
def paw_maps(co, triangle_id, pixel_mask, min_x, min_y):
    """PAW::WarpRegion as Paw.maps computes it: inside the mask, x = (a0 + a1·xi) + a2·yi and
    y = (a3 + a4·xi) + a5·yi in float32 with xi = x + min_x, yi = y + min_y; -1 outside."""
    h, w = pixel_mask.shape
    mx = np.empty((h, w), dtype=np.float32)
    my = np.empty((h, w), dtype=np.float32)
    for y in range(h):
        yi = np.float32(y) + min_y
        for x in range(w):
            if pixel_mask[y, x] != 0:
                xi = np.float32(x) + min_x
                t = triangle_id[y, x]
                mx[y, x] = (co[t, 0] + co[t, 1] * xi) + co[t, 2] * yi
                my[y, x] = (co[t, 3] + co[t, 4] * xi) + co[t, 5] * yi
            else:
                mx[y, x] = np.float32(-1.0)
                my[y, x] = np.float32(-1.0)
    return mx, my


@numba.njit(cache=True)
def paw_coefficients(src, triangulation, alpha, beta):
    """PAW::CalcCoeff as Paw.coefficients computes it: (t, 6) float32, the same float32 operations."""
    p = src.shape[0] // 2
    nt = triangulation.shape[0]
    co = np.empty((nt, 6), dtype=np.float32)
    for t in range(nt):
        i, j, k = triangulation[t, 0], triangulation[t, 1], triangulation[t, 2]
        c1 = src[i]
        c2 = src[j] - c1
        c3 = src[k] - c1
        c4 = src[i + p]
        c5 = src[j + p] - c4
        c6 = src[k + p] - c4
        co[t, 0] = (c1 + c2 * alpha[t, 0]) + c3 * beta[t, 0]
        co[t, 1] = c2 * alpha[t, 1] + c3 * beta[t, 1]
        co[t, 2] = c2 * alpha[t, 2] + c3 * beta[t, 2]
        co[t, 3] = (c4 + c5 * alpha[t, 0]) + c6 * beta[t, 0]
        co[t, 4] = c5 * alpha[t, 1] + c6 * beta[t, 1]
        co[t, 5] = c5 * alpha[t, 2] + c6 * beta[t, 2]
    return co


@numba.njit(cache=True)
def _pairwise_leaf(a, lo, n):
    # up to 128 values: a plain loop below 8, else 8 interleaved partial sums
    if n < 8:
        res = -0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    end = n - n % 8
    while i < end:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@numba.njit(cache=True)
def _pairwise_half(n):
    n2 = n // 2
    return n2 - n2 % 8


@numba.njit(cache=True)
def pairwise_sum(a):
    """NumPy's pairwise summation of the float64 vector `a` (numpy/_core/src/umath/loops_utils.h, as
    np.add.reduce runs it on a contiguous vector): leaves of at most 128 values, above that the sum of
    the two halves (the first a multiple of 8). Written with an explicit stack: numba's cache does not
    reload recursive functions safely."""
    n = a.shape[0]
    if n <= 128:
        return _pairwise_leaf(a, 0, n)
    f_lo = np.empty(64, dtype=np.int64)
    f_n = np.empty(64, dtype=np.int64)
    f_state = np.empty(64, dtype=np.int64)      # 1: left half being summed, 2: right half
    f_left = np.empty(64, dtype=np.float64)
    sp = 0
    f_lo[0], f_n[0], f_state[0] = 0, n, 0
    while True:
        if f_n[sp] > 128:                         # descend into the left half
            f_state[sp] = 1
            f_lo[sp + 1], f_n[sp + 1], f_state[sp + 1] = f_lo[sp], _pairwise_half(f_n[sp]), 0
            sp += 1
            continue
        ret = _pairwise_leaf(a, f_lo[sp], f_n[sp])
        while True:                               # hand the sum up
            if sp == 0:
                return ret
            sp -= 1
            if f_state[sp] == 1:                  # left half done: now the right half
                f_left[sp] = ret
                f_state[sp] = 2
                n2 = _pairwise_half(f_n[sp])
                f_lo[sp + 1], f_n[sp + 1], f_state[sp + 1] = f_lo[sp] + n2, f_n[sp] - n2, 0
                sp += 1
                break
            ret = f_left[sp] + ret                # both halves done


@numba.njit(cache=True)
def normalised_map_t(warped, mask_t, mean_image, std_image):
    """NormaliseWarpedToVector, then the vector put back on the mask, as the NumPy form does it: the
    masked pixels in column-major order; mean and mean square in float64 (np.mean: NumPy's pairwise
    sum, divided by the count); then in float32 v - mean, · float32(1/std) (std 0 -> 1), - mean_image,
    / std_image. Returns the (1, w, h) transposed map, 0 off the mask."""
    h, w = warped.shape
    n = mean_image.shape[0]
    vec = np.empty(n, dtype=np.float32)
    v64 = np.empty(n, dtype=np.float64)
    sq = np.empty(n, dtype=np.float64)
    k = 0
    for x in range(w):
        for y in range(h):
            if mask_t[x, y]:
                v = warped[y, x]
                if k == n:
                    raise ValueError("the PAW mask has more pixels than the validator's mean image")
                vec[k] = v
                d = np.float64(v)
                v64[k] = d
                sq[k] = d * d
                k += 1
    if k != n:
        raise ValueError("the PAW mask has fewer pixels than the validator's mean image")
    mean = pairwise_sum(v64) / k
    std = np.sqrt(pairwise_sum(sq) / k - mean * mean)
    if std == 0:
        std = 1.0
    m32 = np.float32(mean)
    s32 = np.float32(1.0 / std)
    res = np.zeros((1, w, h), dtype=np.float32)
    k = 0
    for x in range(w):
        for y in range(h):
            if mask_t[x, y]:
                res[0, x, y] = ((vec[k] - m32) * s32 - mean_image[k]) / std_image[k]
                k += 1
    return res
