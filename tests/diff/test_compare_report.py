"""What a comparison reports besides its verdict (diff/compare.py): printed-decimal comparisons at their
limit, notes, shapes, the tolerance text; and the policy's own labels (diff/policy.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pyparity.diff.compare import DIVERGED, DTYPE_MISMATCH, MATCH, SHAPE_MISMATCH, compare_arrays, compare_printed
from pyparity.diff.policy import Policy, Rule, Tolerance, builtin_policy, default_policy, parse_policy
from pyparity.errors import PolicyError

EPS32 = float(np.finfo(np.float32).eps)


def _limit(a: float, decimals: int) -> float:
    """compare_printed's limit: half a unit of the last printed digit (+1e-6 of it) plus 4 float32 eps of |a|."""
    return 0.5 * 10.0 ** -decimals * (1 + 1e-6) + 4 * EPS32 * abs(a)


@pytest.mark.parametrize("a,decimals", [(1.25, 1), (-37.5, 2), (0.0, 3), (123456.0, 0)])
def test_printed_decimals_on_both_sides_of_half_a_digit(a, decimals):
    lim = _limit(a, decimals)
    top = a + lim
    while abs(top - a) > lim:                        # the last float64 inside the limit
        top = math.nextafter(top, -math.inf)
    at = np.array([top])
    over = np.array([math.nextafter(top, math.inf)])
    assert abs(float(at[0]) - a) <= lim and abs(float(over[0]) - a) > lim
    assert compare_printed("s", np.array([a]), at, [decimals]).status == MATCH
    r = compare_printed("s", np.array([a]), over, [decimals])
    assert r.status == DIVERGED and r.n_over == 1 and r.n_total == 1
    assert compare_printed("s", np.array([a]), np.array([2 * a - top]), [decimals]).status == MATCH


def test_printed_decimals_per_element_and_the_tolerance_text():
    a = np.array([1.0, 1.0])
    b = np.array([1.004, 1.04])
    r = compare_printed("s", a, b, [2, 1])
    assert r.status == MATCH and r.tolerance == "printed to 1-2 decimal(s): abs≤half a digit"
    r = compare_printed("s", a, b, [2, 2])
    assert r.status == DIVERGED and r.n_over == 1 and r.argmax == (1,) and r.tolerance.startswith("printed to 2 decimal")
    assert r.max_abs == pytest.approx(0.04) and r.mean_abs == pytest.approx(0.022)


def test_printed_nan_and_inf_are_values():
    a = np.array([np.nan, np.inf, 1.0, -np.inf])
    r = compare_printed("s", a, a.copy(), [3] * 4)
    assert r.status == MATCH and (r.nan_a, r.nan_b, r.inf_a, r.inf_b) == (1, 1, 2, 2) and r.max_abs == 0
    b = np.array([1.0, 1e300, np.nan, np.inf])
    r = compare_printed("s", a, b, [3] * 4)
    assert r.status == DIVERGED and r.n_over == 4 and r.max_abs == math.inf and r.mean_abs == 0.0


def test_printed_shape_mismatch_and_empty():
    r = compare_printed("s", np.ones(3), np.ones((3, 1)), [1, 1, 1])
    assert r.status == SHAPE_MISMATCH and r.note == "shape (3,) vs (3, 1)"
    r = compare_printed("s", np.empty(0), np.empty(0), [1])
    assert r.status == MATCH and r.max_abs == 0 and r.n_total == 0


def test_notes_and_labels():
    r = compare_arrays("s", np.ones((2, 3)), np.ones(6), Tolerance())
    assert r.status == SHAPE_MISMATCH and r.note == "shape (2, 3) vs (6,)"
    assert (r.dtype_a, r.dtype_b, r.shape_a, r.shape_b) == ("float64", "float64", (2, 3), (6,))
    r = compare_arrays("s", np.ones(3, ">f8"), np.ones(2, "<f8"), Tolerance())
    assert r.note == "shape (3,) vs (2,); byte order >f8 vs <f8: compared by value"
    r = compare_arrays("s", np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[3.0, 4.0], [1.0, 2.0]]).astype(np.float32),
                       Tolerance(order="set"))
    assert r.status == DTYPE_MISMATCH and r.note == "same rows in another order; dtype float64 vs float32"
    r = compare_arrays("s", np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[3.0, 4.0], [1.0, 2.0]]), Tolerance())
    assert r.status == DIVERGED and r.note == "differs only in row order" and r.order_only
    r = compare_arrays("s", np.ones(2), np.ones(2), Tolerance(rtol=1e-5, ulps=4))
    assert r.note == "" and r.tolerance == "rel≤1e-05 or 4 ulp"


