"""CNN detection validator (OpenFace LandmarkDetectionValidator.cpp, `validator_cnn.txt`).

API:
    v = read_validator(path)                                  # DetectionValidator::Read
    certainty = v.check(orientation_rxyz, gray_u8, landmarks_stacked)   # DetectionValidator::Check -> float
    v.view_index(orientation_rxyz) -> int

    v.cnn_output(orientation_rxyz, gray_u8, landmarks_stacked) -> (bins,) float32 | None   # before the argmax

The output is quantised: 0.5·(1 − (−1 + step/2 + argmax·step)) with step = 2/30, so only the argmax of
the last layer has to agree with the reference; the layers are evaluated in float32 with NumPy matrix
products (not the reference's OpenBLAS summation order). Everything around the products (im2col, ReLU,
pooling, the PAW maps) is numba (validator_kernels), bit-identical to the plain NumPy form kept in
validator_numpy (tests/pipelines/clnf/validator/test_fast_paths.py). The last layer's values (not its argmax on the
dumps) depend on OpenBLAS's thread count: its threaded sgemm splits the product differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.model.matbin import MatBinReader
from pyparity.pipelines.clnf.validator import kernels as vk
from pyparity.pipelines.clnf.validator.paw import Paw


@dataclass
class _View:
    mean_image: np.ndarray          # (n_pixels,) float32
    std_image: np.ndarray           # (n_pixels,) float32
    layers: list                    # ("conv", W (K, n_k), kh, kw) | ("relu",) | ("pool",) | ("fc", W (out, in), b (out,)) | ("sigmoid",)
    paw: Paw
    mask_t: np.ndarray = field(init=False, repr=False)   # (w, h) bool: the mask transposed (column-major order)

    def __post_init__(self):
        self.mask_t = np.ascontiguousarray(self.paw.pixel_mask.T != 0)


@dataclass
class DetectionValidator:
    path: Path
    orientations: np.ndarray        # (n_views, 3) float64 radians
    views: list[_View] = field(repr=False)

    def __post_init__(self):
        self._orientation_tuples = [tuple(float(v) for v in c) for c in self.orientations]

    def view_index(self, orientation) -> int:
        """DetectionValidator::GetViewId: nearest orientation by Euclidean norm (first minimum wins).
        In Python floats: the same float64 operations as NumPy's on the 3-vectors, without its
        per-call cost."""
        o = np.asarray(orientation, dtype=np.float64).reshape(3)
        o0, o1, o2 = float(o[0]), float(o[1]), float(o[2])
        best, dbest = 0, -1.0
        for i, (c0, c1, c2) in enumerate(self._orientation_tuples):
            d = view_distance(o0, o1, o2, c0, c1, c2)
            if i == 0 or d < dbest:
                best, dbest = i, d
        return best

    def check(self, orientation, gray: np.ndarray, landmarks_stacked: np.ndarray) -> float:
        """DetectionValidator::Check: certainty in [0, 1] (float32 value returned as Python float).

        orientation: (rx, ry, rz) radians (params_global[1:4]); gray: (H, W) uint8 image;
        landmarks_stacked: (2n,) float32 final landmarks."""
        out = self.cnn_output(orientation, gray, landmarks_stacked)
        if out is None:
            return 0.0
        return float(np.float32(0.5 * (1.0 - _decision(out))))

    def cnn_output(self, orientation, gray: np.ndarray, landmarks_stacked: np.ndarray) -> np.ndarray | None:
        """The last layer's (bins,) float32 output for `check`, or None where the ROI is empty."""
        g = np.asarray(gray)
        if g.ndim != 2 or g.dtype != np.uint8:
            raise InputError(f"the detection validator needs an 8-bit grayscale image, got {g.dtype} {g.shape}")
        view = self.views[self.view_index(orientation)]
        lm = np.array(landmarks_stacked, dtype=np.float32).reshape(-1)
        n = lm.shape[0] // 2
        xs, ys = lm[:n], lm[n:]
        # ExtractBoundingBox, then the ROI with 3 pixels to spare; (int) truncates toward zero
        three = np.float32(3.0)
        min_x = max(int(xs.min() - three), 0)
        max_x = min(int(xs.max() + three), g.shape[1] - 1)
        min_y = max(int(ys.min() - three), 0)
        max_y = min(int(ys.max() + three), g.shape[0] - 1)
        if max_x - min_x <= 1 or max_y - min_y <= 1:
            return None
        xs -= np.float32(min_x)
        ys -= np.float32(min_y)
        roi = g[min_y:max_y, min_x:max_x].astype(np.float32)
        return _cnn(view, view.paw.warp(roi, lm))

    def cnn_output_reference(self, orientation, gray: np.ndarray, landmarks_stacked: np.ndarray) -> np.ndarray | None:
        """`cnn_output` through the plain NumPy forms (validator_numpy): the fast path's reference."""
        from pyparity.pipelines.clnf.validator import numpy_path as validator_numpy
        return validator_numpy.cnn_output(self, orientation, gray, landmarks_stacked)


