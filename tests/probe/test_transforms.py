"""Alignment transforms (probe/transforms.py): each step's effect written out by hand, validation, and
one clear error for a step that does not fit the array."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.probe.transforms import TransformError, apply_steps, normalise_steps

X = np.arange(24.0).reshape(2, 3, 4)
BOXES = np.array([[1.0, 2.0, 10.0, 20.0], [5.0, 5.0, 1.0, 3.0]])


def run(spec, a):
    return apply_steps(a, normalise_steps(spec, "t"), "t")


@pytest.mark.parametrize("spec,a,want", [
    ({"transpose": [2, 0, 1]}, X, np.moveaxis(X, 2, 0)),
    ({"reshape": [6, -1]}, X, X.reshape(6, 4)),
    ({"layout": "interleaved_to_stacked"}, np.array([1.0, 10, 2, 20, 3, 30]), np.array([1.0, 2, 3, 10, 20, 30])),
    ({"layout": "stacked_to_interleaved"}, np.array([1.0, 2, 3, 10, 20, 30]), np.array([1.0, 10, 2, 20, 3, 30])),
    ({"layout": "interleaved_to_stacked", "axis": 1}, np.array([[1.0, 10, 2, 20]]), np.array([[1.0, 2, 10, 20]])),
    ({"layout": "xy_to_stacked"}, np.array([[1.0, 10], [2, 20]]), np.array([1.0, 2, 10, 20])),
    ({"layout": "stacked_to_xy"}, np.array([1.0, 2, 10, 20]), np.array([[1.0, 10], [2, 20]])),
    ({"boxes": "xywh_to_xyxy"}, BOXES, np.array([[1.0, 2, 11, 22], [5, 5, 6, 8]])),
    ({"boxes": "xyxy_to_xywh"}, np.array([[1.0, 2, 11, 22]]), np.array([[1.0, 2, 10, 20]])),
    ({"flip_axis": 2}, X, X[..., ::-1]),
    ({"dtype": "float32"}, X, X.astype(np.float32)),
    ({"rows": [1, 0]}, BOXES, BOXES[::-1]),
    ({"rows": "1:"}, BOXES, BOXES[1:]),
    ({"rows": ":1"}, BOXES, BOXES[:1]),
    ({"rows": ":"}, BOXES, BOXES),
    ({"offset": [-1, -1, 0, 0]}, BOXES, BOXES - [1, 1, 0, 0]),
    ({"offset": 0.5}, np.array([1, 2]), np.array([1.5, 2.5])),
    ({"scale": 0.5}, BOXES, BOXES * 0.5),
    ({"scale": 2}, np.array([1, 2], np.int32), np.array([2, 4], np.int32)),
    ({"scale": 0.5}, np.array([2, 4], np.int32), np.array([1.0, 2.0])),
    ({"rows": []}, BOXES, np.empty((0, 4))),
    ({"round": 1}, np.array([1.26, -1.24]), np.array([1.3, -1.2])),
    ({"round": "floor"}, np.array([1.5, -1.5]), np.array([1.0, -2.0])),
    ({"round": "trunc"}, np.array([1.5, -1.5]), np.array([1.0, -1.0])),
    ({"round": "ceil"}, np.array([1.5, -1.5]), np.array([2.0, -1.0])),
    ({"sort_rows": True}, np.array([[2.0, 1], [1, 5], [1, 2]]), np.array([[1.0, 2], [1, 5], [2, 1]])),
    ({"sort_rows": False}, np.array([[2.0, 1], [1, 5]]), np.array([[2.0, 1], [1, 5]])),
    ({"squeeze": True}, np.ones((1, 3, 1)), np.ones(3)),
    ({"squeeze": False}, np.ones((1, 3, 1)), np.ones((1, 3, 1))),
    ([{"reshape": [4, 6]}, {"transpose": [1, 0]}], X, X.reshape(4, 6).T),
])
def test_each_step(spec, a, want):
    got = run(spec, a)
    assert got.shape == want.shape and got.dtype == want.dtype and np.array_equal(got, want), got
    assert got.flags.c_contiguous


def test_offset_keeps_float32_and_scale_keeps_the_dtype():
    a = np.array([1.0, 2.0], np.float32)
    assert run({"offset": 0.1}, a).dtype == np.float32 and run({"scale": 3}, a).dtype == np.float32
    assert run({"offset": 1}, np.array([1, 2], np.int64)).dtype == np.float64


def test_scalars_stay_scalars():
    out = run({"scale": 2.0}, np.array(3.0))
    assert out.shape == () and out == 6.0
    assert run({"sort_rows": True}, np.array(1.0)).shape == ()
    assert run({"sort_rows": True}, np.empty((0, 2))).shape == (0, 2)


def test_no_spec_is_no_step():
    assert normalise_steps(None, "t") == []
    assert np.array_equal(run(None, X), X)


@pytest.mark.parametrize("spec,message", [
    ({"bogus": 1}, "unknown transform step 'bogus'"),
    ({"layout": "sideways"}, "layout must be one of"),
    ({"boxes": "cxcywh"}, "boxes must be one of"),
    ({"dtype": "float99"}, "unknown dtype"),
    ({"round": 1.5}, "round must be a number of decimals"),
    ({"round": "up"}, "round must be a number of decimals"),
    ({"round": True}, "round must be a number of decimals"),
    ({"rows": "3"}, 'rows must be a list of row numbers or a slice such as "0:5"'),
    ({"rows": "0:5:2"}, 'rows must be a list of row numbers or a slice such as "0:5"'),
    (3, "a transform is a table"),
    ([{"scale": 1}, "x"], "a transform is a table"),
])
def test_bad_spec(spec, message):
    with pytest.raises(TransformError, match=message.replace("(", r"\(")):
        normalise_steps(spec, "t")


@pytest.mark.parametrize("spec", [{"transpose": [0, 1]}, {"reshape": [5, 5]}, {"rows": [9]}, {"flip_axis": 4},
                                  {"offset": [1, 2, 3]}, {"layout": "interleaved_to_stacked", "axis": 7}])
def test_a_step_that_does_not_fit_is_one_error(spec):
    with pytest.raises(TransformError) as err:
        run(spec, X)
    assert "fails on an array of shape [2, 3, 4]" in str(err.value) and "t:" in str(err.value)


# ---- the steps for injection: expand_dims, squeeze by axis, concat, stack, sort_rows by keys --

@pytest.mark.parametrize("spec,a,want", [
    ({"expand_dims": 0}, np.arange(3.0), np.arange(3.0)[None]),
    ({"expand_dims": -1}, np.arange(3.0), np.arange(3.0)[:, None]),
    ({"squeeze": 0}, np.ones((1, 3, 1)), np.ones((3, 1))),
    ({"squeeze": 2}, np.ones((1, 3, 1)), np.ones((1, 3))),
    ({"sort_rows": [1]}, np.array([[1.0, 9], [2, 3], [0, 5]]), np.array([[2.0, 3], [0, 5], [1, 9]])),
    ({"sort_rows": [1, 0]}, np.array([[2.0, 1], [1, 1], [0, 5]]), np.array([[1.0, 1], [2, 1], [0, 5]])),
])
def test_injection_steps(spec, a, want):
    got = run(spec, a)
    assert got.shape == want.shape and np.array_equal(got, want), got


def test_concat_and_stack_join_a_sequence():
    a, b = np.ones((2, 2)), np.zeros((2, 3))
    assert np.array_equal(run({"concat": 1}, (a, b)), np.hstack([a, b]))
    assert np.array_equal(run({"concat": 0}, [a, a]), np.vstack([a, a]))
    assert np.array_equal(run({"stack": 0}, [b, b + 1]), np.stack([b, b + 1]))
    assert np.array_equal(run({"stack": 1}, np.arange(6.0).reshape(2, 3)), np.arange(6.0).reshape(2, 3).T)
    assert np.array_equal(run([{"concat": 1}, {"transpose": [1, 0]}], (a, b)), np.hstack([a, b]).T)


def test_a_join_that_does_not_fit_is_one_error():
    with pytest.raises(TransformError, match="t: step concat = 0 cannot join"):
        run({"concat": 0}, (np.ones((2, 2)), np.ones((2, 3))))


@pytest.mark.parametrize("spec,message", [
    ({"expand_dims": "0"}, "expand_dims takes an axis"),
    ({"concat": True}, "concat takes an axis"),
    ({"stack": 1.0}, "stack takes an axis"),
    ({"squeeze": "yes"}, "squeeze = true"),
    ({"sort_rows": []}, "sort_rows = true, or a list"),
    ({"sort_rows": [0, "1"]}, "sort_rows = true, or a list"),
    ({"sort_rows": 1}, "sort_rows = true, or a list"),
    ([{"dtype": "float32"}, {"stack": 0}], "must be the first step"),
])
def test_bad_injection_steps(spec, message):
    with pytest.raises(TransformError, match=message):
        normalise_steps(spec, "t")


def test_squeeze_false_and_sort_rows_false_do_nothing():
    x = np.ones((1, 3, 1))
    assert run({"squeeze": False}, x).shape == (1, 3, 1)
    y = np.array([[2.0, 1], [1, 5]])
    assert np.array_equal(run({"sort_rows": False}, y), y)
def test_scale_by_a_list_keeps_float32():
    out = run({"scale": [0.5, 2.0]}, np.array([[1.0, 3.0]], np.float32))
    assert out.dtype == np.float32 and np.array_equal(out, np.array([[0.5, 6.0]], np.float32))


def test_xy_layouts_convert_the_whole_array_whatever_the_axis():
    """(N, 2) rows of (x, y) <-> (2N,) stacked: there is no landmark axis to move."""
    assert np.array_equal(run({"layout": "xy_to_stacked", "axis": 1}, np.array([[1.0, 10], [2, 20]])),
                          np.array([1.0, 2, 10, 20]))
    assert np.array_equal(run({"layout": "stacked_to_xy", "axis": 1}, np.array([1.0, 2, 10, 20])),
                          np.array([[1.0, 10], [2, 20]]))


@pytest.mark.parametrize("spec", [{"layout": "interleaved_to_stacked", "axis": 1},
                                  {"axis": 1, "layout": "interleaved_to_stacked"}])
def test_axis_is_an_option_of_the_layout_step_not_a_step(spec):
    assert normalise_steps(spec, "t") == [("layout", "interleaved_to_stacked", {"axis": 1})]


def test_spec_messages_word_for_word():
    with pytest.raises(TransformError) as err:
        normalise_steps({"bogus": 1}, "t")
    assert str(err.value) == ("t: unknown transform step 'bogus' (known: transpose, reshape, layout, axis, boxes, "
                              "flip_axis, dtype, rows, offset, scale, round, sort_rows, squeeze, expand_dims, concat, stack)")
    with pytest.raises(TransformError) as err:
        normalise_steps({"layout": "sideways"}, "t")
    assert str(err.value) == ("t: layout must be one of interleaved_to_stacked, stacked_to_interleaved, "
                              "xy_to_stacked, stacked_to_xy")


def test_a_failing_step_is_named_after_the_transform_by_default():
    with pytest.raises(TransformError) as err:
        apply_steps(np.zeros(3), [("reshape", [2], {"axis": 0})])
    assert str(err.value).startswith("transform: step reshape = [2] fails on an array of shape [3] (")


def test_boxes_and_round_messages_word_for_word():
    with pytest.raises(TransformError) as err:
        normalise_steps({"boxes": "cxcywh"}, "t")
    assert str(err.value) == "t: boxes must be one of xyxy_to_xywh, xywh_to_xyxy"
    with pytest.raises(TransformError) as err:
        normalise_steps({"round": "up"}, "t")
    assert str(err.value) == "t: round must be a number of decimals or one of floor, trunc, ceil"


def test_a_failing_step_without_a_name_has_no_prefix():
    with pytest.raises(TransformError) as err:
        apply_steps(np.zeros(3), [("reshape", [2], {"axis": 0})], "")
    assert str(err.value).startswith("step reshape = [2] fails on an array of shape [3] (")