def test_strings_and_other_non_numbers():
    r = compare_arrays("s", np.array(["ab", "c"]), np.array(["ab", "d"]), Tolerance())
    assert r.status == DIVERGED and r.n_over == 1 and r.n_total == 2
    assert compare_arrays("s", np.array(["ab"]), np.array(["ab"]), Tolerance()).status == MATCH
    r = compare_arrays("s", np.array(["ab"]), np.array([b"ab"]), Tolerance())
    assert r.status == DIVERGED and r.n_over == 1


@pytest.mark.parametrize("real,imag", [(-0.0, 0.0), (0.0, -0.0)])
def test_exact_complex_across_widths_compares_both_signs(real, imag):
    a = np.array([complex(0.0, 0.0)], np.complex64)
    b = np.array([complex(real, imag)], np.complex128)
    assert compare_arrays("s", a, b, Tolerance(exact=True, check_dtype=False)).status == DIVERGED
    assert compare_arrays("s", a, a.astype(np.complex128), Tolerance(exact=True, check_dtype=False)).status == MATCH


TEXTS = [
    (Tolerance(), "equal"), (Tolerance(atol=0.5), "abs≤0.5"), (Tolerance(rtol=1e-5), "rel≤1e-05"),
    (Tolerance(rtol_max=1e-4), "abs≤0.0001×max|a|"), (Tolerance(ulps=0), "0 ulp"),
    (Tolerance(atol=1, rtol=2, rtol_max=3, ulps=4), "abs≤1 or rel≤2 or abs≤3×max|a| or 4 ulp"),
    (Tolerance(exact=True, atol=1), "exact (bitwise)"), (Tolerance(ignore=True, exact=True), "ignored"),
    (Tolerance(order="set", atol=0.5), "abs≤0.5, any order"), (Tolerance(exact=True, order="set"), "exact (bitwise), any order"),
]


@pytest.mark.parametrize("tol,text", TEXTS, ids=[f"text{i}" for i in range(len(TEXTS))])
def test_tolerance_text(tol, text):
    assert tol.describe() == text


def test_policy_labels_and_rules():
    base = parse_policy({"rule": [{"stages": ["a/**"], "atol": 1.0}]}, "base.toml")
    top = parse_policy({"default": {"rtol": 0.5}, "rule": [{"stages": ["a/x", "b"], "exact": True}]}, "top.toml")
    merged = top.merged_over(base)
    assert merged.source == "top.toml + base.toml" and merged.default == Tolerance(rtol=0.5)
    assert merged.tolerance_for("a/x").exact and merged.tolerance_for("a/y") == Tolerance(atol=1.0)
    assert merged.rule_for("b") == "b" and merged.rule_for("a/y") == "a/**" and merged.rule_for("c") == "default"
    assert merged.tolerance_for("c") == Tolerance(rtol=0.5)
    expected = merged.with_expected(["a/**"], "drift", label="the drift")
    assert expected.source == "top.toml + base.toml + the drift"
    assert expected.tolerance_for("a/y").expected == "drift" and not expected.tolerance_for("a/x").expected
    assert expected.with_expected(["c"], "why").source.endswith("+ expected divergences")
    again = expected.merged_over(Policy([Rule(("z",), Tolerance(ignore=True))]).with_expected(["z"], "other"))
    assert again.tolerance_for("z").ignore and again.tolerance_for("a/y").expected == "drift"
    assert again.expected_overlays == expected.expected_overlays + ((("z",), "other"),)


def test_built_in_policies():
    d = default_policy()
    assert d.default == Tolerance(rtol=1e-5, ulps=4) and d.source.endswith("default.toml")
    mt = builtin_policy("mtcnn")
    assert mt.source.endswith("mtcnn.toml") and mt.rules
    with pytest.raises(PolicyError) as err:
        builtin_policy("no-such-policy")
    assert "no built-in policy named 'no-such-policy'" in str(err.value) and "default" in str(err.value)
    assert "(have: default, img2pose, mtcnn, openface, " in str(err.value)