def view_distance(o0: float, o1: float, o2: float, c0: float, c1: float, c2: float) -> float:
    """np.sqrt(np.sum((o - c) ** 2)) for 3-vectors: NumPy squares as d·d (Python's d ** 2 calls pow, which
    is not always the same) and sums fewer than 8 values left to right."""
    d0, d1, d2 = o0 - c0, o1 - c1, o2 - c2
    return math.sqrt((d0 * d0 + d1 * d1) + d2 * d2)


def _decision(out: np.ndarray) -> float:
    """The bin centre of the first maximum (cv::minMaxLoc) on [-1, 1] split into len(out) bins."""
    idx = int(np.argmax(out))
    step = 2.0 / float(out.shape[0])
    return -1.0 + step / 2.0 + idx * step


def _cnn(view: _View, warped: np.ndarray) -> np.ndarray:
    """The CNN on the warped face: (bins,) float32. The products are NumPy's (sgemm for the
    convolutions' im2col form, sgemv for the fully connected layers); the rest is validator_kernels,
    on maps kept transposed (K, w, h)."""
    # NormaliseWarpedToVector, back on the mask: the one input map, transposed (1, w, h)
    stack_t = vk.normalised_map_t(warped, view.mask_t, view.mean_image, view.std_image)
    flat = None                            # the fully connected layers' vector once there
    layers, i = view.layers, 0
    while i < len(layers):
        layer = layers[i]
        kind = layer[0]
        if kind == "conv":
            _, wmat, kh, kw = layer
            w, h = stack_t.shape[1:]
            yb, xb = h - kh + 1, w - kw + 1
            cols = np.empty((yb * xb, wmat.shape[0]), dtype=np.float32)
            out = vk.im2col_t(stack_t, kh, kw, cols) @ wmat     # (yb*xb, n_kernels), as the NumPy form's sgemm
            # a following ReLU and/or pooling is fused into the move back to maps
            relu = i + 1 < len(layers) and layers[i + 1][0] == "relu"
            j = i + 1 + relu
            if j < len(layers) and layers[j][0] == "pool":
                pooled = np.empty((wmat.shape[1], _pool_size(xb), _pool_size(yb)), dtype=np.float32)
                stack_t = vk.relu_pool_t(out, yb, xb, relu, pooled)
                i = j + 1
            else:
                stack_t = vk.relu_maps_t(out, yb, xb, relu)
                i = j
            continue
        if kind == "relu":
            if flat is None:
                stack_t = vk.relu_flat(stack_t.reshape(-1)).reshape(stack_t.shape)
            else:
                flat = vk.relu_flat(flat)
        elif kind == "pool":
            w, h = stack_t.shape[1:]
            stack_t = vk.pool_maps_t(stack_t, _pool_size(h), _pool_size(w))
        elif kind == "fc":
            _, wfc, b = layer
            if flat is None:
                # several maps: each transposed then flattened, one after another (the transposed
                # layout's own order); one map: flattened row-major as the NumPy form does
                flat = stack_t.reshape(-1) if stack_t.shape[0] > 1 else np.ascontiguousarray(stack_t[0].T).reshape(-1)
            flat = wfc @ flat + b
        elif kind == "sigmoid":
            if flat is None:
                stack_t = (1.0 / (1.0 + np.exp(-stack_t.astype(np.float64)))).astype(np.float32)
            else:
                flat = (1.0 / (1.0 + np.exp(-flat.astype(np.float64)))).astype(np.float32)
        i += 1
    if flat is None:                       # no fully connected layer: the first map, row-major (the NumPy form)
        return np.ascontiguousarray(stack_t[0].T).reshape(-1)
    return flat


def _pool_size(n: int) -> int:
    """max_pooling's output size: round((n - 2) / 2) + 1 (Python's round, as the NumPy form)."""
    return int(round((n - 2) / 2.0)) + 1


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
