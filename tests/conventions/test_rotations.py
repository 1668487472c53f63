"""Rotation conventions from first principles: elementary rotations, round trips, SciPy agreement, and
both SciPy behaviours for non-orthogonal matrices (explicit, optional orthogonalisation)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyparity.conventions import rotations as R

angle = st.floats(-math.pi + 1e-3, math.pi - 1e-3)
half = st.floats(-math.pi / 2 + 1e-3, math.pi / 2 - 1e-3)
coord = st.floats(-3.0, 3.0)


def _rot(axis, a):
    """Rotation about a unit axis by angle a, from Rodrigues' formula written out."""
    k = np.asarray(axis, dtype=np.float64)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * kx @ kx


@settings(max_examples=60, deadline=None)
@given(st.tuples(coord, coord, coord), angle)
def test_rotvec_to_matrix_is_rodrigues(axis, a):
    v = np.asarray(axis)
    n = np.linalg.norm(v)
    assume(n >= 1e-3)
    k = v / n
    np.testing.assert_allclose(R.rotvec_to_matrix(k * a), _rot(k, a), atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.tuples(coord, coord, coord))
def test_rotvec_matrix_round_trip(v):
    r = np.asarray(v)
    assume(np.linalg.norm(r) < math.pi - 1e-3)
    m = R.rotvec_to_matrix(r)
    assert R.is_orthogonal(m) and abs(np.linalg.det(m) - 1) < 1e-12
    for ortho in (True, False):  # an orthogonal matrix is left alone by both behaviours
        np.testing.assert_allclose(R.matrix_to_rotvec(m, ortho), r, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(angle, half, angle)
def test_openface_euler_is_rx_ry_rz_and_round_trips(rx, ry, rz):
    m = R.euler_to_matrix([rx, ry, rz], "openface")
    np.testing.assert_allclose(m, _rot([1, 0, 0], rx) @ _rot([0, 1, 0], ry) @ _rot([0, 0, 1], rz), atol=1e-12)
    np.testing.assert_allclose(R.matrix_to_euler(m, "openface"), [rx, ry, rz], atol=1e-8)
    # through a rotation vector and back: Euler -> rotvec -> matrix -> Euler
    r = R.euler_to_rotvec([rx, ry, rz], "openface")
    np.testing.assert_allclose(R.rotvec_to_matrix(r), m, atol=1e-9)
    np.testing.assert_allclose(R.rotvec_to_euler(r, "openface"), [rx, ry, rz], atol=1e-8)


@settings(max_examples=60, deadline=None)
@given(angle, half, angle)
def test_img2pose_euler_is_scipy_extrinsic_xyz(rx, ry, rz):
    from scipy.spatial.transform import Rotation

    m = R.euler_to_matrix([rx, ry, rz], "img2pose")
    np.testing.assert_allclose(m, _rot([0, 0, 1], rz) @ _rot([0, 1, 0], ry) @ _rot([1, 0, 0], rx), atol=1e-12)
    np.testing.assert_allclose(m, Rotation.from_euler("xyz", [rx, ry, rz]).as_matrix(), atol=1e-12)
    np.testing.assert_allclose(R.matrix_to_euler(m, "img2pose"), [rx, ry, rz], atol=1e-8)
    np.testing.assert_allclose(R.rotvec_to_euler(R.euler_to_rotvec([rx, ry, rz], "img2pose"), "img2pose"),
                               [rx, ry, rz], atol=1e-8)


@settings(max_examples=40, deadline=None)
@given(angle, half, angle)
def test_convert_between_conventions_keeps_the_rotation(rx, ry, rz):
    e = R.convert_euler([rx, ry, rz], "img2pose", "openface")
    np.testing.assert_allclose(R.euler_to_matrix(e, "openface"), R.euler_to_matrix([rx, ry, rz], "img2pose"),
                               atol=1e-9)


def test_openface_euler_agrees_with_the_clnf_float32_port():
    from pyparity.conventions.rotations_f32 import euler_to_matrix, matrix_to_euler

    rng = np.random.default_rng(0)
    for e in rng.uniform([-1.2, -1.2, -1.2], [1.2, 1.2, 1.2], size=(50, 3)):
        np.testing.assert_allclose(euler_to_matrix(e), R.euler_to_matrix(e, "openface"), atol=2e-7)
        np.testing.assert_allclose(matrix_to_euler(R.euler_to_matrix(e, "openface")), e, atol=2e-6)


@settings(max_examples=60, deadline=None)
@given(st.tuples(coord, coord, coord), st.lists(st.floats(-0.1, 0.1), min_size=9, max_size=9))
def test_orthogonalisation_reproduces_both_scipy_behaviours(v, noise):
    from scipy.spatial.transform import Rotation

    r = np.asarray(v)
    assume(np.linalg.norm(r) < math.pi - 0.2)
    m = R.rotvec_to_matrix(r) + np.asarray(noise).reshape(3, 3)
    assume(not R.is_orthogonal(m) and np.linalg.det(m) > 0.1)
    # SciPy >= 1.17 (installed): nearest rotation first
    np.testing.assert_allclose(R.matrix_to_rotvec(m, True), Rotation.from_matrix(m).as_rotvec(), atol=1e-9)
    o = R.orthogonalize(m)
    assert R.is_orthogonal(o) and abs(np.linalg.det(o) - 1) < 1e-9
    # SciPy <= 1.5: Markley's method on the raw matrix. Where the trace dominates the diagonal, its
    # quaternion is (m21 - m12, m02 - m20, m10 - m01, 1 + tr) normalised: written out here as an
    # axis and an angle, independently of the module's quaternion code
    raw = R.matrix_to_rotvec(m, False)
    tr = np.trace(m)
    if tr > max(np.diag(m)):
        qv = np.array([m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]])
        n = np.linalg.norm(qv)
        if n > 1e-6:
            np.testing.assert_allclose(raw, 2 * math.atan2(n, 1 + tr) * qv / n, atol=1e-9)
    # and the two behaviours really differ on a non-orthogonal matrix (what the dumps' quirk is about)
    if np.max(np.abs(m - m.T - (o - o.T))) > 0.05:
        assert np.max(np.abs(raw - R.matrix_to_rotvec(m, True))) > 1e-6
