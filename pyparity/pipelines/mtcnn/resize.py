"""Bilinear resize of float32 images with OpenCV 4.6's arithmetic (``cv::resize``, INTER_LINEAR).

OpenFace resizes float images (the pyramid levels and the RNet/ONet crops); OpenCV releases differ
in the last bits of that float path, so the reference's (OpenCV 4.6, resizeGeneric_ with
HResizeLinear / VResizeLinear) is written out here: coefficients in float32 from
``fx = (float)((dx + 0.5) * scale - 0.5)``, a horizontal pass ``S[sx]*a0 + S[sx+1]*a1`` and a vertical
pass ``r0*b0 + r1*b1``, each product rounded to float32 (no fused multiply-add).
"""

from __future__ import annotations

import numpy as np


def linear_coefficients(src_size: int, dst_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source index pairs and float32 weights for one axis, as cv::resize computes them.

    Returns ``(i0, i1, w)``: (dst_size,) int64 indices and (dst_size, 2) float32 weights; borders are
    clamped with weights (1, 0) as OpenCV does.
    """
    scale = 1.0 / (float(dst_size) / float(src_size))
    d = np.arange(dst_size, dtype=np.float64)
    f = ((d + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    fx = (f - s.astype(np.float32)).astype(np.float32)
    low = s < 0
    high = s >= src_size - 1
    fx[low | high] = 0.0
    s[low] = 0
    s[high] = src_size - 1
    w = np.empty((dst_size, 2), np.float32)
    w[:, 0] = np.float32(1.0) - fx
    w[:, 1] = fx
    return s, np.minimum(s + 1, src_size - 1), w


def resize_bilinear(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an (H, W, C) float32 image to (height, width, C), bit-identical to OpenCV 4.6."""
    src = np.asarray(img, dtype=np.float32)
    if src.ndim == 2:
        src = src[:, :, None]
    h_src, w_src = src.shape[:2]
    x0, x1, wx = linear_coefficients(w_src, width)
    y0, y1, wy = linear_coefficients(h_src, height)
    # Only the source rows the vertical pass reads are resized horizontally.
    rows_needed = np.unique(np.concatenate([y0, y1]))
    sub = src[rows_needed]
    horiz = sub[:, x0, :] * wx[None, :, 0, None] + sub[:, x1, :] * wx[None, :, 1, None]
    pos = np.searchsorted(rows_needed, y0), np.searchsorted(rows_needed, y1)
    out = horiz[pos[0]] * wy[:, 0, None, None] + horiz[pos[1]] * wy[:, 1, None, None]
    out = out.astype(np.float32, copy=False)
    return out if img.ndim == 3 else out[:, :, 0]
