"""OpenFace's CNN layers (CNN_utils.cpp, CNN::Inference) with its float arithmetic.

Feature maps are kept channels-last, (B, H, W, C) float32 — the layout the im2col product comes out
in — and each image of a batch is computed exactly as OpenFace computes it alone. Conventions follow
OpenFace: input images are BGR and the network sees RGB maps; convolutions are cross-correlations
without padding.
"""

from __future__ import annotations

import numba
import numpy as np

from pyparity.pipelines import blas
from pyparity.pipelines.mtcnn import sgemm
from pyparity.pipelines.mtcnn.weights import CNN, Conv, FullyConnected, MaxPool, PReLU, Sigmoid


@numba.njit(cache=True, nogil=True, fastmath=False)
def _im2col(maps, kh, kw):
    b_n, h, w, c_n = maps.shape
    yb, xb = h - kh + 1, w - kw + 1
    k = c_n * kw * kh
    out = np.empty((b_n, yb * xb, k + 1), np.float32)
    for b in range(b_n):
        for i in range(yb):
            for j in range(xb):
                p = i * xb + j
                # reads run along the (contiguous) channels; the columns land where im2col puts them
                for yy in range(kh):
                    for xx in range(kw):
                        for c in range(c_n):
                            out[b, p, c * kw * kh + xx * kh + yy] = maps[b, i + yy, j + xx, c]
                out[b, p, k] = 1.0
    return out


@numba.njit(cache=True, nogil=True, fastmath=False)
def _im2col_few_channels(maps, kh, kw):
    # the first layers (3 channels): rows written in order through a table of source offsets
    b_n, h, w, c_n = maps.shape
    yb, xb = h - kh + 1, w - kw + 1
    k = c_n * kw * kh
    out = np.empty(b_n * yb * xb * (k + 1), np.float32)
    src = maps.ravel()
    offsets = np.empty(k, np.int64)
    for c in range(c_n):
        for xx in range(kw):
            for yy in range(kh):
                offsets[c * kw * kh + xx * kh + yy] = (yy * w + xx) * c_n + c
    d = 0
    for b in range(b_n):
        for i in range(yb):
            for j in range(xb):
                base = ((b * h + i) * w + j) * c_n
                for q in range(k):
                    out[d + q] = src[base + offsets[q]]
                out[d + k] = 1.0
                d += k + 1
    return out.reshape(b_n, yb * xb, k + 1)


def im2col(maps: np.ndarray, kh: int, kw: int) -> np.ndarray:
    """(B, H, W, C) -> (B, yB*xB, C*kw*kh + 1) float32, as im2col_multimap per image: one row per
    output pixel (row-major), columns ordered input map, kernel column, kernel row, then a one
    (the bias row of the weight matrix). The column order is the order of the sgemm's sums."""
    maps = np.ascontiguousarray(maps, np.float32)
    return _im2col_few_channels(maps, kh, kw) if maps.shape[3] <= 4 else _im2col(maps, kh, kw)


def conv2d(maps: np.ndarray, layer: Conv) -> np.ndarray:
    """convolution_direct_blas on (B, H, W, C): im2col times the weight matrix (bias folded in as
    the last row), one float32 sgemm per image (a stacked matmul calls sgemm image by image, so every
    product has the reference's shape and tiling). Returns (B, H-kh+1, W-kw+1, n_out) float32."""
    b, h, w, c = maps.shape
    yb, xb = h - layer.kh + 1, w - layer.kw + 1
    if yb <= 0 or xb <= 0:
        return np.zeros((b, max(yb, 0), max(xb, 0), layer.n_out), np.float32)
    cols = im2col(maps, layer.kh, layer.kw)
    with blas.single_thread():
        out = np.matmul(cols, layer.weight_matrix)                     # (B, pixels, n_out)
    return out.reshape(b, yb, xb, layer.n_out)


@numba.njit(cache=True, nogil=True, fastmath=False)
def _prelu(x, slopes):
    n, c_n = x.shape
    for i in range(n):
        for c in range(c_n):
            v = x[i, c]
            if not v >= 0:
                x[i, c] = v * slopes[c]


def prelu(x: np.ndarray, layer: PReLU) -> np.ndarray:
    """``v >= 0 ? v : v * slope`` per channel (last axis), float32, in place."""
    x = np.ascontiguousarray(x, np.float32)
    _prelu(x.reshape(-1, x.shape[-1]), layer.slopes)
    return x


