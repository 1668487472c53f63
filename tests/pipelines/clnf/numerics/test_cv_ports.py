"""cv_ports (numba ports of cv::solve's Cholesky, cv::SVDecomp and cv::Rodrigues for the sizes NU-RLMS
and PDM::CalcParams use) against cv2 itself, bit for bit, on random inputs of the shapes and value
ranges that occur: the Hessian (6 + m modes, odd and even sizes, float32, SPD from J^T W J + a regulariser), the small
rotation I + [w]x Orthonormalise factors (plus perturbed and general 3x3s), near-identity and
general rotations (and rotations near pi, Rodrigues' s < 1e-5 branch), axis-angle vectors from 0 up."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.clnf.numerics.cv_ports import cholesky_solve_f32, rodrigues_m2v_f32, rodrigues_v2m_f32, svd3_f32

_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def _bits(a):
    a = np.ascontiguousarray(a, dtype=np.float32)
    return a.reshape(-1).view(np.uint32)


def small_rotation(w):
    r = np.eye(3, dtype=np.float32)
    r[2, 1], r[1, 2] = w[0], -w[0]
    r[0, 2], r[2, 0] = w[1], -w[1]
    r[1, 0], r[0, 1] = w[2], -w[2]
    return r


def _rotation(rng, angle_scale):
    w = rng.normal(size=3) * angle_scale
    return cv2.Rodrigues(w.reshape(3, 1))[0].astype(np.float32)


def _svd_case(rng, i):
    scale = [1e-7, 1e-4, 1e-2, 0.1, 0.5][i % 5]
    a = small_rotation((rng.normal(size=3) * scale).astype(np.float32))
    if i % 3 == 1:
        a = (a + rng.normal(size=(3, 3)).astype(np.float32) * np.float32(scale)).astype(np.float32)
    elif i % 3 == 2:
        a = (rng.normal(size=(3, 3)) * 10 ** rng.uniform(-3, 3)).astype(np.float32)
    return a


@settings(max_examples=40, deadline=None)
@given(_SEEDS)
def test_svd3_f32_matches_cv2_svdecomp(seed):
    rng = np.random.default_rng(seed)
    for i in range(500):
        a = _svd_case(rng, i)
        w, u, vt = cv2.SVDecomp(a)
        w2, u2, vt2, ok = svd3_f32(a)
        assert ok
        assert np.array_equal(_bits(w), _bits(w2)) and np.array_equal(_bits(u), _bits(u2)) \
            and np.array_equal(_bits(vt), _bits(vt2)), a


def _rotation_case(rng, i):
    kind = i % 6
    if kind == 0:       # R1 · Orthonormalise(I + [w]x) in the fits: general rotations
        return _rotation(rng, 1.0)
    if kind == 1:       # near identity
        return _rotation(rng, 10 ** rng.uniform(-7, -2))
    if kind == 2:       # near pi (s < 1e-5, c < 0)
        axis = rng.normal(size=3)
        axis /= np.linalg.norm(axis)
        return cv2.Rodrigues((axis * (np.pi - 10 ** rng.uniform(-8, -4))).reshape(3, 1))[0].astype(np.float32)
    if kind == 3:       # a float rotation product that is not exactly orthonormal
        return (_rotation(rng, 1.0) @ _rotation(rng, 0.1)).astype(np.float32)
    if kind == 4:       # perturbed
        return (_rotation(rng, 2.0) + rng.normal(size=(3, 3)).astype(np.float32) * np.float32(1e-3)).astype(np.float32)
    return np.eye(3, dtype=np.float32)


@settings(max_examples=40, deadline=None)
@given(_SEEDS)
def test_rodrigues_matches_cv2_both_ways(seed):
    rng = np.random.default_rng(seed)
    for i in range(500):
        r = _rotation_case(rng, i)
        v = cv2.Rodrigues(r)[0]
        v2, ok = rodrigues_m2v_f32(r)
        assert ok
        assert np.array_equal(_bits(v), _bits(v2)), r
        m = cv2.Rodrigues(v)[0]
        assert np.array_equal(_bits(m), _bits(rodrigues_v2m_f32(v.reshape(-1)))), v
        # axis-angle vectors of any size, zero included
        vv = (rng.normal(size=3) * 10 ** rng.uniform(-9, 1) * (i % 7 != 0)).astype(np.float32)
        assert np.array_equal(_bits(cv2.Rodrigues(vv.reshape(3, 1))[0]), _bits(rodrigues_v2m_f32(vv))), vv


def test_rodrigues_out_of_range_matrix_gives_zeros_as_cv2():
    r = np.eye(3, dtype=np.float32) * np.float32(200)
    v2, ok = rodrigues_m2v_f32(r)
    assert ok and np.array_equal(_bits(cv2.Rodrigues(r)[0]), _bits(v2))


@settings(max_examples=40, deadline=None)
@given(_SEEDS)
def test_cholesky_solve_matches_cv2_solve(seed):
    rng = np.random.default_rng(seed)
    for i in range(60):
        k = 6 + int(rng.integers(0, 41))       # rigid (6) up to 6 + 40 modes
        J = (rng.normal(size=(2 * 68, k)) * 10 ** rng.uniform(-2, 2, size=k)).astype(np.float32)
        H = (J.T @ J).astype(np.float32)
        H[np.arange(k), np.arange(k)] += (10 ** rng.uniform(-3, 3, size=k)).astype(np.float32)
        if i % 4 == 0:   # the upper triangle is not read (cv::solve's Cholesky uses the lower one)
            H = H + np.triu(rng.normal(size=(k, k)).astype(np.float32), 1)
        b = (rng.normal(size=k) * 10 ** rng.uniform(-3, 3)).astype(np.float32)
        x = cv2.solve(H, b.reshape(-1, 1), flags=cv2.DECOMP_CHOLESKY)[1]
        x2, ok = cholesky_solve_f32(H, b)
        assert ok
        assert np.array_equal(_bits(x), _bits(x2)), (H, b)


@pytest.mark.parametrize("bad_row", range(7))
def test_cholesky_solve_reports_a_failed_factorisation(bad_row):
    # failing on either row of a pair the port factors together, or on the odd last row
    H = np.eye(7, dtype=np.float32)
    H[bad_row, bad_row] = -1
    ok_cv, _ = cv2.solve(H, np.ones((7, 1), np.float32), flags=cv2.DECOMP_CHOLESKY)
    _, ok = cholesky_solve_f32(H, np.ones(7, np.float32))
    assert not ok_cv and not ok


def test_svd3_f32_rank_deficient_defers_to_cv2():
    # a zero singular value sends OpenCV to its random-vector branch, which the port leaves to cv2
    _w, _u, _vt, ok = svd3_f32(np.zeros((3, 3), dtype=np.float32))
    assert not ok
