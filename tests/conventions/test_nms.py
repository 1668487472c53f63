"""OpenFace's NMS in NumPy (conventions.nms) is the one definition: the MTCNN port's compiled NMS keeps
the same boxes in the same order on every input, ties and degenerate boxes included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from pyparity.conventions.nms import openface_nms
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression

_coord = st.floats(-20, 120, allow_nan=False, width=32)
_size = st.floats(-2, 60, allow_nan=False, width=32)
_score = st.sampled_from([0.5, 0.7, 0.9, 0.95])   # few values: ties are common


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_coord, _coord, _size, _size, _score), min_size=0, max_size=40),
       st.sampled_from([0.3, 0.5, 0.7]), st.booleans())
def test_compiled_mtcnn_nms_equals_the_definition(rows, threshold, minimum):
    boxes = np.array([r[:4] for r in rows], np.float32).reshape(-1, 4)
    scores = np.array([r[4] for r in rows], np.float32)
    expected = openface_nms(boxes, scores, threshold, minimum)
    got = non_maximum_suppression(boxes, scores, threshold, minimum)
    assert got.tolist() == expected.tolist()


def test_equal_scores_pick_the_last_inserted_first():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 10, 10]], np.float32)
    scores = np.array([0.9, 0.9, 0.5], np.float32)
    assert openface_nms(boxes, scores, 0.5).tolist() == [1, 2]
    assert openface_nms(boxes, scores, 0.5, ties="first").tolist() == [0, 2]


def test_rounding_half_to_even_and_the_minimum_overlap():
    # x 0.5 rounds to 0, 1.5 to 2: the integer rectangles overlap by 8 of 10 columns
    boxes = np.array([[0.5, 0, 10, 10], [1.5, 0, 10, 10]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    assert openface_nms(boxes, scores, 0.7).tolist() == [0, 1]           # IoU 80/120 = 0.67: both kept
    assert openface_nms(boxes, scores, 0.7, minimum=True).tolist() == [0]  # 80/100 = 0.8 > 0.7: removed
