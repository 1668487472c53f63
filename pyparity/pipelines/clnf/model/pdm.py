"""OpenFace's point distribution model (PDM.cpp): reader and all PDM maths, float32 as the C++.

Shapes: n landmarks, m modes.
  mean_shape (3n,) float32 = [X0..Xn-1, Y0..Yn-1, Z0..Zn-1]; princ_comp (3n, m) float32; eigen_values (m,) float32.
  params_global (6,) float32 = [scale, rx, ry, rz, tx, ty] (cv::Vec6f; Euler radians, see rotation.py).
  params_local (m,) float32. 2-D shapes are `landmarks_stacked` (2n,) float32 = [x0..xn-1, y0..yn-1].
  Jacobians are (2n, 6+m) float32 with STACKED rows (row i: x of landmark i, row n+i: its y).

Arithmetic notes (why the code looks the way it does):
  * cv::Mat products of float matrices (MatExpr `*`, cv::gemm) accumulate in double and round once to
    float (OpenCV's GEMMSingleMul<float,double>): `cv_gemv_f32`, `project`, `_mean_plus_v_loc`.
  * cv::Matx products accumulate in float, left to right: `matx33_mul`.
  * The explicit sgemm_ calls (CalcShape3D, Hessians) are float32 BLAS: numpy's float32 matmul.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from pyparity.errors import ModelError
from pyparity.textfile import read_text
from pyparity.pipelines.clnf.numerics.f32kernels import FMA_FUSED
from pyparity.pipelines.clnf.model.pdm_kernels import (clamp_params, cv_gemv_f32, jacobian, l2_dist, matx33_mul, matx_mul,
                                                 orthonormalise_finish, project, sgemm_jtwj, shape2d, shape3d,
                                                 small_rotation, split_mask_t)
from pyparity.conventions.rotations_f32 import euler_to_matrix, euler_to_matrix_k, matrix_to_euler_k

_f = np.float32


# ---------------------------------------------------------------------------- reading

def _read_mat(tokens: list[str], pos: int, path: Path) -> tuple[np.ndarray, int]:
    """LandmarkDetector::ReadMat: rows, cols, type, then row-major values (as double)."""
    try:
        rows, cols, _typ = int(tokens[pos]), int(tokens[pos + 1]), int(tokens[pos + 2])
    except (IndexError, ValueError):
        raise ModelError(f"{path}: malformed matrix header in PDM file") from None
    pos += 3
    cnt = rows * cols
    if rows <= 0 or cols <= 0 or pos + cnt > len(tokens):
        raise ModelError(f"{path}: truncated PDM matrix ({rows}x{cols})")
    try:
        vals = np.array([float(t) for t in tokens[pos:pos + cnt]], dtype=np.float64)
    except ValueError:
        raise ModelError(f"{path}: non-numeric value in PDM matrix") from None
    return vals.reshape(rows, cols), pos + cnt


@dataclass
class PDM:
    mean_shape: np.ndarray     # (3n,) float32
    princ_comp: np.ndarray     # (3n, m) float32
    eigen_values: np.ndarray   # (m,) float32
    path: Path | None = None

    @property
    def n_points(self) -> int:
        return self.mean_shape.shape[0] // 3

    @property
    def n_modes(self) -> int:
        return self.princ_comp.shape[1]

    # ------------------------------------------------------------------ shapes
    def calc_shape_3d(self, params_local) -> np.ndarray:
        """PDM::CalcShape3D: mean + V·p (sgemm, float32) -> (3n,) float32."""
        # sgemm_ with M = 1: one float32 FMA chain per coordinate (k ascending), then + mean (beta = 1)
        p = np.ascontiguousarray(params_local, dtype=np.float32).reshape(-1)
        return shape3d(self.princ_comp, p, self.mean_shape, FMA_FUSED)

    def calc_shape_2d(self, params_local, params_global) -> np.ndarray:
        """PDM::CalcShape2D: weak-perspective projection -> landmarks_stacked (2n,) float32."""
        g = np.asarray(params_global, dtype=np.float32).reshape(6)
        r = euler_to_matrix_k(g[1], g[2], g[3])
        return shape2d(self.calc_shape_3d(params_local), g, r)

    # ------------------------------------------------------------------ init from a box
    def calc_params_from_box(self, bbox_xywh, params_local=None, rotation=(0.0, 0.0, 0.0)) -> np.ndarray:
        """PDM::CalcParams(Vec6f&, Rect_<float>, local, Vec3f): global params whose shape fills the box.

        bbox_xywh: (4,) x, y, w, h (converted to float32 as cv::Rect_<double> -> Rect_<float>).
        Returns params_global (6,) float32."""
        b = np.asarray(bbox_xywh, dtype=np.float64).reshape(4).astype(np.float32)
        rot = np.asarray(rotation, dtype=np.float64).reshape(3).astype(np.float32)
        if params_local is None:
            params_local = np.zeros(self.n_modes, dtype=np.float32)
        shape = self.calc_shape_3d(params_local).reshape(3, -1)
        # cv::Mat(Matx33f) * Mat_<float> (k = 3): float products summed in float, k ascending (all 82
        # recorded box initialisations, CCNF and CE-CLM hypotheses, match; a double sum misses one)
        rotated = matx_mul(euler_to_matrix(rot), shape)
        min_x, max_x = float(rotated[0].min()), float(rotated[0].max())
        min_y, max_y = float(rotated[1].min()), float(rotated[1].max())
        width = _f(abs(min_x - max_x))
        height = _f(abs(min_y - max_y))
        scaling = _f(((b[2] / width) + (b[3] / height)) / _f(2))
        tx = _f(b[0] + b[2] / _f(2))
        ty = _f(b[1] + b[3] / _f(2))
        # float minus (float * double / 2.0f evaluated in double), stored to float
        tx = _f(float(tx) - float(scaling) * (min_x + max_x) / 2.0)
        ty = _f(float(ty) - float(scaling) * (min_y + max_y) / 2.0)
        return np.array([scaling, rot[0], rot[1], rot[2], tx, ty], dtype=np.float32)

    # ------------------------------------------------------------------ jacobians
    def rigid_jacobian(self, params_local, params_global, w_diag) -> tuple[np.ndarray, np.ndarray]:
        """PDM::ComputeRigidJacobian -> (J (2n, 6), J_w_t (6, 2n)) float32; w_diag (2n,) the W diagonal."""
        g = np.asarray(params_global, dtype=np.float32).reshape(6)
        r = euler_to_matrix_k(g[1], g[2], g[3])
        w = np.ascontiguousarray(w_diag, dtype=np.float32).reshape(-1)
        return jacobian(self.calc_shape_3d(params_local), self.princ_comp, g, r, w, True, True)

    def jacobian(self, params_local, params_global, w_diag) -> tuple[np.ndarray, np.ndarray]:
        """PDM::ComputeJacobian -> (J (2n, 6+m), J_w_t (6+m, 2n)) float32; w_diag (2n,) the W diagonal."""
        g = np.asarray(params_global, dtype=np.float32).reshape(6)
        r = euler_to_matrix_k(g[1], g[2], g[3])
        w = np.ascontiguousarray(w_diag, dtype=np.float32).reshape(-1)
        # C++ skips the weighting when trace(W) == rows (the identity)
        weighted = float(np.sum(w, dtype=np.float64)) != w.shape[0]
        return jacobian(self.calc_shape_3d(params_local), self.princ_comp, g, r, w, False, weighted)

    # ------------------------------------------------------------------ update / clamp
    def update_model_parameters(self, delta, params_local, params_global) -> tuple[np.ndarray, np.ndarray]:
        """PDM::UpdateModelParameters -> new (params_local (m,), params_global (6,)) float32.

        delta: (6,) rigid or (6+m,) float32. Rotation composed as R1 · orthonormalise(I + [w]x)."""
        d = np.asarray(delta, dtype=np.float32).reshape(-1)
        g = np.asarray(params_global, dtype=np.float32).reshape(6).copy()
        loc = np.asarray(params_local, dtype=np.float32).reshape(-1).copy()
        g[0] = g[0] + d[0]
        g[4] = g[4] + d[4]
        g[5] = g[5] + d[5]
        r1 = euler_to_matrix_k(g[1], g[2], g[3])
        r3 = matx33_mul(r1, orthonormalise(small_rotation(d)))
        # RotationMatrix2AxisAngle then AxisAngle2Euler: cv::Rodrigues both ways, then the quaternion
        axis_angle, _ = cv2.Rodrigues(r3)
        rot, _ = cv2.Rodrigues(axis_angle.astype(np.float32))
        euler = matrix_to_euler_k(np.ascontiguousarray(rot, dtype=np.float32))
        if not (euler[0] == euler[0] and euler[1] == euler[1] and euler[2] == euler[2]):   # NaN
            euler = np.zeros(3, dtype=np.float32)
        g[1:4] = euler
        if d.shape[0] > 6:
            loc = (loc + d[6:6 + self.n_modes]).astype(np.float32)
        return loc, g

    def clamp(self, params_local) -> np.ndarray:
        """PDM::Clamp: local params limited to ±3·sqrt(eigenvalue) (float32)."""
        return clamp_params(np.ascontiguousarray(params_local, dtype=np.float32).reshape(-1), self.eigen_values)

    # ------------------------------------------------------------------ init from landmarks
    def calc_bounding_box(self, params_global, params_local) -> tuple[float, float, float, float]:
        """PDM::CalcBoundingBox -> (x, y, w, h) float32 of the projected shape."""
        sh = self.calc_shape_2d(params_local, params_global)
        n = self.n_points
        min_x, max_x = sh[:n].min(), sh[:n].max()
        min_y, max_y = sh[n:].min(), sh[n:].max()
        return min_x, min_y, _f(abs(min_x - max_x)), _f(abs(min_y - max_y))

    def calc_params_from_landmarks(self, landmarks_stacked, rotation=(0.0, 0.0, 0.0),
                                   fast: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """PDM::CalcParams(Vec6f&, Mat&, landmarks, Vec3f): fit global+local params to 2-D landmarks.

        landmarks_stacked (2n,) float32; x == 0 marks a landmark as missing. Returns
        (params_global (6,), params_local (m,)) float32. Gauss-Newton with 0.75 damping, as C++.
        fast: each iteration through the fused kernels of rlms_kernels (the same arithmetic, bit for
        bit); False runs the step-by-step loop they are checked against."""
        lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
        n_all, m = self.n_points, self.n_modes
        vis = lm[:n_all] != 0
        vis3 = np.concatenate([vis, vis, vis])
        M = np.ascontiguousarray(self.mean_shape[vis3])
        V = np.ascontiguousarray(self.princ_comp[vis3])
        n = int(vis.sum())
        locs = np.concatenate([lm[:n_all][vis], lm[n_all:][vis]]).astype(np.float32)
        min_x, max_x = locs[:n].min(), locs[:n].max()
        min_y, max_y = locs[n:].min(), locs[n:].max()
        width = _f(abs(min_x - max_x))
        height = _f(abs(min_y - max_y))
        sub = PDM(M, V, self.eigen_values)
        _, _, mw, mh = sub.calc_bounding_box(np.array([1, 0, 0, 0, 0, 0], dtype=np.float32),
                                             np.zeros(m, dtype=np.float32))
        scaling = _f(((width / mw) + (height / mh)) / _f(2))
        rot = np.asarray(rotation, dtype=np.float32).reshape(3).copy()
        R = euler_to_matrix_k(rot[0], rot[1], rot[2])
        tx, ty = _f((min_x + max_x) / _f(2)), _f((min_y + max_y) / _f(2))
        loc = np.zeros(m, dtype=np.float32)
        glob = np.array([scaling, rot[0], rot[1], rot[2], tx, ty], dtype=np.float32)
        shape_3d = _mean_plus_v_loc(M, V, loc)
        curr_error = _f(l2_dist(shape2d(shape_3d, glob, R), locs))
        reg = np.zeros(6 + m, dtype=np.float32)
        reg[6:] = (_f(1) / self.eigen_values).astype(np.float32)
        if fast:
            return _calc_params_loop_fast(M, V, reg, locs, glob, loc, curr_error)
        w = np.ones(2 * n, dtype=np.float32)
        not_improved = 0
        for _ in range(1000):
            shape_3d = _mean_plus_v_loc(M, V, loc)
            resid = (locs - project(shape_3d, scaling, R, tx, ty)).astype(np.float32)
            J, Jwt = sub.jacobian(loc, glob, w)
            jwtm = cv_gemv_f32(Jwt, resid)
            jwtm[6:] = minus_diag_times(jwtm[6:], reg[6:], loc)
            H = sgemm_jtwj(Jwt, J, reg)
            upd = cholesky_solve(H, jwtm)
            upd = (_f(0.75) * upd).astype(np.float32)
            loc, glob = sub.update_model_parameters(upd, loc, glob)
            scaling, tx, ty = glob[0], glob[4], glob[5]
            R = euler_to_matrix_k(glob[1], glob[2], glob[3])
            # the error of the new pose with the shape from before the update, as C++
            err = _f(l2_dist(project(shape_3d, scaling, R, tx, ty), locs))
            if 0.999 * float(curr_error) < float(err):
                not_improved += 1
                if not_improved == 3:
                    break
            curr_error = err
        return glob.astype(np.float32), loc.astype(np.float32)


# OpenCV hands float cv::gemm to LAPACK/BLAS (cblas_sgemm) when the result has >= 100 rows
# (hal_internal.cpp, HAL_GEMM_SMALL_MATRIX_THRESH, a test on m only); below it computes natively with
# double accumulation.
CV_GEMM_BLAS_MIN_ROWS = 100


def _mean_plus_v_loc(mean: np.ndarray, v: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """`M + V * loc_params` of PDM::CalcParams -> (3n,) float32. The MatExpr is one cv::gemm with
    C = M, beta = 1: for the main and inner PDMs (3n >= 100 rows) cblas_sgemm (one FMA chain per row,
    k ascending, then + M in float: the kernel with one output row, alpha = 1); for smaller ones (the
    eyes) OpenCV's own gemm, everything in double and rounded once."""
    loc = np.ascontiguousarray(loc, dtype=np.float32).reshape(-1)
    if v.shape[0] >= CV_GEMM_BLAS_MIN_ROWS:
        return shape3d(v, loc, mean, FMA_FUSED)
    return (v.astype(np.float64) @ loc.astype(np.float64) + mean.astype(np.float64)).astype(np.float32)


