"""MultiScaleRoIAlign as torchvision computes it on CPU (roi_align_kernel.cpp, aligned=False).

Float32 arithmetic in the kernel's order: sample positions
``y = (start + ph * bin) + ((iy + 0.5) * bin) / grid``, a sample outside ``[-1, H] x [-1, W]``
contributes 0, bilinear ``((w1*v1 + w2*v2) + w3*v3) + w4*v4``, samples summed in (iy, ix) order,
divided by the sample count. Boxes xyxy in the resized image frame.
"""

from __future__ import annotations

import math

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - numba is a core dependency; keep the NumPy path working
    numba = None

from pyparity.trace import NULL_RECORDER, StageRecorder

_F32 = np.float32


def infer_scales(feat_hw: list[tuple[int, int]], image_hw: tuple[int, int]) -> list[float]:
    """``2 ** round(log2(feature_h / image_h))`` per level (torchvision _infer_scale uses the height)."""
    out = []
    for fh, _fw in feat_hw:
        approx = float(fh) / float(image_hw[0])
        out.append(2.0 ** float(np.round(np.log2(_F32(approx)))))
    return out


def level_mapper(boxes: np.ndarray, k_min: int, k_max: int, canonical_scale: int = 224, canonical_level: int = 4,
                 eps: float = 1e-6) -> np.ndarray:
    """torchvision LevelMapper: ``floor(4 + log2(sqrt(area) / 224) + 1e-6)`` clamped, minus k_min (int64)."""
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    s = np.sqrt(area.astype(_F32))
    t = np.floor(_F32(canonical_level) + np.log2(s / _F32(canonical_scale)) + _F32(eps))
    t = np.clip(t, _F32(k_min), _F32(k_max))
    return t.astype(np.int64) - k_min


def _axis(start, bin_size, pooled, grid, size):
    """Sample coordinates along one axis for K boxes -> (low, high, l, h, outside), each (K, pooled*grid).

    ``start``, ``bin_size``: (K,) float32. The kernel's float32 expression, in its order.
    """
    ph = np.repeat(np.arange(pooled), grid).astype(_F32)
    it = np.tile(np.arange(grid), pooled).astype(_F32) + _F32(0.5)
    c = (start[:, None] + ph[None, :] * bin_size[:, None]) + (it[None, :] * bin_size[:, None]) / _F32(grid)
    c = c.astype(_F32)
    outside = (c.astype(np.float64) < -1.0) | (c.astype(np.float64) > size)
    c = np.where(c <= 0, _F32(0), c).astype(_F32)
    low = c.astype(np.int64)  # (int) truncation, c >= 0 here
    at_end = low >= size - 1
    low = np.where(at_end, size - 1, low)
    high = np.where(at_end, size - 1, low + 1)
    c = np.where(at_end, low.astype(_F32), c)
    lc = (c - low.astype(_F32)).astype(_F32)
    hc = (_F32(1) - lc).astype(_F32)
    return low, high, lc, hc, outside


def roi_align(feat: np.ndarray, boxes: np.ndarray, spatial_scale: float, output_size: int = 7,
              sampling_ratio: int = 2, out: np.ndarray | None = None, rows: np.ndarray | None = None) -> np.ndarray:
    """feat (C, H, W) float32, boxes (K, 4) xyxy -> (K, C, out, out) float32 (aligned=False).

    Sample coordinates vectorised in NumPy (`_axis`), the gather/accumulate loop compiled with numba
    (`_gather_kernel`; `_roi_align_grid_numpy` without numba); the map is read as (H, W, C) so each sample gathers C
    contiguous floats. An out-of-range sample reads position 0 with weight 0, as the kernel.
    ``out``/``rows``: write box k's result into ``out[rows[k]]`` (no intermediate copy; used by
    `multiscale_roi_align`).
    """
    C, H, W = feat.shape
    K = len(boxes)
    if out is None:
        out = np.zeros((K, C, output_size, output_size), dtype=_F32)
        rows = np.arange(K, dtype=np.int64)
    if K == 0:
        return out
    hwc = np.ascontiguousarray(feat.transpose(1, 2, 0)).reshape(H * W, C)
    b = boxes.astype(_F32) * _F32(spatial_scale)
    rw = np.maximum(b[:, 2] - b[:, 0], _F32(1))
    rh = np.maximum(b[:, 3] - b[:, 1], _F32(1))
    bw = (rw / _F32(output_size)).astype(_F32)
    bh = (rh / _F32(output_size)).astype(_F32)
    if sampling_ratio <= 0:  # adaptive grid: per box (not used by img2pose)
        for k in range(K):
            _roi_align_grid(hwc, H, W, C, b[k:k + 1], bw[k:k + 1], bh[k:k + 1], output_size,
                            int(math.ceil(rh[k] / output_size)), int(math.ceil(rw[k] / output_size)),
                            out, np.asarray(rows[k:k + 1], dtype=np.int64))
        return out
    g = sampling_ratio
    _roi_align_grid(hwc, H, W, C, b, bw, bh, output_size, g, g, out, np.asarray(rows, dtype=np.int64))
    return out


