"""Float32 NumPy versions of the torch layers the POF models use (eval mode: dropout is identity).

All functions take and return float32 arrays with the feature axis last; batch axes broadcast.
Results agree with torch CPU float32 up to BLAS summation order (last bits), not bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np
from scipy.special import erf as _erf

F32 = np.float32
_SQRT1_2 = F32(0.7071067811865476)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """nn.Linear: ``x @ w.T + b``; w (out, in). Batch axes are flattened into one GEMM (as torch's
    addmm on the (N, in) view), which is also one BLAS call instead of one per batch row."""
    if x.ndim > 2:
        y = np.matmul(x.reshape(-1, x.shape[-1]), w.T).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        y = np.matmul(x, w.T)
    if b is not None:
        y += b
    return y


_GATHER: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}


def _gather_plan(adj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, its nonzero columns in ascending order (N, m) and their weights (float64), padded
    with weight 0 (fma(0, x, acc) == acc)."""
    key = adj.tobytes() + bytes(str(adj.shape), "ascii")
    plan = _GATHER.get(key)
    if plan is None:
        nz = [np.flatnonzero(r) for r in adj]
        m = max(1, max(len(c) for c in nz))
        idx = np.zeros((adj.shape[0], m), np.intp)
        w = np.zeros((adj.shape[0], m), np.float64)
        for i, c in enumerate(nz):
            idx[i, :len(c)] = c
            w[i, :len(c)] = adj[i, c]
        plan = _GATHER[key] = (idx, w)
    return plan


def propagate(adj: np.ndarray, x: np.ndarray) -> np.ndarray:
    """GCNLayer's message passing ``adj_norm @ x``: (N,N) @ (B,N,d), float32.

    Bit-identical to torch.matmul on CPU (MKL sgemm): per output a sequential k = 0..N-1 chain of
    fused multiply-adds, emulated exactly here (a float32 x float32 product is exact in float64, then
    one rounding to float32 per step). OpenBLAS's blocked kernels (numpy.matmul, in particular the
    Haswell kernels pyparity selects via OPENBLAS_CORETYPE) differ in the last bit for ~0.5 % of the
    entries, which the semgcn-temporal feedback amplified to 1.2e-5 in the POF.
    Zero adjacency entries are skipped (fma(0, x, acc) == acc), so each row takes only its nonzeros.
    """
    idx, w = _gather_plan(np.asarray(adj, np.float32))
    x3 = np.ascontiguousarray(x, np.float32).reshape(-1, x.shape[-2], x.shape[-1])
    return _propagate_kernel(idx, w, x3).reshape(x.shape)


@numba.njit(cache=True)
def _propagate_kernel(idx, w, x):
    B, N, D = x.shape
    out = np.empty((B, N, D), np.float32)
    acc = np.empty(D, np.float64)
    for b in range(B):
        for i in range(N):
            for c in range(D):
                acc[c] = 0.0
            for j in range(idx.shape[1]):
                wij = w[i, j]
                if wij == 0.0:
                    continue
                k = idx[i, j]
                for c in range(D):  # one fma: exact product + one rounding to float32
                    acc[c] = np.float32(acc[c] + wij * np.float64(x[b, k, c]))
            for c in range(D):
                out[b, i, c] = acc[c]
    return out


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
    with np.errstate(invalid="ignore"):  # inf/NaN raw vectors give NaN, as torch; the solver reports it
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
