"""Properties of the MTCNN building blocks (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from pyparity.pipelines.mtcnn.boxes import apply_correction, rectify
from pyparity.pipelines.mtcnn.cvmath import exp32f
from pyparity.pipelines.mtcnn.libm import expf
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.resize import resize_bilinear
from pyparity.pipelines.mtcnn.sgemm import k_blocks

_coord = st.floats(-50, 500, width=32)
_size = st.floats(1, 300, width=32)
boxes_st = st.lists(st.tuples(_coord, _coord, _size, _size), min_size=0, max_size=25).map(
    lambda b: np.asarray(b, np.float32).reshape(-1, 4))


@given(boxes_st, st.data())
@settings(max_examples=60, deadline=None)
def test_nms_picks_in_score_order_and_keeps_all_at_threshold_one(boxes, data):
    scores = np.asarray(data.draw(st.lists(st.floats(0, 1, width=32), min_size=len(boxes), max_size=len(boxes))),
                        np.float32)
    for minimum in (False, True):
        keep = non_maximum_suppression(boxes, scores, 0.7, minimum)
        assert len(set(keep.tolist())) == len(keep)
        assert np.all(np.diff(scores[keep]) <= 0)
        # an overlap never exceeds 1, so nothing is suppressed
        assert sorted(non_maximum_suppression(boxes, scores, 1.0, minimum).tolist()) == list(range(len(boxes)))


@given(boxes_st)
@settings(max_examples=60, deadline=None)
def test_rectify_gives_integer_squares_and_zero_correction_rounds(boxes):
    r = rectify(boxes)
    assert np.all(r[:, 2] == r[:, 3])
    assert np.all(r == np.trunc(r))
    c = apply_correction(r, np.zeros_like(r), add1=False)
    np.testing.assert_array_equal(c, r)


@given(arrays(np.float32, st.integers(1, 64), elements=st.floats(-80, 80, width=32)))
@settings(max_examples=60, deadline=None)
def test_exp_implementations_accuracy(x):
    exact = np.exp(x.astype(np.float64))
    # glibc's expf: within an ULP of the correctly rounded value
    ulp = np.abs(expf(x).view(np.int32).astype(np.int64) - exact.astype(np.float32).view(np.int32).astype(np.int64))
    assert ulp.max() <= 1
    # OpenCV's exp32f scales x by 64/ln2 in float32, so large |x| loses bits (~4e-6 relative at 80)
    assert np.all(np.abs(exp32f(x) / exact - 1) <= 1e-5)


@given(st.integers(1, 5000))
def test_openblas_k_blocks_cover_k(k):
    b = k_blocks(k)
    assert b[0, 0] == 0 and b[-1, 1] == k and np.all(b[1:, 0] == b[:-1, 1])
    assert np.all(b[:, 1] - b[:, 0] <= 2 * 320)


@given(st.integers(2, 40), st.integers(2, 40), st.integers(1, 60), st.integers(1, 60))
@settings(max_examples=40, deadline=None)
def test_resize_constant_image_stays_constant(h, w, h2, w2):
    img = np.full((h, w, 3), 37.25, np.float32)
    out = resize_bilinear(img, w2, h2)
    assert out.shape == (h2, w2, 3)
    # weights (1 - f, f) do not always sum to exactly 1 in float32, in OpenCV either
    np.testing.assert_allclose(out, 37.25, rtol=2.5e-7)
