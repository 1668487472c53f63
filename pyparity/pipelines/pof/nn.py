"""Float32 NumPy versions of the torch layers the POF models use (eval mode: dropout is identity).

All functions take and return float32 arrays with the feature axis last; batch axes broadcast.
Results agree with torch CPU float32 up to BLAS summation order (last bits), not bit for bit.
"""

from __future__ import annotations

import math

import numba
import numpy as np

F32 = np.float32
_SQRT1_2 = F32(0.7071067811865476)
_HALF = F32(0.5)
_ONE = F32(1.0)


def linear(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, w_t: np.ndarray | None = None) -> np.ndarray:
    """nn.Linear: ``x @ w.T + b``; w (out, in). Batch axes are flattened into one GEMM (as torch's
    addmm on the (N, in) view), which is also one BLAS call instead of one per batch row.
    ``w_t``: ``w.T`` made contiguous once by the caller: for products of >= 2 rows (sgemm) the same
    bits, ~20 % faster for the 14-row products of the per-frame temporal loop; a 1-row product
    (sgemv) keeps ``w.T``, whose summation order differs with the layout."""
    rows = x.size // x.shape[-1] if x.shape[-1] else 0
    rhs = w_t if (w_t is not None and rows >= 2) else w.T
    if x.ndim > 2:
        y = np.matmul(x.reshape(-1, x.shape[-1]), rhs).reshape(x.shape[:-1] + (w.shape[0],))
    else:
        y = np.matmul(x, rhs)
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
    """nn.LayerNorm over the last axis (biased variance, eps inside the sqrt, torch default 1e-5).

    The reductions are what ``ndarray.mean(dtype=float32)`` does (np.add.reduce, then
    ``true_divide(sum, intp count, out=sum, casting="unsafe")``) and the element-wise steps run in
    place: the same bits as ``((x - mean) * inv) * w + b`` with fewer temporaries and calls
    (LayerNorm runs ~25 times per frame)."""
    n = np.intp(x.shape[-1])
    mean = np.add.reduce(x, axis=-1, keepdims=True, dtype=F32)
    np.true_divide(mean, n, out=mean, casting="unsafe")
    xc = x - mean
    var = np.add.reduce(xc * xc, axis=-1, keepdims=True, dtype=F32)
    np.true_divide(var, n, out=var, casting="unsafe")
    var += F32(eps)
    inv = np.sqrt(var, out=var)
    np.divide(F32(1.0), inv, out=inv)
    xc *= inv
    xc *= w
    xc += b
    return xc


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, as torch's default ``approximate='none'``: x/2 (1 + erf(x/sqrt 2)).

    One fused pass (numba): erf in double (libm, as scipy.special.erf's float32 loop computes it)
    rounded to float32, then the float32 products; the same bits as
    ``(x * 0.5) * (1 + float32(erf(x * float32(1/sqrt 2))))`` without four temporaries."""
    xc = np.ascontiguousarray(x, dtype=F32)
    out = np.empty_like(xc)
    _gelu_kernel(xc.reshape(-1), out.reshape(-1))
    return out


@numba.njit(cache=True)
def _gelu_kernel(x, out):
    for i in range(x.size):
        xi = x[i]
        e = np.float32(math.erf(np.float64(xi * _SQRT1_2)))
        out[i] = (xi * _HALF) * (_ONE + e)


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
