"""The detection validator's CNN in plain NumPy, one array operation per step (the form validator.py
used before its numba kernels): kept as the reference that tests hold the fast path to, bit for bit.

API:
    cnn_output(validator, orientation, gray_u8, landmarks_stacked) -> (bins,) float32 | None
"""

from __future__ import annotations

import numpy as np


def cnn_output(validator, orientation, gray: np.ndarray, landmarks_stacked: np.ndarray):
    """DetectionValidator::Check up to the last layer's output (None where the ROI is empty)."""
    g = np.asarray(gray)
    view = validator.views[view_index(validator.orientations, orientation)]
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1).copy()
    n = lm.shape[0] // 2
    xs, ys = lm[:n], lm[n:]
    min_x = int(np.float32(xs.min() - np.float32(3.0)))
    max_x = int(np.float32(xs.max() + np.float32(3.0)))
    min_y = int(np.float32(ys.min() - np.float32(3.0)))
    max_y = int(np.float32(ys.max() + np.float32(3.0)))
    min_x = max(min_x, 0)
    min_y = max(min_y, 0)
    max_x = min(max_x, g.shape[1] - 1)
    max_y = min(max_y, g.shape[0] - 1)
    if max_x - min_x <= 1 or max_y - min_y <= 1:
        return None
    lm[:n] = xs - np.float32(min_x)
    lm[n:] = ys - np.float32(min_y)
    roi = g[min_y:max_y, min_x:max_x].astype(np.float32)
    warped = warp(view.paw, roi, lm)
    return _cnn(view, warped)


def view_index(orientations: np.ndarray, orientation) -> int:
    o = np.asarray(orientation, dtype=np.float64).reshape(3)
    best, dbest = 0, -1.0
    for i, c in enumerate(orientations):
        d = float(np.sqrt(np.sum((o - c) ** 2)))
        if i == 0 or d < dbest:
            best, dbest = i, d
    return best


def warp(paw, image: np.ndarray, landmarks_stacked: np.ndarray) -> np.ndarray:
    """PAW::Warp with the maps in NumPy (Paw.coefficients' operations, per pixel)."""
    import cv2
    co = paw.coefficients_numpy(landmarks_stacked)
    h, w = paw.pixel_mask.shape
    xi = (np.arange(w, dtype=np.float32) + paw.min_x)[None, :]
    yi = (np.arange(h, dtype=np.float32) + paw.min_y)[:, None]
    t = np.where(paw.pixel_mask != 0, paw.triangle_id, 0)
    a = co[t]
    mx = (a[..., 0] + a[..., 1] * xi) + a[..., 2] * yi
    my = (a[..., 3] + a[..., 4] * xi) + a[..., 5] * yi
    inside = paw.pixel_mask != 0
    mx = np.where(inside, mx, np.float32(-1)).astype(np.float32)
    my = np.where(inside, my, np.float32(-1)).astype(np.float32)
    return cv2.remap(np.ascontiguousarray(image, dtype=np.float32), mx, my, cv2.INTER_LINEAR)


def _normalise(view, warped: np.ndarray) -> np.ndarray:
    mask_t = view.paw.pixel_mask.T != 0
    vec = warped.T[mask_t].astype(np.float32)
    mean = np.mean(vec.astype(np.float64))
    std = np.sqrt(np.mean(vec.astype(np.float64) ** 2) - mean * mean)
    vec = (vec - np.float32(mean)).astype(np.float32)
    if std == 0:
        std = 1.0
    vec = (vec * np.float32(1.0 / std)).astype(np.float32)
    return ((vec - view.mean_image) / view.std_image).astype(np.float32)


def _cnn(view, warped: np.ndarray) -> np.ndarray:
    feat = _normalise(view, warped)
    img_t = np.zeros(warped.shape[::-1], dtype=np.float32)
    img_t[view.paw.pixel_mask.T != 0] = feat
    maps = [img_t.T.copy()]
    for layer in view.layers:
        kind = layer[0]
        if kind == "conv":
            _, wmat, kh, kw = layer
            maps = _conv(maps, wmat, kh, kw)
        elif kind == "relu":
            maps = [np.maximum(m, np.float32(0)) for m in maps]
        elif kind == "pool":
            maps = [_max_pool_2x2(m) for m in maps]
        elif kind == "fc":
            _, w, b = layer
            if len(maps) > 1:
                x = np.concatenate([m.T.reshape(-1) for m in maps])
            else:
                x = maps[0].reshape(-1)
            maps = [(w @ x + b).astype(np.float32).reshape(-1, 1)]
        elif kind == "sigmoid":
            maps = [(1.0 / (1.0 + np.exp(-m.astype(np.float64)))).astype(np.float32) for m in maps]
    return maps[0].reshape(-1)


def _conv(maps, wmat, kh, kw):
    h, w = maps[0].shape
    yb, xb = h - kh + 1, w - kw + 1
    stack = np.stack(maps)
    win = np.lib.stride_tricks.sliding_window_view(stack, (kh, kw), axis=(1, 2))
    cols = win.transpose(1, 2, 0, 4, 3).reshape(yb * xb, -1)
    cols = np.concatenate([cols, np.ones((yb * xb, 1), dtype=np.float32)], axis=1)
    out = (cols @ wmat).astype(np.float32)
    return [out[:, k].reshape(yb, xb) for k in range(out.shape[1])]


def _max_pool_2x2(m):
    h, w = m.shape
    oy = int(round((h - 2) / 2.0)) + 1
    ox = int(round((w - 2) / 2.0)) + 1
    pad = np.full((oy * 2, ox * 2), -np.finfo(np.float32).max, dtype=np.float32)
    hh, ww = min(h, oy * 2), min(w, ox * 2)
    pad[:hh, :ww] = m[:hh, :ww]
    return pad.reshape(oy, 2, ox, 2).max(axis=(1, 3))
