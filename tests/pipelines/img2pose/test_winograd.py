"""img2pose's Winograd F(2x2, 3x3) convolutions (pyparity/pipelines/img2pose/winograd.py) against a
float64 direct convolution, odd map sizes and the fused epilogue included; the numba kernels against
their vectorised NumPy reference, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.pipelines.img2pose import ops, threads, winograd


def _direct64(x, w, bias=None):
    """Zero-padded 3x3 stride-1 convolution in float64 (the definition)."""
    C, H, W = x.shape
    xp = np.pad(x.astype(np.float64), ((0, 0), (1, 1), (1, 1)))
    out = np.zeros((w.shape[0], H, W))
    for i in range(3):
        for j in range(3):
            out += np.einsum("oc,chw->ohw", w[:, :, i, j].astype(np.float64), xp[:, i:i + H, j:j + W])
    return out if bias is None else out + bias[:, None, None]


def _case(seed, C, O, H, W):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((C, H, W)).astype(np.float32)
    w = (rng.standard_normal((O, C, 3, 3)) / np.sqrt(9 * C)).astype(np.float32)
    return rng, x, w


@pytest.mark.parametrize("H,W", [(8, 8), (7, 9), (1, 5), (13, 4)])
def test_conv3x3_is_the_convolution(H, W):
    rng, x, w = _case(H * 31 + W, 40, 36, H, W)
    b = rng.standard_normal(36).astype(np.float32)
    ref = _direct64(x, w, b)
    got = winograd.conv3x3(x, w, b)
    assert got.dtype == np.float32 and got.shape == ref.shape
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))


@pytest.mark.parametrize("n_threads", [1, 2])
def test_numba_kernels_equal_the_numpy_reference_with_the_epilogue(n_threads):
    rng, x, w = _case(5, 70, 66, 11, 14)  # channel counts across two CHANNEL_BLOCKs
    scale, shift = rng.uniform(0.5, 2, 66).astype(np.float32), rng.standard_normal(66).astype(np.float32)
    res = rng.standard_normal((66, 11, 14)).astype(np.float32)
    with threads.using(n_threads):
        a = winograd.conv3x3(x, w, None, scale, shift, res, relu=True)
    b = winograd.conv3x3(x, w, None, scale, shift, res, relu=True, use_numba=False)
    assert np.array_equal(a, b)
    expect = np.maximum((_direct64(x, w) * scale[:, None, None] + shift[:, None, None]) + res, 0)
    assert np.max(np.abs(a - expect)) <= 1e-5 * np.max(np.abs(expect))
    assert (a == 0).any() and (a > 0).any()  # the ReLU really clipped


def test_shared_weights_over_several_maps_are_each_maps_convolution():
    """The RPN head's one set of GEMMs over every level: each map gets its own convolution (the
    GEMMs' column count differs from one map alone, so BLAS may round the last bit differently)."""
    rng, x, w = _case(9, 32, 24, 10, 12)
    maps = [x, np.ascontiguousarray(x[:, :5, :7]), rng.standard_normal((32, 3, 3)).astype(np.float32)]
    b = rng.standard_normal(24).astype(np.float32)
    outs = winograd.conv3x3_shared(maps, w, b, relu=True)
    assert [o.shape for o in outs] == [(24, *m.shape[1:]) for m in maps]
    for got, m in zip(outs, maps):
        ref = np.maximum(_direct64(m, w, b), 0)
        assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))
        one = winograd.conv3x3(m, w, b, relu=True)
        assert np.max(np.abs(got - one)) <= 1e-6 * np.max(np.abs(one))


def test_conv2d_uses_winograd_from_the_tile_threshold_on():
    _, x, w = _case(3, 16, 8, 8, 8)  # 16 tiles
    assert np.array_equal(ops.conv2d(x, w, pad=1), winograd.conv3x3(x, w))
    small = np.ascontiguousarray(x[:, :6, :6])  # 9 tiles: direct
    ref = _direct64(small, w)
    got = ops.conv2d(small, w, pad=1)
    assert np.max(np.abs(got - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_transform_weights_rejects_other_kernel_sizes():
    with pytest.raises(ValueError, match="3x3"):
        winograd.transform_weights(np.zeros((4, 4, 5, 5), np.float32))
