"""Float32 kernels shared by the CCNF and CEN patch experts, reproducing the reference's arithmetic.

API (all numba-compiled, callable from other njit code):
    expf(x) -> float32                                   # glibc 2.36 expf (std::exp(float))
    expf_neg_into(x, out, n)                             # out[:n] = expf(-x[:n]), vectorised
    sgemm_row(w_row, col, out, split, acc1, fused)       # one output row of OpenBLAS's Haswell sgemm
    sgemm_rows2(wa, wb, col, out_a, out_b, split, acc_a, acc_b, fused)   # two rows in one pass
    sgemm_row_rowwise(w_row, col, out, split, acc1)      # the same (fused), one k per pass: the
                                                         # reference form, and the benchmark baseline
    matvec_t(v, m_t, out, n, fused)                      # sgemm with m = 1 (one FMA chain per output)
    fma(a, b, c, fused)                                  # float32 a·b + c rounded once
    n_block_split(n, nn) -> bool                          # is row n in a two-accumulator n-block
    FMA_FUSED: bool                                       # whether fused=True really uses one rounding

Layouts: `col` is (K, P) float32 (feature k by position p), w_row (K,) float32, out/acc1 (P,) float32.
"""

from __future__ import annotations

import math

import numba
import numpy as np


def _expf_table() -> np.ndarray:
    # 2^(i/32) rounded to double, i = 0..31 (glibc's __exp2f_data table before its exponent offset)
    from decimal import Decimal, getcontext
    getcontext().prec = 60
    return np.array([float(Decimal(2) ** (Decimal(i) / Decimal(32))) for i in range(32)], dtype=np.float64)


_EXPF_TAB = _expf_table()
# 2^e for e = -200..199 (exact doubles): expf's scale 2^(k/32) is _EXPF_TAB[k & 31] · 2^(k >> 5), an exact
# product (glibc adds k >> 5 to the exponent bits); a table lookup instead of math.ldexp, which numba
# compiles to a libm call
_POW2_OFFSET = 200
_EXPF_POW2 = np.array([math.ldexp(1.0, e) for e in range(-_POW2_OFFSET, _POW2_OFFSET)], dtype=np.float64)
_EXPF_C0 = float.fromhex("0x1.c6af84b912394p-5") / 32 / 32 / 32
_EXPF_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / 32 / 32
_EXPF_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / 32
_EXPF_INVLN2N = float.fromhex("0x1.71547652b82fep+0") * 32
_EXPF_SHIFT = float.fromhex("0x1.8p+52")
_EXPF_OFLOW = float.fromhex("0x1.62e42ep6")     # above: +inf (__math_oflowf)
_EXPF_UFLOW = float.fromhex("-0x1.9fe368p6")    # below: 0 (__math_uflowf, round to nearest)


@numba.njit(cache=True, fastmath={"contract"})
def expf(x):
    """glibc 2.36 expf (sysdeps/ieee754/flt-32/e_expf.c, the FMA variant that x86-64 CPUs with AVX2
    select): the float32 result C++'s std::exp(float) gives, including its rare last-bit departures
    from the correctly rounded value. Valid for finite x; |x| > ~88 saturates as glibc does."""
    xd = np.float64(x)
    if xd > _EXPF_OFLOW:
        return np.float32(np.inf)
    if xd < _EXPF_UFLOW:
        return np.float32(0.0)
    z = _EXPF_INVLN2N * xd
    kd = (z + _EXPF_SHIFT) - _EXPF_SHIFT      # round to nearest integer, ties to even
    r = z - kd
    k = np.int64(kd)
    s = _EXPF_TAB[k & 31] * _EXPF_POW2[(k >> 5) + _POW2_OFFSET]   # |k >> 5| <= 151 here
    zz = _EXPF_C0 * r + _EXPF_C1
    r2 = r * r
    y = _EXPF_C2 * r + 1.0
    y = zz * r2 + y
    return np.float32(y * s)


