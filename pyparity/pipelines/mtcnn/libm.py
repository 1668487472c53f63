"""glibc's expf (sysdeps/ieee754/flt-32/e_expf.c, the FMA build x86-64 glibc selects on AVX2
machines), bit for bit. OpenFace's RNet/ONet probability is ``1.0 / (1.0 + cv::exp(float))`` and
cv::exp on a float is std::exp, i.e. expf; a correctly rounded exp differs from it in the last bit
now and then.

Algorithm: k = round(x * 32/ln2), r the remainder, exp(x) = 2^(k/32) * p(r) with a table of
2^(i/32) and a cubic, all in double with fused multiply-adds where GCC contracts them.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_N = 32


@intrinsic
def _fma64(typingctx, a, b, c):
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        f = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [f], ir.FunctionType(f, [f, f, f]))
        return builder.call(fn, args)

    return sig, codegen


def _table() -> np.ndarray:
    getcontext().prec = 50
    vals = np.asarray([float(Decimal(2) ** (Decimal(i) / Decimal(_N))) for i in range(_N)], np.float64)
    return vals.view(np.uint64) - (np.arange(_N, dtype=np.uint64) << np.uint64(47))


_T = _table()
_INVLN2N = float.fromhex("0x1.71547652b82fep+0") * _N
_SHIFT = float.fromhex("0x1.8p+52")
_C0 = float.fromhex("0x1.c6af84b912394p-5") / _N / _N / _N
_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / _N / _N
_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / _N


@numba.njit(cache=True, fastmath=False)
def _expf(x, tab, invln2n, shift, c0, c1, c2):
    out = np.empty(x.shape[0], np.float32)
    for i in range(x.shape[0]):
        xf = x[i]
        if xf != xf:
            out[i] = xf
            continue
        if xf > np.float32(88.72283935546875):
            out[i] = np.float32(np.inf)
            continue
        if xf < np.float32(-103.97207641601562):
            out[i] = np.float32(0.0)
            continue
        xd = np.float64(xf)
        # z = InvLn2N * xd has two uses, both additions: GCC turns each into an fma
        kd = _fma64(invln2n, xd, shift)
        ki = np.uint64(np.array([kd]).view(np.uint64)[0])
        kd -= shift
        r = _fma64(invln2n, xd, -kd)
        t = tab[ki % np.uint64(32)] + (ki << np.uint64(47))
        s = np.array([t]).view(np.float64)[0]
        z = _fma64(c0, r, c1)
        r2 = r * r
        y = _fma64(c2, r, 1.0)
        y = _fma64(z, r2, y)
        y = y * s
        out[i] = np.float32(y)
    return out


def expf(x: np.ndarray) -> np.ndarray:
    """glibc expf on a float32 array (any shape); returns float32."""
    a = np.ascontiguousarray(np.asarray(x, np.float32))
    return _expf(a.reshape(-1), _T, _INVLN2N, _SHIFT, _C0, _C1, _C2).reshape(a.shape)
