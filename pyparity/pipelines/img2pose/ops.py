"""NumPy neural-network primitives for img2pose (batch of one image, NCHW without the N).

All arithmetic is float32 as in PyTorch's CPU kernels. Convolutions are float32 GEMMs: 3x3 stride-1
layers as Winograd F(2x2, 3x3) (winograd.py), the others one GEMM per kernel tap or one im2col GEMM
(`conv2d_direct`). Every layer's GEMMs are cut into chunks (blocks of output channels or features, or
the 16 Winograd products) that threads.py spreads over threads; the bounds depend on the shapes only,
so the bits do not depend on the thread count. PyTorch (oneDNN) sums the products in another order, so results differ from the
reference in the last bits, never in structure.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from pyparity.pipelines.img2pose import threads, winograd

_F32 = np.float32

# Winograd F(2x2, 3x3) from this many 2x2 output tiles up: below it (layer4's 5x6 maps) the 16
# transformed weight matrices (16/9 of the kernel's size) cost more to stream than the products saved.
WINOGRAD_MIN_TILES = 16


def conv2d(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1, pad: int = 0, *,
           scale: np.ndarray | None = None, shift: np.ndarray | None = None, residual: np.ndarray | None = None,
           relu: bool = False) -> np.ndarray:
    """x (C, H, W) float32, w (O, C, kh, kw) -> (O, Ho, Wo) float32; zero padding, no dilation/groups.

    Then, each only if given, in float32 and in this order: ``+ b``, ``* scale + shift`` (a frozen
    batch norm's affine, `frozen_bn_affine`), ``+ residual`` and ReLU: the order of the network's
    separate ops, fused into the convolution's last pass where Winograd applies.
    """
    O, C, kh, kw = w.shape
    if (kh, kw, stride, pad) == (3, 3, 1, 1) and np.prod(winograd.tiles(*x.shape[1:])) >= WINOGRAD_MIN_TILES:
        return winograd.conv3x3(x, w, b, scale, shift, residual, relu)
    out = conv2d_direct(x, w, b, stride, pad)
    if scale is not None:
        out *= scale[:, None, None]
        out += shift[:, None, None]
    if residual is not None:
        out += residual
    if relu:
        np.maximum(out, _F32(0), out=out)
    return out


def conv2d_direct(x: np.ndarray, w: np.ndarray, b: np.ndarray | None = None, stride: int = 1,
                  pad: int = 0) -> np.ndarray:
    """`conv2d` without Winograd or epilogue (a fresh array the caller may modify in place).

    One GEMM per kernel tap on a *contiguous* slice of the flattened padded input (no im2col copy):
    for stride s the padded input is split once into its s*s phases ``xp[:, a::s, b::s]``; tap (i, j)
    reads phase (i % s, j % s) at flat offset ``(i // s) * Wq + j // s``, which yields rows of width
    Wq of which the first Wo columns are the output. Taps are summed in (i, j) order in float32.
    """
    C, H, Wd = x.shape
    O, C2, kh, kw = w.shape
    assert C == C2, (x.shape, w.shape)
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (Wd + 2 * pad - kw) // stride + 1
    ob = threads.blocks(O, 32 if O <= 128 else 64)  # output channels per chunk (threads.py)
    if (kh == 1 and kw == 1 and pad == 0) or C < 16 or Ho * Wo <= 512:
        if kh == 1 and kw == 1 and pad == 0:
            xs = x[:, ::stride, ::stride] if stride != 1 else x
            cols = np.ascontiguousarray(xs).reshape(C, Ho * Wo)
        else:
            # few input channels (the 7x7 stem on RGB) or a small map: per-tap GEMMs would be too
            # thin, one im2col GEMM is faster
            xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
            sc, sh, sw = xp.strides
            cols = as_strided(xp, shape=(C, kh, kw, Ho, Wo), strides=(sc, sh, sw, sh * stride, sw * stride),
                              writeable=False).reshape(C * kh * kw, Ho * Wo)
        wm = w.reshape(O, -1)
        acc = np.empty((O, Ho * Wo), dtype=_F32)
        threads.run(lambda k: np.matmul(wm[ob[k]], cols, out=acc[ob[k]]), len(ob))
        out = acc.reshape(O, Ho, Wo)
    else:
        s = stride
        Hp, Wp = H + 2 * pad, Wd + 2 * pad
        # phase sizes (ceil), plus one spare row so the last tap's slice stays in bounds
        Hq, Wq = -(-Hp // s), -(-Wp // s)
        xp = np.zeros((C, Hq * s + s, Wq * s), dtype=_F32)
        xp[:, pad:pad + H, pad:pad + Wd] = x
        phases = {(a, c): np.ascontiguousarray(xp[:, a::s, c::s]).reshape(C, -1) for a in range(min(s, kh))
                  for c in range(min(s, kw))}
        n = Ho * Wq
        wt = _taps(w)  # (kh, kw, O, C)
        # two buffers for all taps: a fresh product array per tap costs more in page faults than
        # the product itself for mid-sized maps
        acc = np.empty((O, n), dtype=_F32)
        tap = np.empty((O, n), dtype=_F32)

        def block(k):
            o = ob[k]
            for i in range(kh):
                for j in range(kw):
                    src = phases[i % s, j % s]
                    off = (i // s) * Wq + (j // s)
                    if i == 0 and j == 0:
                        np.matmul(wt[i, j, o], src[:, off:off + n], out=acc[o])
                    else:
                        np.matmul(wt[i, j, o], src[:, off:off + n], out=tap[o])
                        acc[o] += tap[o]

        threads.run(block, len(ob))
        out = acc.reshape(O, Ho, Wq)[:, :, :Wo]
    if b is not None:
        out = out + b[:, None, None]
    return np.ascontiguousarray(out)


_TAPS: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _taps(w: np.ndarray) -> np.ndarray:
    """w (O, C, kh, kw) -> contiguous (kh, kw, O, C), cached per weight array (weights are constant)."""
    hit = _TAPS.get(id(w))
    if hit is not None and hit[0] is w:
        return hit[1]
    t = np.ascontiguousarray(w.transpose(2, 3, 0, 1))
    if len(_TAPS) > 512:
        _TAPS.clear()
    _TAPS[id(w)] = (w, t)
    return t


def frozen_bn_affine(p: dict, name: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """torchvision FrozenBatchNorm2d's ``(scale, shift)``: ``scale = w * rsqrt(rv + eps)``,
    ``shift = b - rm * scale``, float32 as its forward computes them (rsqrt as 1/sqrt, which is how
    PyTorch's vectorised rsqrt computes it); the layer is then ``x * scale + shift``."""
    w, b = p[name + ".weight"], p[name + ".bias"]
    rm, rv = p[name + ".running_mean"], p[name + ".running_var"]
    scale = (w * (_F32(1) / np.sqrt(rv + _F32(eps)))).astype(_F32)
    return scale, (b - rm * scale).astype(_F32)


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, _F32(0))


def max_pool2d(x: np.ndarray, k: int, stride: int, pad: int) -> np.ndarray:
    """(C, H, W) max pooling, padding with -inf (as PyTorch), floor output size."""
    C, H, W = x.shape
    Ho = (H + 2 * pad - k) // stride + 1
    Wo = (W + 2 * pad - k) // stride + 1
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), constant_values=-np.inf) if pad else x
    out = None
    for i in range(k):
        for j in range(k):
            s = xp[:, i:i + stride * (Ho - 1) + 1:stride, j:j + stride * (Wo - 1) + 1:stride]
            out = s.copy() if out is None else np.maximum(out, s, out=out)
    return out


def upsample_nearest(x: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``F.interpolate(x, size=size, mode="nearest")`` on (C, H, W): src = min(floor(dst * in/out), in-1)."""
    C, H, W = x.shape
    Ho, Wo = size

    def idx(n_in, n_out):
        if n_out == 2 * n_in:
            return np.arange(n_out) >> 1
        scale = _F32(n_in) / _F32(n_out)
        return np.minimum(np.floor(np.arange(n_out, dtype=_F32) * scale).astype(np.int64), n_in - 1)

    return x[:, idx(H, Ho)][:, :, idx(W, Wo)]


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``x @ w.T + b`` (torch.nn.Linear / addmm), float32. Computed as ``(w @ x.T).T``: with few rows
    (32 RoIs) OpenBLAS is ~25% faster streaming the large C-order weight that way."""
    if x.shape[0] <= 256:
        rows = threads.blocks(w.shape[0], 128)  # output features per chunk (threads.py)
        out = np.empty((w.shape[0], x.shape[0]), dtype=np.result_type(w, x))
        xt = x.T
        threads.run(lambda k: np.matmul(w[rows[k]], xt, out=out[rows[k]]), len(rows))
        return out.T + b
    return x @ w.T + b
