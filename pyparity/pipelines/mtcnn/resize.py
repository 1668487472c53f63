"""Bilinear resize of float32 images with OpenCV 4.6's arithmetic (``cv::resize``, INTER_LINEAR).

OpenFace resizes float images (the pyramid levels and the RNet/ONet crops); OpenCV releases differ
in the last bits of that float path, so the reference's (OpenCV 4.6, resizeGeneric_ with
HResizeLinear / VResizeLinear) is written out here: coefficients in float32 from
``fx = (float)((dx + 0.5) * scale - 0.5)``, a horizontal pass ``S[sx]*a0 + S[sx+1]*a1`` and a vertical
pass ``r0*b0 + r1*b1``, each product rounded to float32 (no fused multiply-add: the kernels are
compiled without fast-math, so LLVM does not contract them).
"""

from __future__ import annotations

import math

import numba
import numpy as np


@numba.njit(cache=True, nogil=True, fastmath=False)
def axis_coefficients(src_size, dst_size):
    """Source index pairs and float32 weights for one axis, as cv::resize computes them.

    Returns ``(i0, i1, w)``: (dst_size,) int64 indices and (dst_size, 2) float32 weights; borders are
    clamped with weights (1, 0) as OpenCV does."""
    scale = 1.0 / (float(dst_size) / float(src_size))
    i0 = np.empty(dst_size, np.int64)
    i1 = np.empty(dst_size, np.int64)
    w = np.empty((dst_size, 2), np.float32)
    for d in range(dst_size):
        f = np.float32((d + 0.5) * scale - 0.5)
        s = int(math.floor(f))
        fx = np.float32(f - np.float32(s))
        if s < 0:
            s, fx = 0, np.float32(0.0)
        elif s >= src_size - 1:
            s, fx = src_size - 1, np.float32(0.0)
        i0[d] = s
        i1[d] = min(s + 1, src_size - 1)
        w[d, 0] = np.float32(1.0) - fx
        w[d, 1] = fx
    return i0, i1, w


@numba.njit(cache=True, nogil=True, fastmath=False)
def resize_into(src, out):
    """Resize (H, W, C) float32 ``src`` into the preallocated (h, w, C) float32 ``out``.

    Only the source rows the vertical pass reads are resized horizontally, each once."""
    h_src, w_src, c_n = src.shape
    height, width = out.shape[0], out.shape[1]
    x0, x1, wx = axis_coefficients(w_src, width)
    y0, y1, wy = axis_coefficients(h_src, height)
    horiz = np.empty((h_src, width, c_n), np.float32)
    done = np.zeros(h_src, np.bool_)
    for dy in range(height):
        for r in (y0[dy], y1[dy]):
            if not done[r]:
                done[r] = True
                for dx in range(width):
                    a0, a1 = wx[dx, 0], wx[dx, 1]
                    s0, s1 = x0[dx], x1[dx]
                    for c in range(c_n):
                        horiz[r, dx, c] = src[r, s0, c] * a0 + src[r, s1, c] * a1
        b0, b1 = wy[dy, 0], wy[dy, 1]
        r0, r1 = y0[dy], y1[dy]
        for dx in range(width):
            for c in range(c_n):
                out[dy, dx, c] = horiz[r0, dx, c] * b0 + horiz[r1, dx, c] * b1


def resize_bilinear(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize an (H, W, C) or (H, W) float32 image to (height, width[, C]), bit-identical to OpenCV 4.6."""
    src = np.ascontiguousarray(img, dtype=np.float32)
    if src.ndim == 2:
        src = src[:, :, None]
    out = np.empty((int(height), int(width), src.shape[2]), np.float32)
    resize_into(src, out)
    return out if np.ndim(img) == 3 else out[:, :, 0]
