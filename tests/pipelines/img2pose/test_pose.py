"""img2pose pose conversions: properties from first principles (hypothesis) and the SciPy-version quirk
on the dumps' own non-orthogonal matrices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.pipelines.img2pose import pose

finite = st.floats(-1.0, 1.0, allow_nan=False)
rotvecs = st.tuples(finite, finite, finite).map(lambda t: np.array(t) * 2.5)  # |r| < 4.4 < 2*pi - margin


def _angle_between(r1, r2):
    m = pose.rotvec_to_matrix(r1).T @ pose.rotvec_to_matrix(r2)
    return np.arccos(np.clip((np.trace(m) - 1) / 2, -1, 1))


@settings(max_examples=200, deadline=None)
@given(rotvecs)
def test_rotvec_matrix_round_trip(r):
    m = pose.rotvec_to_matrix(r)
    assert np.allclose(m @ m.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(m) == pytest.approx(1.0, abs=1e-12)
    back = pose.matrix_to_rotvec(m)
    assert _angle_between(r, back) < 1e-7
    if np.linalg.norm(r) < np.pi - 1e-3:
        assert np.allclose(back, r, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(rotvecs)
def test_matches_scipy_on_rotations(r):
    from scipy.spatial.transform import Rotation

    assert np.allclose(pose.rotvec_to_matrix(r), Rotation.from_rotvec(r).as_matrix(), atol=1e-15)
    m = Rotation.from_rotvec(r).as_matrix()
    assert np.allclose(pose.matrix_to_rotvec(m), Rotation.from_matrix(m).as_rotvec(), atol=1e-12)


boxes = st.tuples(st.integers(0, 300), st.integers(0, 200), st.integers(8, 200), st.integers(8, 200)).map(
    lambda t: np.array([t[0], t[1], t[0] + t[2], t[1] + t[3]], dtype=np.float32))


@settings(max_examples=150, deadline=None)
@given(rotvecs, st.tuples(finite, finite, st.floats(0.5, 3.0)), boxes)
def test_face_origin_projects_to_the_same_pixel_in_box_and_image_cameras(r, t, box):
    """K_box t_box and K_img t_global are the same image point (the translation transform is exact)."""
    K = pose.image_intrinsics(480, 640)
    dof = np.concatenate([r * 0.3, np.array(t)])
    g = pose.pose_bbox_to_full_image(dof, K, box)
    Kb = pose.bbox_intrinsics(K, box)
    tb = dof[3:].copy()
    tb[2] *= K[0, 0] / ((box[2] - box[0]) + (box[3] - box[1]))
    p_box = Kb @ tb
    p_img = K @ g[3:]
    assert np.allclose(p_box[:2] / p_box[2], p_img[:2] / p_img[2], rtol=1e-10, atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(rotvecs, st.tuples(finite, finite, st.floats(0.5, 3.0)), boxes)
def test_bbox_full_round_trip_translation(r, t, box):
    K = pose.image_intrinsics(480, 640)
    dof = np.concatenate([r * 0.3, np.array(t)])
    back = pose.pose_full_image_to_bbox(pose.pose_bbox_to_full_image(dof, K, box), K, box)
    assert np.allclose(back[3:], dof[3:], rtol=1e-9, atol=1e-9)


def test_box_at_image_centre_changes_nothing():
    """With the box centred on the principal point and w+h = f, the bbox pose is the global pose."""
    K = pose.image_intrinsics(100, 200)  # f = 300, c = (100, 50)
    box = np.array([25.0, -25.0, 175.0, 125.0], dtype=np.float32)  # centre (100, 50), w + h = 300
    dof = np.array([0.1, -0.2, 0.05, 0.3, -0.1, 2.0])
    g = pose.pose_bbox_to_full_image(dof, K, box)
    assert np.allclose(g, dof, atol=1e-12)


@pytest.fixture(scope="module")
def sample1_pose(shared_dir):
    from pyparity.trace import read_trace

    return read_trace(shared_dir / "reference_dumps/img2pose-upstream/images/sample1.jpg")


def test_orthogonalisation_reproduces_scipy_117_and_legacy_differs(sample1_pose):
    """The dumps (SciPy 1.17) SVD-orthogonalise the non-orthogonal global matrix; SciPy 1.5.4's raw
    Markley gives rotation vectors up to ~0.05 rad apart (STAGES.md)."""
    raws = sample1_pose["roi/pose/rmat_global_raw"]
    want = sample1_pose["roi/pose/rvec_global"]
    dev = max(np.abs(m @ m.T - np.eye(3)).max() for m in raws)
    assert dev > 0.05  # really not orthogonal
    new = np.array([pose.matrix_to_rotvec(m, orthogonalize_first=True) for m in raws])
    old = np.array([pose.matrix_to_rotvec(m, orthogonalize_first=False) for m in raws])
    assert np.max(np.abs(new - want)) < 1e-13
    assert 1e-3 < np.max(np.abs(old - want)) < 0.1


def test_pose_chain_on_dump_inputs(sample1_pose):
    """pose_bbox_to_full_image on the dump's denormalised dofs and boxes reproduces every step."""
    r = sample1_pose
    K = r["roi/pose/global_intrinsics"]
    for i, (d, b) in enumerate(zip(r["roi/pose/dof_denorm"], r["roi/pose/in_boxes"])):
        steps: dict = {}
        g = pose.pose_bbox_to_full_image(d, K, b, True, steps)
        assert np.array_equal(steps["bbox_intrinsics"], r["roi/pose/bbox_intrinsics"][i])
        assert steps["bbox_size"] == r["roi/pose/bbox_size"][i]
        assert np.allclose(g, r["roi/pose/global_dof"][i], rtol=1e-13, atol=1e-13)
        xy, cam = pose.project_points(np.zeros((1, 3)), g, K)
        assert np.allclose(cam[0], K @ g[3:], rtol=1e-13)


def test_expand_bbox_rectangle_branches():
    lms = np.array([[10.0, 20.0], [30.0, 60.0]])
    # no roll: forehead expands upwards (y1 decreases by 0.3 * 40)
    assert pose.expand_bbox_rectangle(100, 100, 1.1, 1.1, lms, 0.0, 0.3).tolist() == [9, 6, 31, 62]
    assert pose.expand_bbox_rectangle(100, 100, 1.1, 1.1, lms, 3.0, 0.3).tolist() == [9, 18, 31, 74]
    assert pose.expand_bbox_rectangle(100, 100, 1.1, 1.1, lms, 1.5, 0.3).tolist() == [9, 18, 37, 62]
    assert pose.expand_bbox_rectangle(100, 100, 1.1, 1.1, lms, -1.5, 0.3).tolist() == [3, 18, 31, 62]
    # outside the image: snapped to 0 / w / h
    assert pose.expand_bbox_rectangle(25, 50, 1.1, 1.1, lms, 0.0, 0.3).tolist() == [9, 6, 25, 50]
