"""Piece-wise affine warp (OpenFace PAW.cpp) as the CNN detection validator uses it.

API:
    paw = Paw.read(reader)                         # PAW::Read from a validator file stream
    paw = Paw.from_shape(dest_stacked, tris, (min_x, min_y, max_x, max_y))   # PAW::PAW(dest, tris, bounds)
    warped = paw.warp(image_f32, landmarks_stacked)  # PAW::Warp -> (h, w) float32 in the PAW's frame

The coefficients and sampling maps are numba loops (validator_kernels) with the float32 operations of
the whole-array NumPy forms (`coefficients_numpy`, validator_numpy.warp), bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numba
import numpy as np

from pyparity.pipelines.clnf.validator import kernels as validator_kernels


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
    def from_shape(cls, destination_landmarks: np.ndarray, triangulation: np.ndarray,
                   bounds: tuple[float, float, float, float]) -> "Paw":
        """PAW::PAW(destination_shape, triangulation, min_x, min_y, max_x, max_y): the warp onto a
        given frame (FaceAnalyser's AlignFaceMask masks its 112x112 face with `pixel_mask`).

        destination_landmarks: (2n,) float32 stacked; triangulation: (t, 3) int; bounds: the frame's
        (min_x, min_y, max_x, max_y) as float32. The mask is (int)(max - min + 1.5) pixels each way;
        a pixel belongs to the first triangle (PAW::findTriangle's order: the previous pixel's triangle
        first, then every triangle whose bounding box holds it) that PAW::pointInTriangle accepts,
        all in float32 as C++ (no FMA)."""
        dest = np.ascontiguousarray(destination_landmarks, dtype=np.float32).reshape(-1)
        tri = np.ascontiguousarray(triangulation, dtype=np.int32)
        min_x, min_y, max_x, max_y = (np.float32(v) for v in bounds)
        alpha, beta, corners = _triangle_tables(dest, tri)
        # float difference, `+ 1.5` in double, truncated
        w = int(float(np.float32(max_x - min_x)) + 1.5)
        h = int(float(np.float32(max_y - min_y)) + 1.5)
        tid = _triangle_ids(corners, h, w, min_x, min_y)
        mask = (tid != -1).astype(np.uint8)
        return cls(int(mask.sum()), min_x, min_y, dest, tri, tid, mask, alpha, beta)

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


@numba.njit(cache=True)
def _triangle_tables(dest, tri):
    """PAW::PAW's per-triangle precomputation: alpha, beta (t, 3) float32 and the corner table
    (t, 10) float32 [x_j, y_j, x_k, y_k, x_l, y_l, max_x, max_y, min_x, min_y] findTriangle reads."""
    n = dest.shape[0] // 2
    nt = tri.shape[0]
    alpha = np.empty((nt, 3), dtype=np.float32)
    beta = np.empty((nt, 3), dtype=np.float32)
    corners = np.empty((nt, 10), dtype=np.float32)
    for t in range(nt):
        j, k, l = tri[t, 0], tri[t, 1], tri[t, 2]
        xj, yj, xk, yk, xl, yl = dest[j], dest[j + n], dest[k], dest[k + n], dest[l], dest[l + n]
        c1 = yl - yj
        c2 = xl - xj
        c4 = yk - yj
        c3 = xk - xj
        c5 = c3 * c1 - c2 * c4
        alpha[t, 0] = (yj * c2 - xj * c1) / c5
        alpha[t, 1] = c1 / c5
        alpha[t, 2] = -c2 / c5
        beta[t, 0] = (xj * c4 - yj * c3) / c5
        beta[t, 1] = -c4 / c5
        beta[t, 2] = c3 / c5
        corners[t, 0], corners[t, 1], corners[t, 2] = xj, yj, xk
        corners[t, 3], corners[t, 4], corners[t, 5] = yk, xl, yl
        corners[t, 6] = max(xj, max(xk, xl))
        corners[t, 7] = max(yj, max(yk, yl))
        corners[t, 8] = min(xj, min(xk, xl))
        corners[t, 9] = min(yj, min(yk, yl))
    return alpha, beta, corners


@numba.njit(cache=True, inline="always")
def _same_side(x0, y0, x1, y1, x2, y2, x3, y3):
    # PAW::sameSide, float32 throughout
    x = (x3 - x2) * (y0 - y2) - (x0 - x2) * (y3 - y2)
    y = (x3 - x2) * (y1 - y2) - (x1 - x2) * (y3 - y2)
    return x * y >= np.float32(0.0)


@numba.njit(cache=True, inline="always")
def _in_triangle(c, t, x0, y0):
    # PAW::pointInTriangle
    x1, y1, x2, y2, x3, y3 = c[t, 0], c[t, 1], c[t, 2], c[t, 3], c[t, 4], c[t, 5]
    return (_same_side(x0, y0, x1, y1, x2, y2, x3, y3) and _same_side(x0, y0, x2, y2, x1, y1, x3, y3)
            and _same_side(x0, y0, x3, y3, x1, y1, x2, y2))


@numba.njit(cache=True)
def _triangle_ids(corners, h, w, min_x, min_y):
    """PAW::PAW's mask loop: (h, w) int32 triangle of each pixel (x + min_x, y + min_y), -1 outside
    (PAW::findTriangle, with the previous pixel's triangle as its guess). findTriangle skips every
    triangle whose bounding box misses the point, so each row only tries the triangles whose y-range
    holds it, still in index order: the same first hit, without testing the others pixel by pixel."""
    nt = corners.shape[0]
    tid = np.full((h, w), -1, dtype=np.int32)
    rows = np.empty(nt, dtype=np.int64)
    cur = -1
    for y in range(h):
        y0 = np.float32(np.float32(y) + min_y)
        nr = 0
        for t in range(nt):
            if not (corners[t, 7] < y0 or corners[t, 9] > y0):
                rows[nr] = t
                nr += 1
        for x in range(w):
            x0 = np.float32(np.float32(x) + min_x)
            if cur != -1 and _in_triangle(corners, cur, x0, y0):
                tid[y, x] = cur
                continue
            cur = -1
            for k in range(nr):
                t = rows[k]
                if corners[t, 6] < x0 or corners[t, 8] > x0:
                    continue
                if _in_triangle(corners, t, x0, y0):
                    cur = t
                    break
            tid[y, x] = cur
    return tid
