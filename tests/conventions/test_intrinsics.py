"""Camera intrinsics under crop, pad and resize, from first principles: project a 3D point into an
image, then crop / pad / resize the *image* (numpy slicing, cv2.resize) and read the image where the
transformed intrinsics project the point: the same value as in the original image at the original
projection. The images are linear ramps, which bilinear interpolation and cv2's linear resize
reproduce exactly away from the border, so any error in focal length or principal point shows."""

from __future__ import annotations

import cv2
import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyparity.conventions import intrinsics as I

H, W = 60, 80
A, B, C = 0.37, -0.21, 5.0  # ramp f(u, v) = A u + B v + C (u, v in OpenCV pixel-centre coordinates)


def ramp(h=H, w=W):
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    return A * u + B * v + C


def bilinear(img, u, v):
    u0, v0 = int(np.floor(u)), int(np.floor(v))
    du, dv = u - u0, v - v0
    return ((1 - du) * (1 - dv) * img[v0, u0] + du * (1 - dv) * img[v0, u0 + 1]
            + (1 - du) * dv * img[v0 + 1, u0] + du * dv * img[v0 + 1, u0 + 1])


cams = st.tuples(st.floats(40, 120), st.floats(40, 120), st.floats(30, 50), st.floats(22, 38))
points = st.tuples(st.floats(-0.3, 0.3), st.floats(-0.3, 0.3), st.floats(1.0, 3.0))


def _inside(uv, h, w, margin):
    return margin <= uv[0] <= w - 1 - margin and margin <= uv[1] <= h - 1 - margin


@settings(max_examples=80, deadline=None)
@given(cams, points, st.integers(0, 20), st.integers(0, 15), st.integers(30, 60), st.integers(25, 45))
def test_crop_then_read_equals_project_with_cropped_intrinsics(cam, X, x0, y0, cw, ch):
    K = I.camera_matrix(*cam)
    img = ramp()
    crop = img[y0:y0 + ch, x0:x0 + cw]
    uv = I.project(K, np.array([X]))[0]
    uv_c = I.project(I.crop_intrinsics(K, x0, y0), np.array([X]))[0]
    assume(_inside(uv_c, *crop.shape, 1) and _inside(uv, H, W, 1))
    assert abs(bilinear(crop, *uv_c) - bilinear(img, *uv)) < 1e-9


@settings(max_examples=80, deadline=None)
@given(cams, points, st.integers(0, 12), st.integers(0, 12), st.integers(0, 5), st.integers(0, 5))
def test_pad_then_read_equals_project_with_padded_intrinsics(cam, X, left, top, right, bottom):
    K = I.camera_matrix(*cam)
    img = ramp()
    padded = np.pad(img, ((top, bottom), (left, right)), mode="reflect")  # content: shifted, unchanged
    uv = I.project(K, np.array([X]))[0]
    uv_p = I.project(I.pad_intrinsics(K, left, top), np.array([X]))[0]
    assume(_inside(uv, H, W, 1))
    assert abs(bilinear(padded, *uv_p) - bilinear(img, *uv)) < 1e-9


@settings(max_examples=80, deadline=None)
@given(cams, points, st.integers(30, 200), st.integers(30, 200))
def test_resize_then_read_equals_project_with_resized_intrinsics(cam, X, new_w, new_h):
    K = I.camera_matrix(*cam)
    img = ramp()
    small = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    sx, sy = I.resize_scales((H, W), (new_h, new_w))
    uv = I.project(K, np.array([X]))[0]
    uv_r = I.project(I.resize_intrinsics(K, sx, sy), np.array([X]))[0]
    # away from the border, where cv2 clamps (and, when shrinking, a source pixel's neighbours exist)
    m = 2 + max(1 / sx, 1 / sy)
    assume(_inside(uv, H, W, m) and _inside(uv_r, new_h, new_w, 2 * max(sx, sy, 1)))
    assert abs(bilinear(small, *uv_r) - bilinear(img, *uv)) < 1e-6
    # the common errors are visible: keeping the focal length, or scaling cx without the half pixel
    kept = I.resize_intrinsics(K, 1.0, 1.0)
    kept[0, 2], kept[1, 2] = I.resize_intrinsics(K, sx, sy)[0, 2], I.resize_intrinsics(K, sx, sy)[1, 2]
    corner = I.resize_intrinsics(K, sx, sy, align="corner")
    off_axis = max(abs(X[0]), abs(X[1])) / X[2] > 0.02  # keeping the focal shows off the optical axis
    if abs(sx - 1) > 0.05 and abs(sy - 1) > 0.05:
        for wrong in (kept, corner) if off_axis else (corner,):
            uv_w = I.project(wrong, np.array([X]))[0]
            assert np.max(np.abs(uv_w - uv_r)) > 1e-3


@settings(max_examples=40, deadline=None)
@given(cams, points, st.floats(0.3, 3.0), st.integers(0, 10), st.integers(0, 10))
def test_transforms_compose_like_the_image_operations(cam, X, s, x0, y0):
    """crop then resize == one affine pixel map applied to the projection."""
    K = I.camera_matrix(*cam)
    uv = I.project(K, np.array([X]))[0]
    K2 = I.resize_intrinsics(I.crop_intrinsics(K, x0, y0), s)
    expect = s * (uv - [x0, y0] + 0.5) - 0.5
    np.testing.assert_allclose(I.project(K2, np.array([X]))[0], expect, atol=1e-9)


def test_img2pose_intrinsics_follow_upstream_and_the_dumps(shared_dir):
    from pyparity.trace import read_trace

    d = shared_dir / "reference_dumps" / "img2pose-upstream" / "images" / "001.jpg"
    ref = read_trace(d)
    h, w = (int(v) for v in ref["transform/image_sizes"][0])
    assert np.array_equal(I.img2pose_intrinsics(h, w), ref["roi/pose/global_intrinsics"])
    H0, W0 = ref["input/image"].shape[:2]
    assert np.array_equal(I.img2pose_intrinsics(H0, W0), ref["post/intrinsics"])
    boxes = ref["roi/pose/in_boxes"]
    Kb = np.stack([I.img2pose_bbox_intrinsics(I.img2pose_intrinsics(h, w), b) for b in boxes])
    assert np.array_equal(Kb, ref["roi/pose/bbox_intrinsics"])