def _calc_params_loop_fast(M, V, reg, locs, glob, loc, curr_error) -> tuple[np.ndarray, np.ndarray]:
    """calc_params_from_landmarks' Gauss-Newton loop (same order, same values) in fused kernels
    (pdm_fused.calc_params_*; the OpenCV calls through cv_ports' bit-exact ports)."""
    from pyparity.pipelines.clnf.model.pdm_fused import (calc_params_finish, calc_params_iteration_pre,
                                                   calc_params_post_solve, calc_params_solve_and_rotate)
    k = reg.shape[0]
    split_t = split_mask_t(k)
    H = np.empty((k, k), dtype=np.float32)
    jwtm = np.empty(k, dtype=np.float32)
    glob = glob.copy()
    loc = loc.copy()
    # M + V·p in the kernels when it is the FMA chain (V with >= 100 rows), else numpy's double gemv here
    fused_shape = V.shape[0] >= CV_GEMM_BLAS_MIN_ROWS
    shape_3d = _mean_plus_v_loc(M, V, loc).copy()
    calc_params_iteration_pre(M, V, loc, glob, shape_3d, locs, reg, split_t, FMA_FUSED, H, jwtm)
    not_improved = 0
    for _ in range(1000):
        upd, r1, small, rot, stage = calc_params_solve_and_rotate(H, jwtm, glob)
        if stage:   # a failed Cholesky or a zero singular value: the ports leave those to OpenCV
            if stage == 1:
                upd, r1, small = calc_params_post_solve(cholesky_solve(H, jwtm), glob)
            rot = rotation_update_opencv(r1, small)
        stop, curr_error, not_improved = calc_params_finish(rot, upd, glob, loc, shape_3d, locs, M, V, reg, split_t,
                                                            FMA_FUSED, H, jwtm, curr_error, not_improved, fused_shape)
        if stop:
            break
        if not fused_shape:
            shape_3d = _mean_plus_v_loc(M, V, loc).copy()
            calc_params_iteration_pre(M, V, loc, glob, shape_3d, locs, reg, split_t, FMA_FUSED, H, jwtm)
    return glob.astype(np.float32), loc.astype(np.float32)


