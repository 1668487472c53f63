"""The shared float32 kernels (f32kernels.py): the eight-k-per-pass sgemm rows (one row or two at once)
give the same bits as the one-k-per-pass form that spells out the OpenBLAS Haswell accumulation order (which the response
parity tests hold against the reference dumps), with the CPU's FMA and emulated."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.clnf.numerics.f32kernels import (FMA_FUSED, matvec_t, n_block_split, sgemm_row, sgemm_row_rowwise,
                                                sgemm_rows2)

needs_fma = pytest.mark.skipif(not FMA_FUSED, reason="needs hardware: an FMA unit (the CPU's FMA is not used)")


def _rows(kernel, w, col, split):
    out = np.empty(col.shape[1], dtype=np.float32)
    acc1 = np.empty(col.shape[1], dtype=np.float32)
    kernel(w, col, out, split, acc1)
    return out


def sgemm_row_fused(w, col, out, split, acc1):
    sgemm_row(w, col, out, split, acc1, True)


def sgemm_row_emulated(w, col, out, split, acc1):
    sgemm_row(w, col, out, split, acc1, False)


def _pair(w2, col, split, fused):
    o = [np.empty(col.shape[1], dtype=np.float32) for _ in range(4)]
    sgemm_rows2(w2[0], w2[1], col, o[0], o[1], split, o[2], o[3], fused)
    return o[0], o[1]


@needs_fma
@settings(max_examples=60, deadline=None)
@given(K=st.integers(1, 300), P=st.integers(1, 140), split=st.booleans(), seed=st.integers(0, 2**32 - 1),
       scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_blocked_sgemm_row_equals_rowwise(K, P, split, seed, scale):
    rng = np.random.default_rng(seed)
    col = (rng.standard_normal((K, P)) * scale).astype(np.float32)
    w = rng.standard_normal((2, K)).astype(np.float32)
    ref = [_rows(sgemm_row_rowwise, w[i], col, split) for i in range(2)]
    assert np.array_equal(_rows(sgemm_row_fused, w[0], col, split), ref[0])
    a, b = _pair(w, col, split, True)
    assert np.array_equal(a, ref[0]) and np.array_equal(b, ref[1])


@needs_fma
def test_emulated_fma_equals_hardware():
    """Float64 emulation of the FMA gives the hardware's bits (barring float32 rounding ties, absent
    from this fixed sample), for the sgemm rows and the Sigma mat-vec."""
    rng = np.random.default_rng(7)
    for K, P in [(122, 121), (122, 81), (122, 9), (13, 17), (8, 8), (7, 5), (290, 33)]:
        col = rng.standard_normal((K, P)).astype(np.float32)
        w = rng.standard_normal((2, K)).astype(np.float32)
        for split in (False, True):
            assert np.array_equal(_rows(sgemm_row_fused, w[0], col, split), _rows(sgemm_row_emulated, w[0], col, split))
            for x, y in zip(_pair(w, col, split, True), _pair(w, col, split, False)):
                assert np.array_equal(x, y)
    n = 49
    v = rng.standard_normal(n).astype(np.float32)
    m = rng.standard_normal((n, n)).astype(np.float32)
    a, b = np.empty(n, np.float32), np.empty(n, np.float32)
    matvec_t(v, m, a, n, True)
    matvec_t(v, m, b, n, False)
    assert np.array_equal(a, b)


def test_two_accumulator_blocks_change_the_sum():
    """The split is real: with it, a sum whose terms cancel comes out differently than one FMA chain."""
    K, P = 16, 8
    col = np.ones((K, P), dtype=np.float32)
    w = np.zeros(K, dtype=np.float32)
    w[0], w[1], w[2] = 1e8, 1.0, -1e8        # acc0: 1e8 - 1e8 = 0, acc1: 1 -> 1; one chain: (1e8 + 1) - 1e8 = 0
    assert np.all(_rows(sgemm_row_fused, w, col, True) == 1.0)
    assert np.all(_rows(sgemm_row_fused, w, col, False) == 0.0)
    assert np.all(_rows(sgemm_row_emulated, w, col, True) == 1.0)


def test_n_block_split():
    # 7 neurons (the CCNF experts): blocks 4, 2, 1 -> rows 0-3 split; 13 units: 12, 1
    assert [n_block_split(n, 7) for n in range(7)] == [True] * 4 + [False] * 3
    assert [n_block_split(n, 13) for n in range(13)] == [False] * 13
    assert [n_block_split(n, 20) for n in range(20)] == [False] * 12 + [True] * 8


def test_vectorised_expf_equals_expf():
    """expf_neg_into (branch-free, vectorised) is expf(-x) bit for bit, over the whole float range:
    random arguments, a dense sweep across the overflow/underflow limits, and every 9973rd bit pattern."""
    import numba

    from pyparity.pipelines.clnf.numerics.f32kernels import expf, expf_neg_into

    @numba.njit
    def scalar(xs, out):
        for i in range(xs.shape[0]):
            out[i] = expf(-xs[i])

    rng = np.random.default_rng(7)
    bits = np.arange(0, 2**32, 9973, dtype=np.uint64).astype(np.uint32).view(np.float32)
    for xs in (rng.standard_normal(200_000).astype(np.float32) * 40, np.linspace(-110, 110, 400_001, dtype=np.float32),
               bits[np.isfinite(bits)]):
        want = np.empty_like(xs)
        got = np.empty_like(xs)
        scalar(xs, want)
        expf_neg_into(xs, got, xs.shape[0])
        assert np.array_equal(got.view(np.int32), want.view(np.int32))
