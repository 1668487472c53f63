"""OpenCV 4.6's float32 exp (``cv::exp`` on a CV_32F Mat: hal exp32f, AVX2 build), bit for bit.

exp32f scales x by 64/ln 2, rounds to an int (half to even) whose low 6 bits index a table of
2^(i/64) * A0 (as float) and whose high bits form the power of two; the fraction goes through a
degree-4 polynomial evaluated with fused multiply-adds. Used for PNet's probability map.
"""

from __future__ import annotations

from decimal import Decimal, getcontext

import numpy as np

_A0 = 0.9670371139572337719125840413672004409288e-2
_A4 = np.float32(1.000000000000002438532970795181890933776 / _A0)
_A3 = np.float32(0.6931471805521448196800669615864773144641 / _A0)
_A2 = np.float32(0.2402265109513301490103372422686535526573 / _A0)
_A1 = np.float32(0.5550339366753125211915322047004666939128e-1 / _A0)
_PRESCALE = np.float32(1.4426950408889634073599246810019 * 64)
_POSTSCALE = np.float32(1.0 / 64)
_MAXVAL = np.float32(3000.0 * 64 / (1.4426950408889634073599246810019 * 64))


def _table() -> np.ndarray:
    getcontext().prec = 40
    # OpenCV's expTab holds 2^(i/64) written to 32 digits (i.e. the correctly rounded double),
    # times EXPPOLY_32F_A0 in double, then converted to float.
    vals = [float(Decimal(2) ** (Decimal(i) / Decimal(64))) * _A0 for i in range(64)]
    return np.asarray(vals, np.float64).astype(np.float32)


_TAB = _table()


def _fma(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    # float32 fused multiply-add: the exact product fits in a double, so one double add and one
    # rounding to float give fma's single rounding except in double-rounding corner cases that
    # cannot occur for these magnitudes (|a*b| and |c| within a few binades).
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(np.float32)


def exp32f(x: np.ndarray) -> np.ndarray:
    """cv::exp for float32 arrays (any shape), as OpenCV 4.6's SIMD exp32f computes it."""
    x = np.asarray(x, np.float32)
    x0 = np.minimum(np.maximum(x, -_MAXVAL), _MAXVAL) * _PRESCALE
    xi = np.rint(x0).astype(np.int32)
    xf = ((x0 - xi.astype(np.float32)) * _POSTSCALE).astype(np.float32)
    t = np.clip((xi >> 6) + 127, 0, 255).astype(np.int32)
    pow2 = (t << 23).view(np.float32)
    yf = (_TAB[xi & 63] * pow2).astype(np.float32)
    z = (xf + _A1).astype(np.float32)
    z = _fma(z, xf, np.float32(_A2))
    z = _fma(z, xf, np.float32(_A3))
    z = _fma(z, xf, np.float32(_A4))
    return (z * yf).astype(np.float32)
