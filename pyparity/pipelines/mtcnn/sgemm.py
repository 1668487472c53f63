"""Matrix-vector products as OpenCV 4.6 hands them to OpenBLAS 0.3.21 (Haswell kernels, 1 thread).

cv::gemm passes products whose result has >= 100 rows to the LAPACK/BLAS HAL (hal_internal.cpp,
HAL_GEMM_SMALL_MATRIX_THRESH), i.e. ``cblas_sgemm`` with C = the biases and beta = 1. For one
column OpenBLAS's level-3 driver splits K into blocks (GEMM_Q = 320 for Haswell sgemm, a tail
between Q and 2Q halved and rounded up to the unroll of 8) and its kernel (m8n1) accumulates each
block in one fused multiply-add chain from zero, then adds it to C (``vfmadd213ps (C), alpha, acc``).
Written out here because a BLAS matrix-vector product (gemv) sums in another order.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

GEMM_Q = 320
GEMM_UNROLL_M = 8
HAL_THRESHOLD_ROWS = 100


@intrinsic
def _fma32(typingctx, a, b, c):
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        f = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f, f, f]))
        return builder.call(fn, args)

    return sig, codegen


def k_blocks(k: int, q: int = GEMM_Q, unroll: int = GEMM_UNROLL_M) -> np.ndarray:
    """(n, 2) int64 [start, end) K blocks of OpenBLAS's level-3 driver (driver/level3/level3.c)."""
    out, ls = [], 0
    while ls < k:
        min_l = k - ls
        if min_l >= 2 * q:
            min_l = q
        elif min_l > q:
            min_l = ((min_l // 2 + unroll - 1) // unroll) * unroll
        out.append((ls, ls + min_l))
        ls += min_l
    return np.asarray(out, np.int64).reshape(-1, 2)


@numba.njit(cache=True, fastmath=False)
def _gemv_blocks(w_t, x, bias, blocks):
    k_total, m = w_t.shape
    b = x.shape[0]
    out = np.empty((b, m), np.float32)
    acc = np.empty(m, np.float32)
    for i in range(b):
        c = bias.copy()
        for blk in range(blocks.shape[0]):
            acc[:] = np.float32(0.0)
            for k in range(blocks[blk, 0], blocks[blk, 1]):
                xv = x[i, k]
                for j in range(m):
                    acc[j] = _fma32(w_t[k, j], xv, acc[j])
            for j in range(m):
                c[j] = acc[j] + c[j]
        out[i] = c
    return out


def weights_times_vectors_plus_bias(weights: np.ndarray, x: np.ndarray, biases: np.ndarray) -> np.ndarray:
    """``weights * x + biases`` for each row of x as OpenBLAS sgemm computes it (see module doc).

    weights: (m, k) float32; x: (B, k) float32; biases: (m,) float32. Returns (B, m) float32.
    """
    w_t = np.ascontiguousarray(np.asarray(weights, np.float32).T)
    xs = np.ascontiguousarray(np.asarray(x, np.float32))
    return _gemv_blocks(w_t, xs, np.ascontiguousarray(biases, np.float32), k_blocks(w_t.shape[0]))
