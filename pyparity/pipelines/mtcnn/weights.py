"""Reader of OpenFace's binary CNN files (``PNet.dat``, ``RNet.dat``, ``ONet.dat``).

Layout, as ``CNN::Read`` in OpenFace's FaceDetectorMTCNN.cpp reads it (all little-endian int32 /
float32): ``depth``, then per layer a type (0 conv, 1 max-pool, 2 fully connected, 3 PReLU,
4 sigmoid) followed by its data. A matrix ("MatBin") is ``rows, cols, cv_type`` then rows×cols
values; only CV_32F (type 5) occurs. Conv layers store ``n_in, n_out``, ``n_out`` biases, then
``n_in × n_out`` kernel matrices (input-major).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyparity.errors import ModelError

_CV_32F = 5


@dataclass(frozen=True)
class Conv:
    """Convolution (cross-correlation, no padding, stride 1).

    ``weight_matrix``: (n_in*kh*kw + 1, n_out) float32, rows ordered as OpenFace's im2col columns —
    input map, then kernel column ``xx``, then kernel row ``yy`` (index ``in*kh*kw + xx*kh + yy``) —
    with the biases as the last row (OpenFace folds the bias into the product with a column of ones).
    """

    n_in: int
    n_out: int
    kh: int
    kw: int
    weight_matrix: np.ndarray


@dataclass(frozen=True)
class MaxPool:
    kernel_x: int
    kernel_y: int
    stride_x: int
    stride_y: int


@dataclass(frozen=True)
class FullyConnected:
    """``weights``: (n_out, n_in) float32 (the file stores the transpose); ``biases``: (n_out,)."""

    weights: np.ndarray
    biases: np.ndarray


@dataclass(frozen=True)
class PReLU:
    """``slopes``: (n_channels,) float32 negative-side slopes."""

    slopes: np.ndarray


@dataclass(frozen=True)
class Sigmoid:
    pass


@dataclass(frozen=True)
class CNN:
    """An OpenFace CNN: its layers in file order, and the file it came from."""

    layers: tuple
    source: str


class _Reader:
    def __init__(self, data: bytes, path: str) -> None:
        self.data, self.pos, self.path = data, 0, path

    def _need(self, n: int) -> None:
        if self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: truncated CNN file (needs {self.pos + n} bytes, has {len(self.data)})")

    def i32(self) -> int:
        self._need(4)
        v = int(np.frombuffer(self.data, "<i4", 1, self.pos)[0])
        self.pos += 4
        return v

    def f32(self, n: int) -> np.ndarray:
        self._need(4 * n)
        v = np.frombuffer(self.data, "<f4", n, self.pos).astype(np.float32)
        self.pos += 4 * n
        return v

    def mat(self) -> np.ndarray:
        rows, cols, typ = self.i32(), self.i32(), self.i32()
        if typ != _CV_32F or rows < 0 or cols < 0 or rows * cols > 1 << 26:
            raise ModelError(f"{self.path}: bad matrix header at byte {self.pos - 12} "
                             f"(rows={rows}, cols={cols}, type={typ}; expected CV_32F)")
        return self.f32(rows * cols).reshape(rows, cols)


def read_cnn(path: str | os.PathLike) -> CNN:
    """Read one OpenFace CNN ``.dat`` file; raises ModelError if it is missing or malformed."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise ModelError(f"{p}: cannot read CNN model file ({e.strerror or e})") from None
    r = _Reader(data, str(p))
    depth = r.i32()
    if not 0 < depth < 1000:
        raise ModelError(f"{p}: not an OpenFace CNN file (layer count {depth})")
    layers: list = []
    for _ in range(depth):
        t = r.i32()
        if t == 0:
            n_in, n_out = r.i32(), r.i32()
            if not (0 < n_in < 10000 and 0 < n_out < 10000):
                raise ModelError(f"{p}: bad conv layer header ({n_in} inputs, {n_out} kernels)")
            bias = r.f32(n_out)
            kernels = [[r.mat() for _ in range(n_out)] for _ in range(n_in)]
            kh, kw = kernels[0][0].shape
            # (n_in, n_out, kh, kw) -> rows indexed in*kh*kw + xx*kh + yy, as OpenFace flattens the
            # transposed kernel (CNN::Read) to match its column-major im2col_multimap.
            k = np.stack([np.stack(row) for row in kernels])            # (n_in, n_out, kh, kw)
            wm = np.transpose(k, (0, 3, 2, 1)).reshape(n_in * kw * kh, n_out)
            wm = np.concatenate([wm, bias[None, :]], axis=0).astype(np.float32)
            layers.append(Conv(n_in, n_out, kh, kw, np.ascontiguousarray(wm)))
        elif t == 1:
            kx, ky, sx, sy = r.i32(), r.i32(), r.i32(), r.i32()
            layers.append(MaxPool(kx, ky, sx, sy))
        elif t == 2:
            biases = r.mat()
            weights = r.mat()
            layers.append(FullyConnected(np.ascontiguousarray(weights.T), biases.reshape(-1).copy()))
        elif t == 3:
            layers.append(PReLU(r.mat().reshape(-1).copy()))
        elif t == 4:
            layers.append(Sigmoid())
        else:
            raise ModelError(f"{p}: unknown layer type {t}")
    if r.pos != len(data):
        raise ModelError(f"{p}: {len(data) - r.pos} unexpected trailing bytes after {depth} layers")
    return CNN(tuple(layers), str(p))


@dataclass(frozen=True)
class MTCNNModels:
    pnet: CNN
    rnet: CNN
    onet: CNN


class _ModelCache:
    """Loaded networks keyed by (resolved path, mtime, size): a file that changes is re-read."""

    def __init__(self, max_entries: int = 4) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple, MTCNNModels] = {}
        self._max = max_entries

    def get(self, folder: Path) -> MTCNNModels:
        files = [folder / f"{n}.dat" for n in ("PNet", "RNet", "ONet")]
        key_parts = []
        for f in files:
            try:
                st = f.stat()
            except OSError:
                raise ModelError(f"{f}: MTCNN model file not found") from None
            key_parts.append((str(f.resolve()), st.st_mtime_ns, st.st_size))
        key = tuple(key_parts)
        with self._lock:
            hit = self._entries.get(key)
        if hit is not None:
            return hit
        models = MTCNNModels(*(read_cnn(f) for f in files))
        with self._lock:
            if len(self._entries) >= self._max:
                self._entries.pop(next(iter(self._entries)))
            self._entries[key] = models
        return models


MODEL_CACHE = _ModelCache()


def mtcnn_folder(model_dir: str | os.PathLike) -> Path:
    """The folder holding PNet/RNet/ONet.dat: ``model_dir/mtcnn_detector`` (OpenFace's model-folder
    layout) or ``model_dir`` itself when the .dat files are directly in it."""
    d = Path(model_dir)
    if (d / "mtcnn_detector" / "PNet.dat").exists():
        return d / "mtcnn_detector"
    if (d / "PNet.dat").exists():
        return d
    raise ModelError(f"{d}: no MTCNN model files (expected mtcnn_detector/PNet.dat, RNet.dat, ONet.dat)")


def load_mtcnn(model_dir: str | os.PathLike) -> MTCNNModels:
    """PNet, RNet and ONet from an OpenFace model folder (cached per file path and mtime)."""
    return MODEL_CACHE.get(mtcnn_folder(model_dir))