def _c_round(v: float) -> int:
    # C's round(): half away from zero (max_pooling rounds (in - k) / stride this way).
    return int(np.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


@numba.njit(cache=True, nogil=True, fastmath=False)
def _max_pool(maps, kx, ky, sx, sy, out_x, out_y):
    b_n, h, w, c_n = maps.shape
    out = np.zeros((b_n, out_y, out_x, c_n), np.float32)
    lowest = np.float32(-3.4028234663852886e38)
    m = np.empty(c_n, np.float32)
    for b in range(b_n):
        for oy in range(out_y):
            y = oy * sy
            if y >= h:
                continue
            y1 = min(h, y + ky)
            for ox in range(out_x):
                x = ox * sx
                if x >= w:
                    continue
                x1 = min(w, x + kx)
                # every channel visits its window in the reference's order (x outer, y inner)
                m[:] = lowest
                for xi in range(x, x1):
                    for yi in range(y, y1):
                        for c in range(c_n):
                            v = maps[b, yi, xi, c]
                            if v > m[c]:
                                m[c] = v
                out[b, oy, ox, :] = m
    return out


def max_pool(maps: np.ndarray, layer: MaxPool) -> np.ndarray:
    """max_pooling on (B, H, W, C): output size ``round((in - k) / stride) + 1`` (Caffe-style),
    windows clipped at the border (a partial last window takes the max of what is inside)."""
    b, h, w, c = maps.shape
    out_x = _c_round(float(np.float32(w - layer.kernel_x) / np.float32(layer.stride_x))) + 1
    out_y = _c_round(float(np.float32(h - layer.kernel_y) / np.float32(layer.stride_y))) + 1
    return _max_pool(np.ascontiguousarray(maps, np.float32), layer.kernel_x, layer.kernel_y,
                     layer.stride_x, layer.stride_y, max(out_x, 0), max(out_y, 0))


def fully_connected(x: np.ndarray, layer: FullyConnected) -> np.ndarray:
    """CNN_utils fully_connected on a batch. OpenCV's own gemm (results under 100 rows) accumulates
    float32 products in double and rounds once (larger ones go to OpenBLAS: ``sgemm.py``); the bias
    is added in double too when the product is ``weights * x + biases``, but separately in float32
    for the per-pixel (PNet) form.

    ``x``: (B, H, W, C) maps or (B, n) vectors. Per-pixel form (C == n_in): returns (B, H, W, n_out);
    otherwise maps are flattened per map in column-major order (each map transposed) and (B, n_out)
    is returned.
    """
    if x.ndim == 4 and x.shape[3] == layer.weights.shape[1] and x.shape[3] > 1:
        b, h, w, c = x.shape
        prod = (x.reshape(-1, c).astype(np.float64) @ layer.weights.T.astype(np.float64)).astype(np.float32)
        return (prod + layer.biases[None, :]).reshape(b, h, w, -1)
    vec = x.transpose(0, 3, 2, 1).reshape(x.shape[0], -1) if x.ndim == 4 else x
    if layer.weights.shape[0] >= sgemm.HAL_THRESHOLD_ROWS:
        # OpenCV hands results of >= 100 rows to OpenBLAS sgemm (RNet/ONet's first FC layer)
        return sgemm.weights_times_vectors_plus_bias(layer.weights, vec, layer.biases)
    out = vec.astype(np.float64) @ layer.weights.T.astype(np.float64) + layer.biases.astype(np.float64)
    return out.astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


def forward(net: CNN, image_bgr: np.ndarray) -> np.ndarray:
    """CNN::Inference on one normalised (H, W, 3) BGR float32 image; returns the last layer's output
    as OpenFace holds it: (n_out, h, w) maps for PNet, an (n_out,) vector for RNet/ONet."""
    out = forward_batch(net, np.asarray(image_bgr, np.float32)[None])[0]
    return np.ascontiguousarray(out.transpose(2, 0, 1)) if out.ndim == 3 else out


def forward_batch(net: CNN, images_bgr: np.ndarray) -> np.ndarray:
    """CNN::Inference on each of B same-sized normalised (H, W, 3) BGR float32 images, image by image
    in arithmetic; returns (B, h, w, n_out) maps or (B, n_out) vectors."""
    return run_layers(net.layers, rgb_maps(images_bgr))


def rgb_maps(images_bgr: np.ndarray) -> np.ndarray:
    """(B, H, W, 3) BGR images -> the RGB maps CNN::Inference feeds its first layer."""
    return np.ascontiguousarray(np.asarray(images_bgr, np.float32)[:, :, :, ::-1])


def split_at_dense(net: CNN) -> tuple[tuple, tuple]:
    """``(trunk, head)``: the layers before the first fully connected one, and the rest. For RNet
    and ONet the trunk works on each image alone (so it can run on any split of a batch with the
    same bits) and the head's small products take the whole batch at once, as they always have."""
    for i, layer in enumerate(net.layers):
        if isinstance(layer, FullyConnected):
            return net.layers[:i], net.layers[i:]
    return net.layers, ()


def run_layers(layers, x: np.ndarray) -> np.ndarray:
    """Apply ``layers`` in order to (B, H, W, C) maps (or (B, n) vectors)."""
    for layer in layers:
        if isinstance(layer, Conv):
            x = conv2d(x, layer)
        elif isinstance(layer, PReLU):
            x = prelu(x, layer)
        elif isinstance(layer, MaxPool):
            x = max_pool(x, layer)
        elif isinstance(layer, FullyConnected):
            x = fully_connected(x, layer)
        elif isinstance(layer, Sigmoid):
            x = sigmoid(x)
    return x
