"""Stages `faceNN/au/align/*`: the similarity-aligned, masked 112×112 face (Face_utils.cpp, AlignFaceMask).

    a = align_face_mask(frame_bgr, landmarks_stacked, params_global, pdm, triangulation)
    a.source_landmarks_rigid (24, 2), a.scale_rot (2, 2), a.warp_matrix (2, 3), a.warped (112, 112, 3),
    a.mask_landmarks (136,), a.pixel_mask (112, 112), a.face (112, 112, 3)

What C++ does, in float32 where it does:
- destination: the PDM's mean shape × 0.7 (float × double scale, stored as float: a float product by
  0.7f), its x and y rows; source: the landmarks as (x, y) rows. `extract_rigid_points` keeps 24 of the
  68 (outline 1-4 and 12-15, nose bridge and base, eye corners and lower lids).
- `Utilities::AlignShapesWithScale(source, destination)`: the 2×2 scale-rotation (the CLNF port's
  clnf.patch_experts.align_shapes_with_scale, bit for bit).
- translation: T = scale_rot · (tx, ty) as a cv::Matx product (float, left to right), warp_matrix
  column 2 = -T + size / 2.
- `cv::warpAffine(frame, warp_matrix, 112×112, INTER_LINEAR)` (border 0): OpenCV's fixed-point
  bilinear warp on uint8, which the installed OpenCV 4.x computes with 4.6's bits (every recorded
  face is identical; tests/pipelines/openface/test_au.py checks it on all of them).
- the landmarks moved by the same similarity (a float cv::Mat product: double sums rounded once, then
  + the translation in float), the outline's ends (0, 16) and the brows (17-26) raised by
  (30 / 0.7)·0.7 px (a double subtracted from a float), and `PAW(mask_landmarks, triangulation, 0, 0,
  111, 111).pixel_mask` (clnf.paw.Paw.from_shape): 1 inside the face's triangles.
- face: each channel of the warped face × pixel_mask (cv::multiply, uint8).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.clnf.experts.patch_experts import align_shapes_with_scale
from pyparity.pipelines.clnf.validator.paw import Paw

# extract_rigid_points (Face_utils.cpp), for 68-point shapes
RIGID_POINTS = (1, 2, 3, 4, 12, 13, 14, 15, 27, 28, 29, 31, 32, 33, 34, 35, 36, 39, 40, 41, 42, 45, 46, 47)
# the points AlignFaceMask raises to take in more of the forehead
RAISED_POINTS = (0, 16) + tuple(range(17, 27))


@dataclass
class AlignedFace:
    source_landmarks_rigid: np.ndarray   # (24, 2) float32 (x, y)
    scale_rot: np.ndarray                # (2, 2) float32
    warp_matrix: np.ndarray              # (2, 3) float32
    warped: np.ndarray                   # (size, size, C) uint8, before masking
    mask_landmarks: np.ndarray           # (2n,) float32 stacked
    pixel_mask: np.ndarray               # (size, size) uint8, 1 inside the face
    face: np.ndarray                     # (size, size, C) uint8, warped × pixel_mask


def rigid_points(points_xy: np.ndarray) -> np.ndarray:
    """extract_rigid_points: the 24 rigid rows of a (68, 2) shape (other shapes are kept whole, as C++)."""
    p = np.asarray(points_xy)
    return np.ascontiguousarray(p[list(RIGID_POINTS)]) if p.shape[0] == 68 else p


def similarity(landmarks_stacked: np.ndarray, params_global: np.ndarray, mean_shape: np.ndarray,
               scale: float, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rigid source points, AlignShapesWithScale's scale_rot and the 2×3 warp_matrix (float32)."""
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    n = lm.shape[0] // 2
    src = np.ascontiguousarray(lm.reshape(2, n).T)
    dst_all = (np.asarray(mean_shape, dtype=np.float32) * np.float32(scale)).astype(np.float32)
    dst = np.ascontiguousarray(dst_all[:2 * n].reshape(2, n).T)
    src_r, dst_r = rigid_points(src), rigid_points(dst)
    a = align_shapes_with_scale(src_r, dst_r)
    g = np.asarray(params_global, dtype=np.float32).reshape(6)
    # cv::Matx22f * cv::Vec2f: float sums from 0, k ascending
    t0 = np.float32(np.float32(a[0, 0] * g[4]) + np.float32(a[0, 1] * g[5]))
    t1 = np.float32(np.float32(a[1, 0] * g[4]) + np.float32(a[1, 1] * g[5]))
    half = np.float32(size // 2)
    warp = np.array([[a[0, 0], a[0, 1], -t0 + half], [a[1, 0], a[1, 1], -t1 + half]], dtype=np.float32)
    return src_r, a, warp


def mask_landmarks(landmarks_stacked: np.ndarray, warp_matrix: np.ndarray, scale: float) -> np.ndarray:
    """The landmarks in the aligned face, brows and outline ends raised: (2n,) float32 stacked."""
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    n = lm.shape[0] // 2
    w = np.asarray(warp_matrix, dtype=np.float32)
    # cv::Mat(n×2) * cv::Mat(2×2).t(): float gemm below OpenCV's BLAS threshold, double sums rounded once
    moved = (lm.reshape(2, n).T.astype(np.float64) @ w[:, :2].astype(np.float64).T).astype(np.float32)
    moved[:, 0] = moved[:, 0] + w[0, 2]
    moved[:, 1] = moved[:, 1] + w[1, 2]
    raise_by = (30 / 0.7) * scale
    for k in RAISED_POINTS:
        if k < n:
            moved[k, 1] = np.float32(float(moved[k, 1]) - raise_by)
    return np.ascontiguousarray(moved.T).reshape(-1)


def warp_face(frame: np.ndarray, warp_matrix: np.ndarray, size: int) -> np.ndarray:
    """cv::warpAffine(frame, warp_matrix, (size, size), INTER_LINEAR), constant 0 border."""
    import cv2

    src = np.ascontiguousarray(frame)
    return cv2.warpAffine(src, np.asarray(warp_matrix, dtype=np.float32).astype(np.float64), (size, size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def align_face_mask(frame: np.ndarray, landmarks_stacked: np.ndarray, params_global: np.ndarray, pdm,
                    triangulation: np.ndarray, scale: float = 0.7, size: int = 112) -> AlignedFace:
    """AlignFaceMask(frame, landmarks, params_global, pdm, triangulation, rigid=true, scale, size, size).
    frame: (H, W, 3) uint8 BGR (or (H, W) gray); landmarks_stacked (2n,) float32."""
    src_r, a, warp = similarity(landmarks_stacked, params_global, pdm.mean_shape, scale, size)
    warped = warp_face(frame, warp, size)
    ml = mask_landmarks(landmarks_stacked, warp, scale)
    edge = np.float32(size - 1)
    mask = Paw.from_shape(ml, triangulation, (0.0, 0.0, edge, edge)).pixel_mask
    face = warped * (mask[:, :, None] if warped.ndim == 3 else mask)
    return AlignedFace(src_r, a, warp, warped, ml, mask, face.astype(np.uint8))
