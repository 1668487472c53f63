"""CNN detection validator (OpenFace LandmarkDetectionValidator.cpp, `validator_cnn.txt`).

API:
    v = read_validator(path)                                  # DetectionValidator::Read
    certainty = v.check(orientation_rxyz, gray_u8, landmarks_stacked)   # DetectionValidator::Check -> float
    v.view_index(orientation_rxyz) -> int

The output is quantised: 0.5·(1 − (−1 + step/2 + argmax·step)) with step = 2/30, so only the argmax of
the last layer has to agree with the reference; the layers are evaluated in float32 with NumPy matrix
products (not the reference's OpenBLAS summation order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.matbin import MatBinReader
from pyparity.pipelines.clnf.paw import Paw


@dataclass
class _View:
    mean_image: np.ndarray          # (n_pixels,) float32
    std_image: np.ndarray           # (n_pixels,) float32
    layers: list                    # ("conv", W (K, n_k), kh, kw) | ("relu",) | ("pool",) | ("fc", W (out, in), b (out,)) | ("sigmoid",)
    paw: Paw


@dataclass
class DetectionValidator:
    path: Path
    orientations: np.ndarray        # (n_views, 3) float64 radians
    views: list[_View] = field(repr=False)

    def view_index(self, orientation) -> int:
        """DetectionValidator::GetViewId: nearest orientation by Euclidean norm (first minimum wins)."""
        o = np.asarray(orientation, dtype=np.float64).reshape(3)
        best, dbest = 0, -1.0
        for i, c in enumerate(self.orientations):
            d = float(np.sqrt(np.sum((o - c) ** 2)))
            if i == 0 or d < dbest:
                best, dbest = i, d
        return best

    def check(self, orientation, gray: np.ndarray, landmarks_stacked: np.ndarray) -> float:
        """DetectionValidator::Check: certainty in [0, 1] (float32 value returned as Python float).

        orientation: (rx, ry, rz) radians (params_global[1:4]); gray: (H, W) uint8 image;
        landmarks_stacked: (2n,) float32 final landmarks."""
        g = np.asarray(gray)
        if g.ndim != 2 or g.dtype != np.uint8:
            raise InputError(f"the detection validator needs an 8-bit grayscale image, got {g.dtype} {g.shape}")
        vid = self.view_index(orientation)
        view = self.views[vid]
        lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1).copy()
        n = lm.shape[0] // 2
        xs, ys = lm[:n], lm[n:]
        # ExtractBoundingBox, then the ROI with 3 pixels to spare; (int) truncates toward zero
        min_x = int(np.float32(xs.min() - np.float32(3.0)))
        max_x = int(np.float32(xs.max() + np.float32(3.0)))
        min_y = int(np.float32(ys.min() - np.float32(3.0)))
        max_y = int(np.float32(ys.max() + np.float32(3.0)))
        min_x = max(min_x, 0)
        min_y = max(min_y, 0)
        max_x = min(max_x, g.shape[1] - 1)
        max_y = min(max_y, g.shape[0] - 1)
        if max_x - min_x <= 1 or max_y - min_y <= 1:
            return 0.0
        lm[:n] = xs - np.float32(min_x)
        lm[n:] = ys - np.float32(min_y)
        roi = g[min_y:max_y, min_x:max_x].astype(np.float32)
        warped = view.paw.warp(roi, lm)
        dec = self._check_cnn(view, warped)
        return float(np.float32(0.5 * (1.0 - dec)))

    @staticmethod
    def _normalise(view: _View, warped: np.ndarray) -> np.ndarray:
        """NormaliseWarpedToVector: the masked pixels (column-major order), local then global normalisation."""
        mask_t = view.paw.pixel_mask.T != 0
        vec = warped.T[mask_t].astype(np.float32)
        mean = np.mean(vec.astype(np.float64))
        std = np.sqrt(np.mean(vec.astype(np.float64) ** 2) - mean * mean)
        vec = (vec - np.float32(mean)).astype(np.float32)
        if std == 0:
            std = 1.0
        vec = (vec * np.float32(1.0 / std)).astype(np.float32)
        return ((vec - view.mean_image) / view.std_image).astype(np.float32)

    def _check_cnn(self, view: _View, warped: np.ndarray) -> float:
        feat = self._normalise(view, warped)
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
                    # maps transposed then flattened: column-major per map, maps one after another
                    x = np.concatenate([m.T.reshape(-1) for m in maps])
                else:
                    x = maps[0].reshape(-1)
                maps = [(w @ x + b).astype(np.float32).reshape(-1, 1)]
            elif kind == "sigmoid":
                maps = [(1.0 / (1.0 + np.exp(-m.astype(np.float64)))).astype(np.float32) for m in maps]
        out = maps[0].reshape(-1)
        idx = int(np.argmax(out))      # cv::minMaxLoc: first maximum
        bins = float(out.shape[0])
        step = 2.0 / bins
        return -1.0 + step / 2.0 + idx * step


def _conv(maps: list[np.ndarray], wmat: np.ndarray, kh: int, kw: int) -> list[np.ndarray]:
    """convolution_direct_blas: im2col over all input maps (feature xx·kh + yy + map·kh·kw, then a 1 for
    the bias) times the (K, n_kernels) weight matrix; one (yB, xB) map per kernel."""
    h, w = maps[0].shape
    yb, xb = h - kh + 1, w - kw + 1
    stack = np.stack(maps)                                   # (M, h, w)
    win = np.lib.stride_tricks.sliding_window_view(stack, (kh, kw), axis=(1, 2))   # (M, yb, xb, kh, kw)
    cols = win.transpose(1, 2, 0, 4, 3).reshape(yb * xb, -1)  # row = y*xB + x; feature = m*kh*kw + xx*kh + yy
    cols = np.concatenate([cols, np.ones((yb * xb, 1), dtype=np.float32)], axis=1)
    out = (cols @ wmat).astype(np.float32)                    # (yb*xb, n_kernels)
    return [out[:, k].reshape(yb, xb) for k in range(out.shape[1])]


def _max_pool_2x2(m: np.ndarray) -> np.ndarray:
    """max_pooling(stride 2, kernel 2): out size round((n - 2) / 2) + 1, windows clipped at the border."""
    h, w = m.shape
    oy = int(round((h - 2) / 2.0)) + 1
    ox = int(round((w - 2) / 2.0)) + 1
    pad = np.full((oy * 2, ox * 2), -np.finfo(np.float32).max, dtype=np.float32)
    hh, ww = min(h, oy * 2), min(w, ox * 2)
    pad[:hh, :ww] = m[:hh, :ww]
    return pad.reshape(oy, 2, ox, 2).max(axis=(1, 3))


def read_validator(path: str | Path) -> DetectionValidator:
    """DetectionValidator::Read (validator type 3: CNN)."""
    path = Path(path)
    r = MatBinReader.from_file(path, "detection validator")
    vtype = r.i32()
    if vtype != 3:
        raise ModelError(f"{path}: validator type {vtype} is not supported (only the CNN validator, type 3)")
    n = r.i32()
    if not 0 < n < 100:
        raise ModelError(f"{path}: not a validator file (view count {n})")
    orientations = np.stack([r.mat().astype(np.float64).reshape(-1)[:3] for _ in range(n)]) * np.pi / 180.0
    views = []
    for _ in range(n):
        mean_img = r.mat().astype(np.float32).reshape(-1)   # stored as a row; C++ transposes to a column
        std_img = r.mat().astype(np.float32).reshape(-1)
        depth = r.i32()
        layers: list = []
        for _ in range(depth):
            t = r.i32()
            if t == 0:
                n_in, n_k = r.i32(), r.i32()
                biases = np.array([r.f32() for _ in range(n_k)], dtype=np.float32)
                kernels = [[r.mat().astype(np.float32) for _ in range(n_k)] for _ in range(n_in)]
                kh, kw = kernels[0][0].shape
                # weight matrix rows: map-major, then the kernel flattened column-major; bias last
                w = np.empty((n_in * kh * kw + 1, n_k), dtype=np.float32)
                for k in range(n_k):
                    for i in range(n_in):
                        w[i * kh * kw:(i + 1) * kh * kw, k] = kernels[i][k].T.reshape(-1)
                w[-1] = biases
                layers.append(("conv", w, kh, kw))
            elif t == 1:
                layers.append(("pool",))
            elif t == 2:
                b = r.mat().astype(np.float32).reshape(-1)
                w = r.mat().astype(np.float32)
                layers.append(("fc", np.ascontiguousarray(w.T), b))
            elif t == 3:
                layers.append(("relu",))
            elif t == 4:
                layers.append(("sigmoid",))
            else:
                raise ModelError(f"{path}: unknown validator layer type {t}")
        paw = Paw.read(r)
        views.append(_View(mean_img, std_img, layers, paw))
    r.expect_end("the validator")
    return DetectionValidator(path, orientations, views)