@numba.njit(cache=True, fastmath={"contract"})
def expf_neg_into(x, out, n):
    """out[p] = expf(-x[p]) for p < n (float32 arrays): expf's arithmetic term by term, written
    without branches (the argument clamped into the table's range, the overflow/underflow results
    selected afterwards) so that LLVM vectorises the loop, table lookups included. Bit-identical to
    expf for finite x (checked against it in the tests)."""
    for p in range(n):
        xd = -np.float64(x[p])
        xc = min(max(xd, _EXPF_UFLOW), _EXPF_OFLOW)
        z = _EXPF_INVLN2N * xc
        kd = (z + _EXPF_SHIFT) - _EXPF_SHIFT
        r = z - kd
        k = np.int64(kd)
        s = _EXPF_TAB[np.uint64(k & 31)] * _EXPF_POW2[np.uint64((k >> 5) + _POW2_OFFSET)]
        zz = _EXPF_C0 * r + _EXPF_C1
        r2 = r * r
        y = _EXPF_C2 * r + 1.0
        y = zz * r2 + y
        v = np.float32(y * s)
        if xd > _EXPF_OFLOW:
            v = np.float32(np.inf)
        if xd < _EXPF_UFLOW:
            v = np.float32(0.0)
        out[p] = v


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def fma(a, b, c, fused):
    """float32 a·b + c rounded once: with `fused` the CPU's FMA instruction (`contract` lets LLVM emit
    it; checked at import, FMA_FUSED), else emulated in float64 (the product is exact there, so a
    contracted double FMA gives the same; only a tie at the float32 rounding could differ)."""
    if fused:
        return a * b + c
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _chain8(s, w0, w1, w2, w3, w4, w5, w6, w7, x0, x1, x2, x3, x4, x5, x6, x7, fused):
    """s + w0·x0 + ... + w7·x7 as one chain of eight fma in k order (one output, eight k)."""
    s = fma(w0, x0, s, fused)
    s = fma(w1, x1, s, fused)
    s = fma(w2, x2, s, fused)
    s = fma(w3, x3, s, fused)
    s = fma(w4, x4, s, fused)
    s = fma(w5, x5, s, fused)
    s = fma(w6, x6, s, fused)
    return fma(w7, x7, s, fused)


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _chain8_pair(s, t, a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7,
                 x0, x1, x2, x3, x4, x5, x6, x7, fused):
    """_chain8 for two weight rows (a into s, b into t) over the same eight values, interleaved."""
    s = fma(a0, x0, s, fused)
    t = fma(b0, x0, t, fused)
    s = fma(a1, x1, s, fused)
    t = fma(b1, x1, t, fused)
    s = fma(a2, x2, s, fused)
    t = fma(b2, x2, t, fused)
    s = fma(a3, x3, s, fused)
    t = fma(b3, x3, t, fused)
    s = fma(a4, x4, s, fused)
    t = fma(b4, x4, t, fused)
    s = fma(a5, x5, s, fused)
    t = fma(b5, x5, t, fused)
    s = fma(a6, x6, s, fused)
    t = fma(b6, x6, t, fused)
    return fma(a7, x7, s, fused), fma(b7, x7, t, fused)


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _row_tail(w_row, col, km, out, fused):
    """The K % 8 remaining k (from km) onto out, one fma per output and k, in k order."""
    K, P = col.shape
    for k in range(km, K):
        wk = w_row[k]
        ck = col[k]
        for p in range(P):
            out[p] = fma(wk, ck[p], out[p], fused)


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _rows2_tail(wa, wb, col, km, out_a, out_b, fused):
    """_row_tail for two weight rows in one pass."""
    K, P = col.shape
    for k in range(km, K):
        ck = col[k]
        ak = wa[k]
        bk = wb[k]
        for p in range(P):
            out_a[p] = fma(ak, ck[p], out_a[p], fused)
            out_b[p] = fma(bk, ck[p], out_b[p], fused)


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _sgemm_row(w_row, col, out, split, acc1, fused):
    """out[p] = Σ_k w_row[k]·col[k, p] accumulated as OpenBLAS 0.3.x's Haswell sgemm kernel does for
    the C++ call (m = positions, n = neurons/units): one float32 fused multiply-add chain in k order,
    except inside full 8-row m-blocks of the 4- and 8-wide n-blocks (`split`), where the kernel keeps
    two accumulators over the k's of its 8-unrolled main loop (even k -> acc0, odd k -> acc1), adds
    the remaining K % 8 terms to acc0, then returns acc0 + acc1. (Measured against OpenBLAS with
    OPENBLAS_CORETYPE=Haswell for K <= 290; the CCNF experts have K = 122.)
    fused: the CPU's FMA, else emulated (see fma). Eight k per pass over the positions: each
    accumulator is loaded and stored once per eight FMAs instead of once per FMA (about twice as fast
    as sgemm_row_rowwise, one k per pass); each output's chain of FMAs is the same, term by term."""
    K, P = col.shape
    p8 = P - P % 8 if split else 0
    km = K - K % 8
    for p in range(P):
        out[p] = np.float32(0.0)
        acc1[p] = np.float32(0.0)
    for k in range(0, km, 8):
        w0, w1, w2, w3 = w_row[k], w_row[k + 1], w_row[k + 2], w_row[k + 3]
        w4, w5, w6, w7 = w_row[k + 4], w_row[k + 5], w_row[k + 6], w_row[k + 7]
        c0, c1, c2, c3 = col[k], col[k + 1], col[k + 2], col[k + 3]
        c4, c5, c6, c7 = col[k + 4], col[k + 5], col[k + 6], col[k + 7]
        for p in range(p8):
            # the kernel's two accumulators: even k into acc0 (out), odd k into acc1
            a0 = fma(w0, c0[p], out[p], fused)
            a1 = fma(w1, c1[p], acc1[p], fused)
            a0 = fma(w2, c2[p], a0, fused)
            a1 = fma(w3, c3[p], a1, fused)
            a0 = fma(w4, c4[p], a0, fused)
            a1 = fma(w5, c5[p], a1, fused)
            out[p] = fma(w6, c6[p], a0, fused)
            acc1[p] = fma(w7, c7[p], a1, fused)
        for p in range(p8, P):
            out[p] = _chain8(out[p], w0, w1, w2, w3, w4, w5, w6, w7,
                             c0[p], c1[p], c2[p], c3[p], c4[p], c5[p], c6[p], c7[p], fused)
    _row_tail(w_row, col, km, out, fused)
    for p in range(p8):
        out[p] = out[p] + acc1[p]


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _sgemm_rows2(wa, wb, col, out_a, out_b, split, acc_a, acc_b, fused):
    """sgemm_row for two weight rows that share `split` (neighbouring rows of one n-block), in one pass:
    each column value is loaded once for both rows (about three times as fast as two sgemm_row calls
    here). Each output's FMA chain is sgemm_row's, term by term."""
    K, P = col.shape
    p8 = P - P % 8 if split else 0
    km = K - K % 8
    for p in range(P):
        out_a[p] = np.float32(0.0)
        out_b[p] = np.float32(0.0)
        acc_a[p] = np.float32(0.0)
        acc_b[p] = np.float32(0.0)
    for k in range(0, km, 8):
        c0, c1, c2, c3 = col[k], col[k + 1], col[k + 2], col[k + 3]
        c4, c5, c6, c7 = col[k + 4], col[k + 5], col[k + 6], col[k + 7]
        for p in range(p8):
            # the kernel's two accumulators per row: even k into out, odd k into acc
            x0, x1, x2, x3, x4, x5, x6, x7 = c0[p], c1[p], c2[p], c3[p], c4[p], c5[p], c6[p], c7[p]
            a0 = fma(wa[k], x0, out_a[p], fused)
            a1 = fma(wa[k + 1], x1, acc_a[p], fused)
            b0 = fma(wb[k], x0, out_b[p], fused)
            b1 = fma(wb[k + 1], x1, acc_b[p], fused)
            a0 = fma(wa[k + 2], x2, a0, fused)
            a1 = fma(wa[k + 3], x3, a1, fused)
            b0 = fma(wb[k + 2], x2, b0, fused)
            b1 = fma(wb[k + 3], x3, b1, fused)
            a0 = fma(wa[k + 4], x4, a0, fused)
            a1 = fma(wa[k + 5], x5, a1, fused)
            b0 = fma(wb[k + 4], x4, b0, fused)
            b1 = fma(wb[k + 5], x5, b1, fused)
            out_a[p] = fma(wa[k + 6], x6, a0, fused)
            acc_a[p] = fma(wa[k + 7], x7, a1, fused)
            out_b[p] = fma(wb[k + 6], x6, b0, fused)
            acc_b[p] = fma(wb[k + 7], x7, b1, fused)
        for p in range(p8, P):
            out_a[p], out_b[p] = _chain8_pair(
                out_a[p], out_b[p], wa[k], wa[k + 1], wa[k + 2], wa[k + 3], wa[k + 4], wa[k + 5], wa[k + 6],
                wa[k + 7], wb[k], wb[k + 1], wb[k + 2], wb[k + 3], wb[k + 4], wb[k + 5], wb[k + 6], wb[k + 7],
                c0[p], c1[p], c2[p], c3[p], c4[p], c5[p], c6[p], c7[p], fused)
    _rows2_tail(wa, wb, col, km, out_a, out_b, fused)
    for p in range(p8):
        out_a[p] = out_a[p] + acc_a[p]
        out_b[p] = out_b[p] + acc_b[p]


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _sgemm_row_single(w_row, col, out, fused):
    """_sgemm_row with split = False (one FMA chain per output in k order), written as its own loop
    over all positions: LLVM vectorises it (the p8..P loop of _sgemm_row, which it does not, ran
    about five times slower for the rows outside 4- and 8-wide n-blocks). Same chains, same bits."""
    K, P = col.shape
    km = K - K % 8
    for p in range(P):
        out[p] = np.float32(0.0)
    for k in range(0, km, 8):
        c0, c1, c2, c3 = col[k], col[k + 1], col[k + 2], col[k + 3]
        c4, c5, c6, c7 = col[k + 4], col[k + 5], col[k + 6], col[k + 7]
        w0, w1, w2, w3 = w_row[k], w_row[k + 1], w_row[k + 2], w_row[k + 3]
        w4, w5, w6, w7 = w_row[k + 4], w_row[k + 5], w_row[k + 6], w_row[k + 7]
        for p in range(P):
            out[p] = _chain8(out[p], w0, w1, w2, w3, w4, w5, w6, w7,
                             c0[p], c1[p], c2[p], c3[p], c4[p], c5[p], c6[p], c7[p], fused)
    _row_tail(w_row, col, km, out, fused)


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _sgemm_rows2_single(wa, wb, col, out_a, out_b, fused):
    """_sgemm_rows2 with split = False, as its own vectorisable loop (see _sgemm_row_single)."""
    K, P = col.shape
    km = K - K % 8
    for p in range(P):
        out_a[p] = np.float32(0.0)
        out_b[p] = np.float32(0.0)
    for k in range(0, km, 8):
        c0, c1, c2, c3 = col[k], col[k + 1], col[k + 2], col[k + 3]
        c4, c5, c6, c7 = col[k + 4], col[k + 5], col[k + 6], col[k + 7]
        a0, a1, a2, a3, a4, a5, a6, a7 = wa[k], wa[k + 1], wa[k + 2], wa[k + 3], wa[k + 4], wa[k + 5], wa[k + 6], wa[k + 7]
        b0, b1, b2, b3, b4, b5, b6, b7 = wb[k], wb[k + 1], wb[k + 2], wb[k + 3], wb[k + 4], wb[k + 5], wb[k + 6], wb[k + 7]
        for p in range(P):
            out_a[p], out_b[p] = _chain8_pair(out_a[p], out_b[p], a0, a1, a2, a3, a4, a5, a6, a7,
                                              b0, b1, b2, b3, b4, b5, b6, b7,
                                              c0[p], c1[p], c2[p], c3[p], c4[p], c5[p], c6[p], c7[p], fused)
    _rows2_tail(wa, wb, col, km, out_a, out_b, fused)


