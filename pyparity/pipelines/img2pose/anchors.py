"""Anchors as upstream's rpn.AnchorGenerator (a copy of torchvision 0.8's), float32.

Boxes are xyxy in the padded, resized image frame, (0, 0) the top-left corner of the top-left pixel.
"""

from __future__ import annotations

import numpy as np

_F32 = np.float32


def cell_anchors(sizes, aspect_ratios) -> np.ndarray:
    """Base anchors (len(ratios)*len(sizes), 4) centred on 0: ``round([-ws, -hs, ws, hs] / 2)``.

    ``hs = sqrt(r) * size``, ``ws = (1 / sqrt(r)) * size`` in float32; rounding half to even (torch.round).
    """
    scales = np.asarray(sizes, dtype=_F32)
    ratios = np.asarray(aspect_ratios, dtype=_F32)
    h_ratios = np.sqrt(ratios)
    w_ratios = _F32(1) / h_ratios
    ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)
    hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)
    base = np.stack([-ws, -hs, ws, hs], axis=1) / _F32(2)
    return np.round(base).astype(_F32)


def grid_anchors(grid_hw: tuple[int, int], stride_hw: tuple[int, int], base: np.ndarray) -> np.ndarray:
    """All anchors of one level, order (y, x, anchor): (H*W*A, 4) float32."""
    gh, gw = grid_hw
    sh, sw = stride_hw
    shifts_x = np.arange(gw, dtype=_F32) * _F32(sw)
    shifts_y = np.arange(gh, dtype=_F32) * _F32(sh)
    sy, sx = np.meshgrid(shifts_y, shifts_x, indexing="ij")
    sx = sx.reshape(-1)
    sy = sy.reshape(-1)
    shifts = np.stack([sx, sy, sx, sy], axis=1)
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)


def level_strides(padded_hw: tuple[int, int], grids: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Strides from the *padded* image size by integer division, as upstream."""
    return [(padded_hw[0] // g[0], padded_hw[1] // g[1]) for g in grids]