def test_printed_result_fields():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    r = compare_printed("stage/x", a, a.astype(np.float64) + 0.04, [1] * 6)
    assert (r.name, r.dtype_a, r.dtype_b, r.shape_a, r.shape_b) == ("stage/x", "float32", "float64", (2, 3), (2, 3))
    assert r.status == MATCH and r.max_rel == 0.0 and r.argmax is not None and r.n_total == 6
    r = compare_printed("s", np.empty((0, 2)), np.empty((0, 2)), [1])
    assert r.mean_abs == 0.0 and r.max_abs == 0.0 and r.max_rel == 0.0 and r.argmax == ()


def test_a_later_chunk_is_held_to_its_own_threshold():
    """The fast path reuses buffers chunk after chunk: a small chunk after a large one keeps its limit."""
    from pyparity.diff.compare import _CHUNK

    for dtype in (np.float32, np.float64):
        a = np.concatenate([np.full(_CHUNK, 1e6), np.ones(_CHUNK + 5)]).astype(dtype)
        b = a.copy()
        b[-1] = dtype(1.001)
        r = compare_arrays("s", a, b, Tolerance(rtol=1e-5))
        assert r.status == DIVERGED and r.n_over == 1 and r.argmax == (2 * _CHUNK + 4,)
        b[-1] = dtype(1.000005)                         # passes: the fast path reports its relative error
        r = compare_arrays("s", a, b, Tolerance(rtol=1e-5))
        assert r.status == MATCH and r.max_rel == pytest.approx(float(dtype(1.000005)) - 1, rel=1e-6)


def test_float32_differences_are_taken_in_float64():
    """1 - (-2**-30) rounds to 1.0 in float32; the definition's float64 difference exceeds rtol = 1 × |a|."""
    from pyparity.diff.compare import _CHUNK

    a = np.ones(_CHUNK + 3, np.float32)
    b = a.copy()
    b[7] = np.float32(-(2.0 ** -30))
    assert compare_arrays("s", a, b, Tolerance(rtol=1.0)).status == DIVERGED
    b[7] = np.float32(0.0)
    assert compare_arrays("s", a, b, Tolerance(rtol=1.0)).status == MATCH


def test_rtol_max_peak_of_complex_values_is_their_magnitude():
    a = np.array([3 + 4j, 0j])                     # max|a| = 5
    tol = Tolerance(rtol_max=0.5)                   # atol 2.5
    assert compare_arrays("s", a, np.array([3 + 4j, 2.5 + 0j]), tol).status == MATCH
    assert compare_arrays("s", a, np.array([3 + 4j, 2.6 + 0j]), tol).status == DIVERGED


def test_64_bit_integer_gaps_are_reported_exactly():
    big = np.array([2 ** 60, 2 ** 53], np.int64)
    r = compare_arrays("s", big, big + np.array([100, 1]), Tolerance(atol=99))
    assert r.status == DIVERGED and r.n_over == 1 and r.max_abs == 100.0 and r.argmax == (0,)
    assert compare_arrays("s", big[1:], big[1:] + 1, Tolerance()).status == DIVERGED   # 2**53 + 1 is 2**53 in float64


def test_64_bit_gap_that_float64_widens_is_redone_exactly():
    """2**53 + 1 rounds down to 2**53 in float64 and 2**53 + 2 is exact: float64 says 2 apart, they are 1 apart."""
    a = np.array([7, 2 ** 53 + 1], np.int64)
    b = a + 1
    assert float(b[1]) - float(a[1]) == 2.0
    r = compare_arrays("s", a, b, Tolerance(atol=1))
    assert r.status == MATCH and r.n_over == 0 and r.max_abs == 1.0
    r = compare_arrays("s", a, b, Tolerance(atol=0.5))
    assert r.status == DIVERGED and r.n_over == 2 and r.max_abs == 1.0


@pytest.mark.parametrize("bool_side", ["A", "B"])
def test_a_64_bit_integer_against_a_boolean_gap_is_exact(bool_side):
    """True is 1: 2**53 + 1 and True are 2**53 apart, which float64 would round to 2**53 - 1."""
    i, t = np.array([2 ** 53 + 1], np.int64), np.array([True])
    assert abs(np.float64(i[0]) - np.float64(t[0])) == 2.0 ** 53 - 1
    a, b = (t, i) if bool_side == "A" else (i, t)
    r = compare_arrays("s", a, b, Tolerance(atol=2 ** 53 - 1, check_dtype=False))
    assert r.status == DIVERGED and r.n_over == 1 and r.max_abs == 2.0 ** 53
    assert compare_arrays("s", a, b, Tolerance(atol=2 ** 53, check_dtype=False)).status == MATCH