# The public kernels branch once on `fused` into copies of the body in which it is a constant: a
# run-time flag inside the inner loops would keep LLVM from vectorising them.
@numba.njit(cache=True, fastmath={"contract"})
def sgemm_row(w_row, col, out, split, acc1, fused):
    """See _sgemm_row."""
    if not split:
        if fused:
            _sgemm_row_single(w_row, col, out, True)
        else:
            _sgemm_row_single(w_row, col, out, False)
    elif fused:
        _sgemm_row(w_row, col, out, True, acc1, True)
    else:
        _sgemm_row(w_row, col, out, True, acc1, False)


@numba.njit(cache=True, fastmath={"contract"})
def sgemm_rows2(wa, wb, col, out_a, out_b, split, acc_a, acc_b, fused):
    """sgemm_row for two weight rows that share `split`, in one pass (see _sgemm_rows2)."""
    if not split:
        if fused:
            _sgemm_rows2_single(wa, wb, col, out_a, out_b, True)
        else:
            _sgemm_rows2_single(wa, wb, col, out_a, out_b, False)
    elif fused:
        _sgemm_rows2(wa, wb, col, out_a, out_b, True, acc_a, acc_b, True)
    else:
        _sgemm_rows2(wa, wb, col, out_a, out_b, True, acc_a, acc_b, False)


