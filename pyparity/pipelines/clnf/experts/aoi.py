"""Areas of interest of Patch_experts::Response: the float32 image warped into the reference frame
around each landmark, shared by the CCNF and CEN experts.

    areas_of_interest(gray_f32, landmarks_stacked, sim_ref_to_img, landmarks, aoi_size, use_cv2=False)
        -> (L, aoi_size, aoi_size) float32
    warp_areas(src, lm, n, idx, a1, b1, size, out)     # the compiled loop behind it (numba; src C-contiguous)
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numba
import numpy as np


@numba.njit(cache=True)
def _bilinear_tables():
    """OpenCV's bilinear weights w0..w3 for every 1/32 offset pair, (4, 32·32) float32 indexed
    fy·32 + fx: w0 = (1-fy)·(1-fx), w1 = (1-fy)·fx, w2 = fy·(1-fx), w3 = fy·fx in float32."""
    t = np.empty((4, 1024), dtype=np.float32)
    for iy in range(32):
        for ix in range(32):
            fx = np.float32(ix) * np.float32(1.0 / 32.0)
            fy = np.float32(iy) * np.float32(1.0 / 32.0)
            j = iy * 32 + ix
            t[0, j] = np.float32(np.float32(1.0) - fy) * np.float32(np.float32(1.0) - fx)
            t[1, j] = np.float32(np.float32(1.0) - fy) * fx
            t[2, j] = fy * np.float32(np.float32(1.0) - fx)
            t[3, j] = fy * fx
    return t


@numba.njit(cache=True)
def _warp_one(src, m, size, adelta, bdelta, wt, out):
    """cv::warpAffine(src, out, m, (size, size), WARP_INVERSE_MAP | INTER_LINEAR), constant 0 border,
    float32 single channel, as OpenCV 4.x computes it: destination->source coordinates in fixed point
    (AB_BITS = 10, rounded to 1/32 pixel), bilinear weights from the 1/32 table, float32 sum
    v00·w0 + v01·w1 + v10·w2 + v11·w3 with out-of-image neighbours read as 0.
    m: (6,) float64 (the float32 2x3 matrix C++ passes, widened). The per-column terms
    rint(m0·x·1024), rint(m3·x·1024) come precomputed (adelta, bdelta: OpenCV computes them once per
    call too). Where every sample of the
    window lies inside the image with its right and lower neighbours (checked at the four corners:
    the fixed-point source coordinates are monotonic in x and in y), the border tests are dropped and
    the pixels are read through flat offsets (a branch-free loop that LLVM vectorises with gathers);
    elsewhere the weights come from `wt` (_bilinear_tables). Same float32 expressions, same bits."""
    sh, sw = src.shape
    sf = src.reshape(-1)
    usw = np.uint64(sw)
    usw1 = np.uint64(sw + 1)
    x0a = np.int64(np.rint((m[1] * 0 + m[2]) * 1024.0)) + 16
    y0a = np.int64(np.rint((m[4] * 0 + m[5]) * 1024.0)) + 16
    x0b = np.int64(np.rint((m[1] * (size - 1) + m[2]) * 1024.0)) + 16
    y0b = np.int64(np.rint((m[4] * (size - 1) + m[5]) * 1024.0)) + 16
    inside = True
    for (xr, yr) in ((x0a, y0a), (x0b, y0b)):
        for xi in (0, size - 1):
            sx = ((xr + adelta[xi]) >> 5) >> 5
            sy = ((yr + bdelta[xi]) >> 5) >> 5
            if sx < 0 or sx + 1 >= sw or sy < 0 or sy + 1 >= sh:
                inside = False
    for y in range(size):
        x0 = np.int64(np.rint((m[1] * y + m[2]) * 1024.0)) + 16
        y0 = np.int64(np.rint((m[4] * y + m[5]) * 1024.0)) + 16
        o = out[y]
        if inside:
            for x in range(size):
                X = (x0 + adelta[x]) >> 5
                Y = (y0 + bdelta[x]) >> 5
                b = np.uint64((Y >> 5) * sw + (X >> 5))
                fx = np.float32(X & 31) * np.float32(1.0 / 32.0)
                fy = np.float32(Y & 31) * np.float32(1.0 / 32.0)
                gx = np.float32(1.0) - fx
                gy = np.float32(1.0) - fy
                o[x] = ((sf[b] * (gy * gx) + sf[b + np.uint64(1)] * (gy * fx)) + sf[b + usw] * (fy * gx)) \
                    + sf[b + usw1] * (fy * fx)
            continue
        for x in range(size):
            X = (x0 + adelta[x]) >> 5
            Y = (y0 + bdelta[x]) >> 5
            sx = X >> 5
            sy = Y >> 5
            j = (Y & 31) * 32 + (X & 31)
            if sx >= sw or sx + 1 < 0 or sy >= sh or sy + 1 < 0:
                o[x] = np.float32(0.0)
                continue
            v0 = src[sy, sx] if (0 <= sx < sw and 0 <= sy < sh) else np.float32(0.0)
            v1 = src[sy, sx + 1] if (0 <= sx + 1 < sw and 0 <= sy < sh) else np.float32(0.0)
            v2 = src[sy + 1, sx] if (0 <= sx < sw and 0 <= sy + 1 < sh) else np.float32(0.0)
            v3 = src[sy + 1, sx + 1] if (0 <= sx + 1 < sw and 0 <= sy + 1 < sh) else np.float32(0.0)
            o[x] = ((v0 * wt[0, j] + v1 * wt[1, j]) + v2 * wt[2, j]) + v3 * wt[3, j]


@numba.njit(cache=True)
def warp_areas(src, lm, n, idx, a1, b1, size, out):
    """The areas of interest of Patch_experts::Response for landmarks idx (see areas_of_interest);
    lm the stacked landmarks (2n,) float32, a1/b1 from sim_ref_to_img, out (len(idx), size, size) float32.
    Each window is one cv::warpAffine (_warp_one, with the per-column terms shared between the
    landmarks: the matrix differs only in its translation)."""
    half = np.float32(size - 1.0)
    ta = np.float32(a1 * half) / np.float32(2.0)
    tb = np.float32(b1 * half) / np.float32(2.0)
    m = np.empty(6, dtype=np.float64)
    m[0] = a1
    m[1] = -b1
    m[3] = b1
    m[4] = a1
    adelta = np.empty(size, dtype=np.int64)
    bdelta = np.empty(size, dtype=np.int64)
    for x in range(size):
        adelta[x] = np.int64(np.rint(m[0] * x * 1024.0))
        bdelta[x] = np.int64(np.rint(m[3] * x * 1024.0))
    wt = _bilinear_tables()
    for j in range(idx.shape[0]):
        i = idx[j]
        m[2] = np.float32(np.float32(lm[i] - ta) + tb)
        m[5] = np.float32(np.float32(lm[i + n] - ta) - tb)
        _warp_one(src, m, size, adelta, bdelta, wt, out[j])


def areas_of_interest(gray_f32: np.ndarray, landmarks_stacked: np.ndarray, sim_ref_to_img: np.ndarray,
                      landmarks: Sequence[int], aoi_size: int, use_cv2: bool = False) -> np.ndarray:
    """(L, aoi, aoi) float32: cv::warpAffine(gray, sim, WARP_INVERSE_MAP + INTER_LINEAR, border 0) around
    each landmark with Patch_experts::Response's float32 matrix
    [[a1, -b1, x - a1·(W-1)/2 + b1·(W-1)/2], [b1, a1, y - a1·(W-1)/2 - b1·(W-1)/2]],
    a1 = sim_ref_to_img[0,0], b1 = -sim_ref_to_img[0,1]. By default the compiled copy of OpenCV 4.x's
    warp (`warp_areas`, bit-identical, tested); use_cv2 calls OpenCV."""
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    n = lm.shape[0] // 2
    a1 = np.float32(sim_ref_to_img[0, 0])
    b1 = np.float32(-sim_ref_to_img[0, 1])
    out = np.empty((len(landmarks), aoi_size, aoi_size), dtype=np.float32)
    g = np.ascontiguousarray(gray_f32, dtype=np.float32)
    if not use_cv2:
        warp_areas(g, lm, n, np.asarray(landmarks, dtype=np.int64), a1, b1, aoi_size, out)
        return out
    half = np.float32(aoi_size - 1.0)
    # float32 as the C++ expression x - a1*(W-1)/2 + b1*(W-1)/2, left to right
    ta = np.float32(a1 * half) / np.float32(2.0)
    tb = np.float32(b1 * half) / np.float32(2.0)
    for j, i in enumerate(landmarks):
        tx = np.float32(np.float32(lm[i] - ta) + tb)
        ty = np.float32(np.float32(lm[i + n] - ta) - tb)
        m = np.array([[a1, -b1, tx], [b1, a1, ty]], dtype=np.float32).astype(np.float64)
        cv2.warpAffine(g, m, (aoi_size, aoi_size), dst=out[j], flags=cv2.WARP_INVERSE_MAP + cv2.INTER_LINEAR)
    return out