@pytest.mark.parametrize("int_side", ["A", "B"])
def test_an_integer_against_a_float_compares_in_float64_as_numpy_does(int_side):
    i, f = np.array([2 ** 53 + 1], np.int64), np.array([2.0 ** 53])
    assert np.isclose(i, f, rtol=0, atol=0).all()       # NumPy: the integer becomes the float 2**53
    a, b = (i, f) if int_side == "A" else (f, i)
    r = compare_arrays("s", a, b, Tolerance(check_dtype=False))
    assert r.status == MATCH and r.n_over == 0 and r.max_abs == 0.0


# the fast path (arrays over one chunk) ---------------------------------------------------------

def _spy_slow_path(monkeypatch) -> list:
    """Records each chunk handed to `_chunk_metrics` (the element-wise path)."""
    from pyparity.diff import compare

    calls = []
    slow = compare._chunk_metrics

    def spy(a, b, tol):
        calls.append(a.size)
        return slow(a, b, tol)

    monkeypatch.setattr(compare, "_chunk_metrics", spy)
    return calls


FAST_CASES = [  # (tolerance, reference values, relative change of the candidate) — every element well inside
    (Tolerance(atol=2.0 ** -10), [0.0, 1.0, -3.0, 100.0], 1e-7),
    (Tolerance(rtol=1e-5), [0.5, 1.0, -3.0, 100.0], 1e-6),
    (Tolerance(rtol=1e-5, ulps=4), [0.5, 1.0, -3.0, 1e6], 1e-6),          # the built-in default
    (Tolerance(atol=1e-3, rtol=1e-5), [0.0, 1.0, -3.0, 1e6], 1e-6),
    (Tolerance(rtol_max=1e-4), [0.0, 1.0, -3.0, 100.0], 1e-7),
    (Tolerance(atol=0.5, rtol=1e-3), [1e-30, 1.0, -3.0, 7.0], 0.0),       # equal values
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", range(len(FAST_CASES)))
def test_arrays_within_tolerance_never_leave_the_fast_path(monkeypatch, dtype, case):
    """compare.py's contract: a chunk whose elements all pass atol/rtol well inside their limit is measured
    by `_fast_chunk` alone (the element-wise path is for failing, non-finite or borderline elements)."""
    from pyparity.diff.compare import _CHUNK

    tol, values, rel = FAST_CASES[case]
    a = np.resize(np.array(values, dtype), 3 * _CHUNK + 11)
    b = (a * dtype(1 + rel)).astype(dtype)
    calls = _spy_slow_path(monkeypatch)
    r = compare_arrays("s", a, b, tol)
    assert r.status == MATCH and r.n_over == 0
    assert calls == []
    b[5] = dtype(np.nan)                                   # a chunk with a NaN: that chunk alone goes element-wise
    assert compare_arrays("s", a, b, tol).status == DIVERGED and calls == [_CHUNK]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_fast_path_reports_no_nan_inf_or_failure(dtype):
    from pyparity.diff.compare import _CHUNK

    a = np.linspace(1, 2, 2 * _CHUNK + 3).astype(dtype)
    r = compare_arrays("s", a, a * dtype(1 + 2.0 ** -20), Tolerance(rtol=1e-5))
    assert r.status == MATCH and (r.n_over, r.nan_a, r.nan_b, r.inf_a, r.inf_b) == (0, 0, 0, 0, 0)
    assert r.n_total == a.size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_chunk_is_held_to_its_own_reference_values(dtype):
    """Thresholds come from each chunk's |a|: a first chunk whose relative errors are huge (a = 0, b within
    atol) lends nothing to the next, where one element is 5 away under atol = 1."""
    from pyparity.diff.compare import _CHUNK

    a = np.concatenate([np.zeros(_CHUNK), np.ones(_CHUNK + 9)]).astype(dtype)
    b = a.copy()
    b[:_CHUNK] = 0.5
    tol = Tolerance(atol=1.0, rtol=1e-5)
    assert compare_arrays("s", a, b, tol).status == MATCH
    b[_CHUNK + 4] = 6.0                                   # |6 - 1| = 5 > 1 + 1e-5
    r = compare_arrays("s", a, b, tol)
    assert r.status == DIVERGED and r.n_over == 1 and r.argmax == (_CHUNK + 4,) and r.max_abs == 5.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fast_path_relative_error_where_the_reference_is_zero(dtype):
    """max_rel is |b - a| / |a|; where a = 0 it is 0 if b = 0 too and infinite otherwise (as element-wise)."""
    from pyparity.diff.compare import _CHUNK

    n = 2 * _CHUNK + 5
    a = np.full(n, 4.0, dtype)
    a[::7] = 0.0
    b = a.copy()
    b[3] = dtype(4.5)                                      # relative error 0.125 (exact), a = 0 elements equal
    tol = Tolerance(atol=1.0)
    r = compare_arrays("s", a, b, tol)
    assert r.status == MATCH and r.max_rel == 0.125 and r.max_abs == 0.5 and r.argmax == (3,)
    small = compare_arrays("s", a[:20], b[:20], tol)       # the element-wise path says the same
    assert (small.max_rel, small.max_abs) == (0.125, 0.5)
    b[7] = dtype(0.25)                                     # a = 0, b = 0.25: infinitely relative, within atol
    r = compare_arrays("s", a, b, tol)
    assert r.status == MATCH and r.max_rel == math.inf and r.max_abs == 0.5
    c = a.copy()
    c[0] = dtype(0.75)                                     # only the a = 0 element differs
    r = compare_arrays("s", a, c, tol)
    assert r.status == MATCH and r.max_rel == math.inf and r.max_abs == 0.75 and r.argmax == (0,)


def test_fast_path_mean_is_summed_in_float64():
    """mean_abs is the mean of the float64 differences: a float32 sum would drop the small ones."""
    from pyparity.diff.compare import _CHUNK

    n = 3 * _CHUNK + 1
    pattern = [0.5, 2.0 ** -30, 3 * 2.0 ** -30]             # exact in float32; 0.5 + 2**-30 is not
    b = np.resize(np.array(pattern, np.float32), n)
    a = np.zeros(n, np.float32)
    want = math.fsum(np.resize(np.array(pattern), n).tolist()) / n
    r = compare_arrays("s", a, b, Tolerance(atol=1.0))
    assert r.status == MATCH and r.mean_abs == want and r.max_abs == 0.5
    assert float(np.add.reduce(b[:_CHUNK], dtype=np.float32)) != math.fsum(b[:_CHUNK].tolist())   # float32 would not do


@pytest.mark.parametrize("float_side", ["A", "B"])
def test_non_finite_values_of_a_float_side_against_integers_are_counted(float_side):
    i, f = np.array([1, 2, 3], np.int64), np.array([1.0, np.nan, np.inf])
    a, b = (f, i) if float_side == "A" else (i, f)
    r = compare_arrays("s", a, b, Tolerance(atol=10.0, check_dtype=False))
    assert r.status == DIVERGED and r.n_over == 2 and r.max_abs == math.inf
    counts = (r.nan_a, r.inf_a) if float_side == "A" else (r.nan_b, r.inf_b)
    assert counts == (1, 1) and (r.nan_a, r.inf_a, r.nan_b, r.inf_b).count(0) == 2


@pytest.mark.parametrize("complex_side", ["A", "B"])
def test_a_complex_side_against_a_real_one_keeps_its_imaginary_part(complex_side):
    re_, cx = np.array([1.0, 2.0]), np.array([1.0 + 0j, 2.0 + 1j])    # |2+1j - 2| = 1
    a, b = (cx, re_) if complex_side == "A" else (re_, cx)
    r = compare_arrays("s", a, b, Tolerance(atol=0.5, check_dtype=False))
    assert r.status == DIVERGED and r.n_over == 1 and r.max_abs == 1.0 and r.argmax == (1,)
    assert compare_arrays("s", a, b, Tolerance(atol=1.0, check_dtype=False)).status == MATCH


def test_integers_count_no_nan_or_inf():
    r = compare_arrays("s", np.array([1, 5], np.int64), np.array([1, 7], np.int64), Tolerance())
    assert r.status == DIVERGED and (r.nan_a, r.nan_b, r.inf_a, r.inf_b) == (0, 0, 0, 0)


# what the element-wise path reports (each value written out from the rules in compare.py) -----

def test_strings_count_the_elements_that_differ():
    a = np.array(["a", "b", "c"])
    r = compare_arrays("s", a, np.array(["a", "x", "c"]), Tolerance())
    assert (r.status, r.n_over, r.n_total) == (DIVERGED, 1, 3)
    r = compare_arrays("s", a, a.copy(), Tolerance())
    assert (r.status, r.n_over, r.n_total) == (MATCH, 0, 3)


def test_text_against_bytes_or_numbers_differs_everywhere():
    r = compare_arrays("s", np.array(["a", "b"]), np.array([b"a", b"b"]), Tolerance())
    assert (r.status, r.n_over, r.n_total) == (DIVERGED, 2, 2)
    r = compare_arrays("s", np.array(["1", "2"]), np.array([1.0, 2.0]), Tolerance())
    assert (r.status, r.n_over, r.n_total) == (DIVERGED, 2, 2)


def test_exact_without_nan_equal_fails_every_element_that_differs_and_every_nan():
    tol = Tolerance(exact=True, nan_equal=False)
    r = compare_arrays("s", np.array([1.0, np.nan, 2.0]), np.array([1.5, np.nan, 2.0]), tol)
    assert (r.status, r.n_over) == (DIVERGED, 2)


def test_argmax_points_at_the_largest_error_not_the_first_failing_element():
    r = compare_arrays("s", np.array([0.0, 0.0]), np.array([1.0, 5.0]), Tolerance())
    assert r.argmax == (1,) and r.max_abs == 5.0 and r.n_over == 2


def test_argmax_of_equal_largest_errors_in_two_chunks_is_the_first():
    from pyparity.diff.compare import _CHUNK

    a = np.zeros(2 * _CHUNK + 7)
    b = a.copy()
    b[5] = b[_CHUNK + 5] = 1.0
    r = compare_arrays("s", a, b, Tolerance())
    assert r.argmax == (5,) and r.max_abs == 1.0 and r.n_over == 2


def test_relative_error_against_zero_is_infinite_and_below_one_divides():
    r = compare_arrays("s", np.array([0.0, 1.0]), np.array([1e-9, 1.0]), Tolerance(atol=1e-6))
    assert r.status == MATCH and r.max_rel == math.inf
    r = compare_arrays("s", np.array([0.0, 0.5]), np.array([0.0, 0.625]), Tolerance(atol=1.0))
    assert r.status == MATCH and r.max_rel == 0.25           # 0.125 / 0.5


def test_empty_arrays_report_zero_errors():
    r = compare_arrays("s", np.empty(0), np.empty(0), Tolerance())
    assert (r.status, r.n_over, r.n_total, r.max_abs, r.mean_abs, r.max_rel) == (MATCH, 0, 0, 0.0, 0.0, 0.0)


def test_set_order_measures_rows_against_their_nearest_partners():
    a = np.array([[0.0, 0.0], [10.0, 10.0]])
    b = np.array([[10.0, 10.5], [0.0, 0.0]])          # swapped rows, one value 0.5 off
    r = compare_arrays("s", a, b, Tolerance(order="set"))
    assert (r.status, r.n_over, r.n_total, r.max_abs, r.argmax) == (DIVERGED, 1, 4, 0.5, (1, 1))
    assert r.note == "rows paired by distance (optimal assignment) before measuring"
    r = compare_arrays("s", a, b, Tolerance())           # in sequence order: position against position
    assert (r.status, r.n_over, r.max_abs) == (DIVERGED, 4, 10.5) and r.note == ""


def test_row_order_notes_follow_the_byte_order_note():
    a = np.array([[1.0, 2.0], [3.0, 4.0]], ">f8")
    b = np.array([[3.0, 4.0], [1.0, 2.0]])
    r = compare_arrays("s", a, b, Tolerance())
    assert r.status == DIVERGED and r.note == "byte order >f8 vs <f8: compared by value; differs only in row order"
    r = compare_arrays("s", a, b, Tolerance(order="set"))
    assert (r.status, r.n_over, r.n_total) == (MATCH, 0, 4)
    assert r.note == "byte order >f8 vs <f8: compared by value; same rows in another order"