@numba.njit(cache=True, fastmath={"contract"})
def sgemm_row_rowwise(w_row, col, out, split, acc1):
    """sgemm_row_fused written one k per pass over the positions, in the order the kernel's arithmetic
    is specified (each pass loads and stores every accumulator: memory-bound). The independent
    reference that the tests hold sgemm_row to, and the benchmark's baseline."""
    K, P = col.shape
    p8 = P - P % 8 if split else 0
    km = K - K % 8
    for p in range(P):
        out[p] = np.float32(0.0)
        acc1[p] = np.float32(0.0)
    for k in range(K):
        wk = w_row[k]
        if k < km and (k & 1) == 1:
            for p in range(p8):
                acc1[p] = wk * col[k, p] + acc1[p]
            for p in range(p8, P):
                out[p] = wk * col[k, p] + out[p]
        else:
            for p in range(P):
                out[p] = wk * col[k, p] + out[p]
    for p in range(p8):
        out[p] = out[p] + acc1[p]


@numba.njit(cache=True, fastmath={"contract"}, inline="always")
def _matvec_t(v, m_t, out, n, fused):
    """out[r] = Σ_k v[k]·m_t[k, r], one FMA chain per r in k order (sgemm with m = 1). Four k per pass
    over the outputs (each output loaded and stored once per four FMAs; the chain is unchanged)."""
    for r in range(n):
        out[r] = np.float32(0.0)
    k4 = n - n % 4
    for k in range(0, k4, 4):
        v0, v1, v2, v3 = v[k], v[k + 1], v[k + 2], v[k + 3]
        m0, m1, m2, m3 = m_t[k], m_t[k + 1], m_t[k + 2], m_t[k + 3]
        for r in range(n):
            a = fma(v0, m0[r], out[r], fused)
            a = fma(v1, m1[r], a, fused)
            a = fma(v2, m2[r], a, fused)
            out[r] = fma(v3, m3[r], a, fused)
    for k in range(k4, n):
        vk = v[k]
        mk = m_t[k]
        for r in range(n):
            out[r] = fma(vk, mk[r], out[r], fused)


