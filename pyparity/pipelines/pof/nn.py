"""Float32 NumPy versions of the torch layers the POF models use (eval mode: dropout is identity).

All functions take and return float32 arrays with the feature axis last; batch axes broadcast.
Results agree with torch CPU float32 up to BLAS summation order (last bits), not bit for bit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf as _erf

F32 = np.float32
_SQRT1_2 = F32(0.7071067811865476)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """nn.Linear: ``x @ w.T + b``; w (out, in)."""
    y = np.matmul(x, w.T)
    if b is not None:
        y += b
    return y


def layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """nn.LayerNorm over the last axis (biased variance, eps inside the sqrt, torch default 1e-5)."""
    mean = x.mean(axis=-1, keepdims=True, dtype=F32)
    xc = x - mean
    var = np.mean(xc * xc, axis=-1, keepdims=True, dtype=F32)
    inv = F32(1.0) / np.sqrt(var + F32(eps))
    return (xc * inv) * w + b


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as torch's default ``approximate='none'``: x/2 (1 + erf(x/sqrt 2))."""
    return (x * F32(0.5)) * (F32(1.0) + _erf(x * _SQRT1_2).astype(F32, copy=False))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, F32(0.0))


def l2_normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """F.normalize(x, dim=-1, eps): x / max(||x||, eps)."""
    n = np.sqrt(np.sum(x * x, axis=-1, keepdims=True, dtype=F32))
    return x / np.maximum(n, F32(eps))


def row_normalize(adj: np.ndarray) -> np.ndarray:
    """GCNLayer's D^-1 A with deg.clamp(min=1) (src/shared/nn_layers.py)."""
    deg = np.maximum(adj.sum(axis=-1, keepdims=True, dtype=F32), F32(1.0))
    return (adj / deg).astype(F32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (F32(1.0) / (F32(1.0) + np.exp(-x))).astype(F32)


def softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    e = np.exp(x - m)
    return e / e.sum(axis=-1, keepdims=True, dtype=F32)
