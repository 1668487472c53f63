"""Box conventions. OpenFace keeps float boxes as [x, y, w, h] with x2 = x + w (no +1)."""

from __future__ import annotations

import numpy as np


def xywh_to_xyxy(boxes_xywh: np.ndarray) -> np.ndarray:
    """(..., 4) [x, y, w, h] -> (..., 4) [x1, y1, x2, y2] with x2 = x + w, in the input dtype."""
    b = np.asarray(boxes_xywh)
    out = b.copy()
    out[..., 2] = b[..., 0] + b[..., 2]
    out[..., 3] = b[..., 1] + b[..., 3]
    return out


def xyxy_to_xywh(boxes_xyxy: np.ndarray) -> np.ndarray:
    """(..., 4) [x1, y1, x2, y2] -> (..., 4) [x, y, w, h] with w = x2 - x1, in the input dtype."""
    b = np.asarray(boxes_xyxy)
    out = b.copy()
    out[..., 2] = b[..., 2] - b[..., 0]
    out[..., 3] = b[..., 3] - b[..., 1]
    return out