@numba.njit(cache=True, fastmath={"contract"})
def matvec_t(v, m_t, out, n, fused):
    """See _matvec_t (fused: the CPU's FMA, else emulated)."""
    if fused:
        _matvec_t(v, m_t, out, n, True)
    else:
        _matvec_t(v, m_t, out, n, False)


@numba.njit(cache=True)
def n_block_split(n, nn):
    """Whether row n of nn (a neuron / unit: the sgemm's n dimension) falls in a 4- or 8-wide n-block
    of the Haswell kernel (blocks are taken 12, 8, 4, 2, 1 wide in that order of preference)."""
    start = 0
    rem = nn
    while rem > 0:
        if rem >= 12:
            size = 12
        elif rem >= 8:
            size = 8
        elif rem >= 4:
            size = 4
        elif rem >= 2:
            size = 2
        else:
            size = 1
        if n < start + size:
            return size == 8 or size == 4
        start += size
        rem -= size
    return False


def _fma_is_fused() -> bool:
    """Whether fused=True really rounds once: 1+2^-12 squared minus (1+2^-11) is 2^-24 with a fused
    multiply-add and 0 without (the product rounds to a tie). K = 9 exercises both the eight-k passes
    and the remainder of the sgemm rows."""
    a = np.float32(1 + 2.0 ** -12)
    K, P = 9, 17
    col = np.zeros((K, P), dtype=np.float32)
    w = np.zeros(K, dtype=np.float32)
    col[0, :] = 1
    w[0] = -(1 + 2.0 ** -11)
    col[K - 1, :] = a
    w[K - 1] = a
    want = np.float32(2.0 ** -24)
    acc = np.empty(P, dtype=np.float32)
    outs = [np.empty(P, dtype=np.float32) for _ in range(5)]
    sgemm_row(w, col, outs[0], False, acc, False)
    sgemm_row(w, col, outs[1], False, acc, True)
    sgemm_row_rowwise(w, col, outs[2], False, acc)
    sgemm_rows2(w, w, col, outs[3], outs[4], False, acc, np.empty(P, dtype=np.float32), True)
    # the mat-vec: v·m_t with the same two terms
    m = np.zeros((P, P), dtype=np.float32)
    m[0, :] = -(1 + 2.0 ** -11)
    m[P - 1, :] = a
    v = np.zeros(P, dtype=np.float32)
    v[0] = 1
    v[P - 1] = a
    mv = [np.empty(P, dtype=np.float32) for _ in range(2)]
    matvec_t(v, m, mv[0], P, False)
    matvec_t(v, m, mv[1], P, True)
    return all(bool(np.all(o == want)) for o in outs + mv)


FMA_FUSED = _fma_is_fused()