def minus_diag_times(jwtm_tail: np.ndarray, reg_diag_tail: np.ndarray, loc: np.ndarray) -> np.ndarray:
    """`J_w_t_m(6..) - regTerm(6.., 6..) * params_local` (NU_RLMS, CalcParams): one native cv::gemm
    with C = J_w_t_m, alpha = -1, beta = 1 (m < 100 rows), all in double, rounded once. regTerm is
    diagonal, so the product is exact in double."""
    return (np.asarray(jwtm_tail, dtype=np.float64)
            - np.asarray(reg_diag_tail, dtype=np.float64) * np.asarray(loc, dtype=np.float64)).astype(np.float32)


def cholesky_solve(H: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cv::solve(H, b, DECOMP_CHOLESKY) on float32 -> (k,) float32."""
    ok, x = cv2.solve(np.ascontiguousarray(H, dtype=np.float32), np.ascontiguousarray(b, dtype=np.float32).reshape(-1, 1),
                      flags=cv2.DECOMP_CHOLESKY)
    return x.reshape(-1).astype(np.float32)


def rotation_update_opencv(r1: np.ndarray, small: np.ndarray) -> np.ndarray:
    """The rotation step of PDM::UpdateModelParameters through OpenCV itself (cv::SVD of R', then
    cv::Rodrigues there and back): what the fused fast paths (NU-RLMS, CalcParams) fall back to where
    the numba ports decline (a zero singular value)."""
    from pyparity.pipelines.clnf.model.pdm_fused import update_compose

    _w, u, vt = cv2.SVDecomp(small)
    axis_angle, _ = cv2.Rodrigues(update_compose(r1, u, vt))
    rot, _ = cv2.Rodrigues(axis_angle)
    return rot


def orthonormalise(r: np.ndarray) -> np.ndarray:
    """PDM::Orthonormalise: nearest rotation through cv::SVD (float), keeping det = +1. The products
    and the determinant as OpenCV computes them (orthonormalise_finish): with them
    UpdateModelParameters is bit-exact on every recorded update of the reference dumps."""
    _w, u, vt = cv2.SVDecomp(np.ascontiguousarray(r, dtype=np.float32))
    return orthonormalise_finish(u, vt)


def read_pdm(path: str | Path) -> PDM:
    """PDM::Read: three matrices (mean 3n×1, principal components 3n×m, eigenvalues 1×m or m×1)
    after '#' comment lines; values read as double and converted to float32."""
    path = Path(path)
    text = read_text(path, "PDM file", ModelError, not_utf8=", not a PDM text file")
    tokens = [t for line in text.splitlines() if not line.lstrip().startswith("#") for t in line.split()]
    mean, pos = _read_mat(tokens, 0, path)
    pc, pos = _read_mat(tokens, pos, path)
    ev, pos = _read_mat(tokens, pos, path)
    if mean.shape[1] != 1 or mean.shape[0] % 3 or pc.shape[0] != mean.shape[0] or ev.size != pc.shape[1]:
        raise ModelError(f"{path}: inconsistent PDM matrix sizes {mean.shape}, {pc.shape}, {ev.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(pc)) and np.all(np.isfinite(ev))):
        raise ModelError(f"{path}: non-finite value in PDM file")
    if np.any(ev.astype(np.float32) <= 0):
        # the fitting regularises with 1 / eigenvalue
        raise ModelError(f"{path}: PDM eigenvalues must be positive")
    return PDM(mean[:, 0].astype(np.float32), np.ascontiguousarray(pc.astype(np.float32)),
               ev.reshape(-1).astype(np.float32), path)
