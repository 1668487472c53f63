"""`pyparity.diff.compare` on its own: what one stage's comparison reports (status, metrics, where the
worst element is, notes) and how rows in another order are told apart from wrong values. The expected
values are worked out by hand from the arrays in each test; the tolerance arithmetic at its limits is
tests/diff/test_tolerance_boundaries.py's."""

from __future__ import annotations

import numpy as np
import pytest

from pyparity.diff.compare import (DIVERGED, DTYPE_MISMATCH, IGNORED, MATCH, SHAPE_MISMATCH, compare_arrays,
                                   match_as_set)
from pyparity.diff.policy import Tolerance


def test_metrics_of_a_divergence():
    a = np.array([0.0, 1.0, 2.0, 3.0])
    b = np.array([0.0, 1.5, 2.0, 2.0])
    r = compare_arrays("s", a, b, Tolerance(atol=0.1))
    assert r.status == DIVERGED and r.failing
    assert r.max_abs == 1.0 and r.argmax == (3,)
    assert r.mean_abs == pytest.approx((0.5 + 1.0) / 4)
    assert (r.n_over, r.n_total) == (2, 4)
    assert r.tolerance == "abs≤0.1" and (r.dtype_a, r.dtype_b) == ("float64", "float64")


def test_the_worst_element_of_a_matrix_is_a_row_and_a_column():
    a = np.zeros((3, 4), np.float32)
    b = a.copy()
    b[2, 1] = 0.25
    b[0, 3] = -0.5
    r = compare_arrays("m", a, b, Tolerance(atol=0.3))
    assert r.status == DIVERGED and r.argmax == (0, 3) and r.max_abs == 0.5 and r.n_over == 1


def test_within_tolerance_matches_and_still_reports_the_difference():
    r = compare_arrays("s", np.array([1.0, 2.0]), np.array([1.0, 2.05]), Tolerance(atol=0.1))
    assert r.status == MATCH and not r.failing
    assert r.max_abs == pytest.approx(0.05) and r.n_over == 0 and r.argmax == (1,)


def test_shape_mismatch_is_reported_without_metrics():
    r = compare_arrays("s", np.zeros((2, 3)), np.zeros((3, 2)), Tolerance(atol=1.0))
    assert r.status == SHAPE_MISMATCH and r.max_abs is None
    assert (r.shape_a, r.shape_b) == ((2, 3), (3, 2)) and r.note == "shape (2, 3) vs (3, 2)"


def test_dtype_mismatch_of_equal_values_unless_the_dtype_is_not_checked():
    a, b = np.arange(4, dtype=np.float32), np.arange(4, dtype=np.float64)
    r = compare_arrays("s", a, b, Tolerance())
    assert r.status == DTYPE_MISMATCH and "dtype float32 vs float64" in r.note
    assert compare_arrays("s", a, b, Tolerance(check_dtype=False)).status == MATCH
    # a value divergence stays a divergence; the dtype is a note beside it
    r = compare_arrays("s", a, b + 1, Tolerance())
    assert r.status == DIVERGED and "dtype float32 vs float64" in r.note


def test_ignored_stage_compares_nothing():
    r = compare_arrays("s", np.zeros(3), np.ones(3), Tolerance(ignore=True))
    assert r.status == IGNORED and r.max_abs is None and r.tolerance == "ignored"


def test_rows_in_another_order_fail_a_sequence_and_match_a_set():
    a = np.array([[0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 20.0, 20.0], [5.0, 80.0, 8.0, 8.0]])
    b = a[[2, 0, 1]]
    seq = compare_arrays("boxes", a, b, Tolerance(atol=1e-6))
    assert seq.status == DIVERGED and seq.order_only and "differs only in row order" in seq.note
    as_set = compare_arrays("boxes", a, b, Tolerance(atol=1e-6, order="set"))
    assert as_set.status == MATCH and as_set.order_only and as_set.max_abs == 0.0
    assert "same rows in another order" in as_set.note


def test_a_permutation_with_a_wrong_value_is_not_order_only():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    b = a[[1, 0, 2]].copy()
    b[2, 1] = 6.5
    r = compare_arrays("rows", a, b, Tolerance(atol=0.1, order="set"))
    assert r.status == DIVERGED and not r.order_only


def test_match_as_set_returns_b_reordered_like_a():
    a = np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    b = np.array([[3.0, 3.0], [1.0, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(match_as_set(a, b, Tolerance()), a)
    assert match_as_set(a, a.copy(), Tolerance()) is None          # already in order: nothing to reorder
    assert match_as_set(a[:1], b[:1], Tolerance()) is None          # one row has no other order


def test_strings_compare_by_value():
    a = np.array(["x", "y", "z"])
    assert compare_arrays("names", a, a.copy(), Tolerance()).status == MATCH
    r = compare_arrays("names", a, np.array(["x", "q", "z"]), Tolerance())
    assert r.status == DIVERGED and (r.n_over, r.n_total) == (1, 3)


def test_non_native_byte_order_is_compared_by_value_and_said():
    a = np.arange(3, dtype="<f4")
    r = compare_arrays("s", a, a.astype(">f4"), Tolerance())
    assert r.status == MATCH and "byte order" in r.note
