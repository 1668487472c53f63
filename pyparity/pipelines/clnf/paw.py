"""Piece-wise affine warp (OpenFace PAW.cpp) as the CNN detection validator uses it.

API:
    paw = Paw.read(reader)                         # PAW::Read from a validator file stream
    warped = paw.warp(image_f32, landmarks_stacked)  # PAW::Warp -> (h, w) float32 in the PAW's frame

The coefficients and sampling maps are numba loops (validator_kernels) with the float32 operations of
the whole-array NumPy forms (`coefficients_numpy`, validator_numpy.warp), bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pyparity.pipelines.clnf import validator_kernels


@dataclass
class Paw:
    number_of_pixels: int
    min_x: np.float32
    min_y: np.float32
    destination_landmarks: np.ndarray   # (2n,) float32 stacked
    triangulation: np.ndarray           # (t, 3) int32
    triangle_id: np.ndarray             # (h, w) int32, -1 outside
    pixel_mask: np.ndarray              # (h, w) uint8
    alpha: np.ndarray                   # (t, 3) float32
    beta: np.ndarray                    # (t, 3) float32

    @classmethod
    def read(cls, r) -> "Paw":
        """PAW::Read; `r` is a reader with i32()/f64()/mat() (ccnf._Reader)."""
        npix = r.i32()
        min_x = np.float32(r.f64())
        min_y = np.float32(r.f64())
        dest = r.mat().astype(np.float32).reshape(-1)
        tri = np.ascontiguousarray(r.mat().astype(np.int32))
        tid = np.ascontiguousarray(r.mat().astype(np.int32))
        mask = np.ascontiguousarray(r.mat().astype(np.uint8))
        alpha = np.ascontiguousarray(r.mat().astype(np.float32))
        beta = np.ascontiguousarray(r.mat().astype(np.float32))
        return cls(npix, min_x, min_y, dest, tri, tid, mask, alpha, beta)

    def coefficients(self, landmarks_stacked: np.ndarray) -> np.ndarray:
        """PAW::CalcCoeff: (t, 6) float32 affine coefficients per triangle (float32, C++ order)."""
        src = np.ascontiguousarray(landmarks_stacked, dtype=np.float32).reshape(-1)
        return validator_kernels.paw_coefficients(src, self.triangulation, self.alpha, self.beta)

    def coefficients_numpy(self, landmarks_stacked: np.ndarray) -> np.ndarray:
        """`coefficients` as whole-array NumPy operations (the same float32 operations): the reference
        the numba form is tested against."""
        src = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
        p = src.shape[0] // 2
        i, j, k = self.triangulation[:, 0], self.triangulation[:, 1], self.triangulation[:, 2]
        c1 = src[i]
        c2 = src[j] - c1
        c3 = src[k] - c1
        c4 = src[i + p]
        c5 = src[j + p] - c4
        c6 = src[k + p] - c4
        a, b = self.alpha, self.beta
        co = np.empty((len(i), 6), dtype=np.float32)
        co[:, 0] = (c1 + c2 * a[:, 0]) + c3 * b[:, 0]
        co[:, 1] = c2 * a[:, 1] + c3 * b[:, 1]
        co[:, 2] = c2 * a[:, 2] + c3 * b[:, 2]
        co[:, 3] = (c4 + c5 * a[:, 0]) + c6 * b[:, 0]
        co[:, 4] = c5 * a[:, 1] + c6 * b[:, 1]
        co[:, 5] = c5 * a[:, 2] + c6 * b[:, 2]
        return co

    def maps(self, landmarks_stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """PAW::WarpRegion: where each destination pixel samples from; -1 outside the mask."""
        co = self.coefficients(landmarks_stacked)
        return validator_kernels.paw_maps(co, self.triangle_id, self.pixel_mask,
                                          np.float32(self.min_x), np.float32(self.min_y))

    def warp(self, image: np.ndarray, landmarks_stacked: np.ndarray) -> np.ndarray:
        """PAW::Warp: cv::remap(INTER_LINEAR, constant 0 border) of the float32 image."""
        mx, my = self.maps(landmarks_stacked)
        return cv2.remap(np.ascontiguousarray(image, dtype=np.float32), mx, my, cv2.INTER_LINEAR)
