"""Pinhole camera intrinsics ``K = [[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` under crop, pad and resize.

Pixel coordinates are OpenCV's: (0, 0) is the *centre* of the top-left pixel, so a pixel's area is
``[u - 0.5, u + 0.5]``. Projection: ``u = fx X / Z + cx``, ``v = fy Y / Z + cy``.

- Crop at top-left ``(x0, y0)``: the principal point moves, ``cx - x0``, ``cy - y0``; focal unchanged.
- Pad by ``left``, ``top``: the opposite shift (``cx + left``, ``cy + top``); right/bottom padding
  changes nothing.
- Resize by ``sx = new_w / old_w``, ``sy = new_h / old_h`` (cv2.resize's half-pixel mapping
  ``u' + 0.5 = sx (u + 0.5)``): ``fx' = sx fx``, ``cx' = sx (cx + 0.5) - 0.5`` (and y alike). A common
  error is to keep the focal length; another is to scale ``cx`` without the half-pixel shift
  (``align="corner"`` gives that plain ``cx' = sx cx``, for frames whose origin is the pixel corner).

img2pose does not transform intrinsics: it *builds* K from the size of the image the pose refers to
(``img2pose_intrinsics``), with the principal point moved to a box for box-relative poses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def camera_matrix(fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    return np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]], dtype=np.float64)


def project(K: np.ndarray, points_cam: np.ndarray) -> np.ndarray:
    """(N, 3) camera-frame points (Z > 0) -> (N, 2) pixels ``K p / p_z``."""
    p = np.asarray(points_cam, dtype=np.float64) @ np.asarray(K, dtype=np.float64).T
    return p[:, :2] / p[:, 2:3]


def crop_intrinsics(K: np.ndarray, x0: float, y0: float) -> np.ndarray:
    """K of the sub-image whose top-left pixel is ``(x0, y0)`` of the original."""
    K = np.array(K, dtype=np.float64)
    K[0, 2] -= x0
    K[1, 2] -= y0
    return K


def pad_intrinsics(K: np.ndarray, left: float, top: float) -> np.ndarray:
    """K after padding ``left`` columns / ``top`` rows in front (right/bottom padding: no change)."""
    return crop_intrinsics(K, -left, -top)


def resize_intrinsics(K: np.ndarray, sx: float, sy: float | None = None, align: str = "centre") -> np.ndarray:
    """K after resizing the image by ``sx`` (width) and ``sy`` (height, default ``sx``).

    ``align="centre"``: OpenCV pixel centres and cv2.resize's mapping (the default);
    ``"corner"``: a frame whose origin is the top-left pixel's corner (``cx' = sx cx``).
    """
    sy = sx if sy is None else sy
    if align not in ("centre", "corner"):
        raise ValueError(f"align must be 'centre' or 'corner', not {align!r}")
    K = np.array(K, dtype=np.float64)
    h = 0.5 if align == "centre" else 0.0
    K[0, 0] *= sx
    K[0, 1] *= sx
    K[1, 1] *= sy
    K[0, 2] = sx * (K[0, 2] + h) - h
    K[1, 2] = sy * (K[1, 2] + h) - h
    return K


def resize_scales(old_hw: tuple[int, int], new_hw: tuple[int, int]) -> tuple[float, float]:
    """(sx, sy) of a resize from ``old_hw`` to ``new_hw`` (heights, widths in pixels)."""
    return new_hw[1] / old_hw[1], new_hw[0] / old_hw[0]


# --- img2pose's intrinsics (utils/pose_operations.py) -------------------------------------------

def img2pose_intrinsics(h: int, w: int) -> np.ndarray:
    """int64 ``[[w+h, 0, w//2], [0, w+h, h//2], [0, 0, 1]]``: img2pose's camera for an h x w image
    (upstream get_intrinsics / the focal it assumes; built from the image the pose refers to)."""
    return np.array([[w + h, 0, w // 2], [0, w + h, h // 2], [0, 0, 1]], dtype=np.int64)


def img2pose_bbox_intrinsics(K: np.ndarray, box: np.ndarray) -> np.ndarray:
    """K with the principal point at the box centre ``x1 + (x2 - x1) // 2`` (floor-division in the
    box's dtype), stored into K's int64 (truncation), as upstream's get_bbox_intrinsics."""
    Kb = K.copy()
    Kb[0, 2] = box[0] + ((box[2] - box[0]) // 2)
    Kb[1, 2] = box[1] + ((box[3] - box[1]) // 2)
    return Kb


_f = np.float32


@dataclass(frozen=True)
class Camera:
    """Pinhole intrinsics as OpenFace keeps them (float32)."""

    fx: np.float32
    fy: np.float32
    cx: np.float32
    cy: np.float32

    def as_array(self) -> np.ndarray:
        return np.array([self.fx, self.fy, self.cx, self.cy], dtype=np.float64)


def openface_camera(width: int, height: int) -> Camera:
    """ImageCapture::SetCameraIntrinsics(-1, -1, -1, -1): the rough guess OpenFace uses when no camera is
    given, fx = fy = (500·w/640 + 500·h/480) / 2, cx = w/2, cy = h/2, in float32 arithmetic."""
    cx = _f(_f(width) / _f(2.0))
    cy = _f(_f(height) / _f(2.0))
    fx = _f(_f(500.0) * _f(_f(width) / _f(640.0)))
    fy = _f(_f(500.0) * _f(_f(height) / _f(480.0)))
    fx = _f((fx + fy) / _f(2.0))
    return Camera(fx, fx, cx, cy)