def _gather_kernel(hwc, W, yl, yh, ly, hy, yout, xl, xh, lx, hx, xout, P, gh, gw, out, rows):
    """The kernel's per-bin loop in float32, in its order: for each sample (iy, ix) the bilinear sum
    ``((w1*v1 + w2*v2) + w3*v3) + w4*v4`` (weights 0 outside), accumulated from 0, divided by the
    count. Box k's bins go to ``out[rows[k]]`` ((C, P, P) each). No fastmath: no FMA contraction,
    no reassociation."""
    K = yl.shape[0]
    C = hwc.shape[1]
    zero = np.float32(0.0)
    cnt = np.float32(max(gh * gw, 1))
    acc = np.empty(C, dtype=np.float32)
    for k in range(K):
        for ph in range(P):
            for pw in range(P):
                for c in range(C):
                    acc[c] = zero
                for iy in range(gh):
                    sy = ph * gh + iy
                    for ix in range(gw):
                        sx = pw * gw + ix
                        if yout[k, sy] or xout[k, sx]:
                            w1 = zero
                            w2 = zero
                            w3 = zero
                            w4 = zero
                        else:
                            w1 = hy[k, sy] * hx[k, sx]
                            w2 = hy[k, sy] * lx[k, sx]
                            w3 = ly[k, sy] * hx[k, sx]
                            w4 = ly[k, sy] * lx[k, sx]
                        r1 = yl[k, sy] * W + xl[k, sx]
                        r2 = yl[k, sy] * W + xh[k, sx]
                        r3 = yh[k, sy] * W + xl[k, sx]
                        r4 = yh[k, sy] * W + xh[k, sx]
                        for c in range(C):
                            acc[c] += ((w1 * hwc[r1, c] + w2 * hwc[r2, c]) + w3 * hwc[r3, c]) + w4 * hwc[r4, c]
                r = rows[k]
                for c in range(C):
                    out[r, c, ph, pw] = acc[c] / cnt


if numba is not None:
    _gather_kernel = numba.njit(cache=True, nogil=True)(_gather_kernel)


def _roi_align_grid(hwc, H, W, C, b, bw, bh, P, gh, gw, out, rows):
    if numba is None:
        out[rows] = _roi_align_grid_numpy(hwc, H, W, C, b, bw, bh, P, gh, gw)
        return
    yl, yh, ly, hy, yout = _axis(b[:, 1], bh, P, gh, H)
    xl, xh, lx, hx, xout = _axis(b[:, 0], bw, P, gw, W)
    _gather_kernel(hwc, W, yl, yh, ly, hy, yout, xl, xh, lx, hx, xout, P, gh, gw, out, rows)


def _roi_align_grid_numpy(hwc, H, W, C, b, bw, bh, P, gh, gw):
    """The same computation vectorised in NumPy (the reference for `_gather_kernel`)."""
    yl, yh, ly, hy, yout = _axis(b[:, 1], bh, P, gh, H)
    xl, xh, lx, hx, xout = _axis(b[:, 0], bw, P, gw, W)
    empty = (yout[:, :, None] | xout[:, None, :])[..., None]  # (k, Sy, Sx, 1)
    z = _F32(0)
    w1 = np.where(empty, z, (hy[:, :, None] * hx[:, None, :])[..., None])
    w2 = np.where(empty, z, (hy[:, :, None] * lx[:, None, :])[..., None])
    w3 = np.where(empty, z, (ly[:, :, None] * hx[:, None, :])[..., None])
    w4 = np.where(empty, z, (ly[:, :, None] * lx[:, None, :])[..., None])
    r_lo, r_hi = yl[:, :, None] * W, yh[:, :, None] * W
    c_lo, c_hi = xl[:, None, :], xh[:, None, :]
    v = ((w1 * hwc[r_lo + c_lo] + w2 * hwc[r_lo + c_hi]) + w3 * hwc[r_hi + c_lo]) + w4 * hwc[r_hi + c_hi]
    k = len(b)
    v = v.reshape(k, P, gh, P, gw, C)
    acc = v[:, :, 0, :, 0] + _F32(0)  # the kernel starts from 0.0 (turns -0.0 into +0.0)
    for iy in range(gh):
        for ix in range(gw):
            if iy or ix:
                acc += v[:, :, iy, :, ix]
    acc /= _F32(max(gh * gw, 1))
    return acc.transpose(0, 3, 1, 2)


def multiscale_roi_align(feats: list[np.ndarray], boxes: np.ndarray, image_hw: tuple[int, int], output_size: int = 7,
                         sampling_ratio: int = 2, rec: StageRecorder = NULL_RECORDER, prefix: str = ""):
    """MultiScaleRoIAlign over feats [P2..P5] -> (features (K, C, 7, 7), levels (K,) int64, scales)."""
    scales = infer_scales([f.shape[-2:] for f in feats], image_hw)
    k_min = int(-math.log2(scales[0]))
    k_max = int(-math.log2(scales[-1]))
    levels = level_mapper(boxes, k_min, k_max)
    C = feats[0].shape[0]
    out = np.empty((len(boxes), C, output_size, output_size), dtype=_F32)  # every row is written below
    for lvl, (f, s) in enumerate(zip(feats, scales)):
        idx = np.nonzero(levels == lvl)[0]
        if len(idx):
            roi_align(f, boxes[idx], s, output_size, sampling_ratio, out=out, rows=idx)
    return out, levels, scales
