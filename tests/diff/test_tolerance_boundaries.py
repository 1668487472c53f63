"""Every tolerance kind on both sides of its limit (diff/compare.py, diff/policy.py).

Each expected verdict comes from the tolerance's definition (compare.py's docstring), written out
here with Python floats, fractions and `np.nextafter` steps — never from running the code under test.
Every case runs on a small array (the element-wise path) and on one larger than a chunk (the fast
path), which must agree.
"""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pyparity.diff import diff_traces
from pyparity.diff.compare import _CHUNK, DIVERGED, DTYPE_MISMATCH, EXPECTED, IGNORED, MATCH, SHAPE_MISMATCH, compare_arrays
from pyparity.diff.policy import Policy, Rule, Tolerance, parse_policy
from pyparity.trace import Trace

FLOATS = [np.float32, np.float64]
BIG = 2 * _CHUNK + 7  # more than one chunk: the fast path


def status(a, b, tol: Tolerance, size: int = 1, at: int = 0) -> str:
    """The status of reference ``a`` vs candidate ``b``; with ``size`` > 1 both are embedded at ``at``
    in arrays of that size whose other elements are equal (1.0)."""
    a, b = np.asarray(a), np.asarray(b)
    if size > 1:
        fa, fb = np.ones(size, a.dtype), np.ones(size, b.dtype)
        fa[at], fb[at] = a, b
        a, b = fa, fb
    return compare_arrays("s", a, b, tol).status


def both_paths(a, b, tol: Tolerance) -> str:
    """The verdict on the element-wise path; the fast path (one element in a big array) must agree."""
    small = status(a, b, tol)
    for at in (0, BIG // 2, BIG - 1):
        assert status(a, b, tol, BIG, at) == small, (a, b, tol, at)
    return small


def steps(x, n: int, dtype):
    """``x`` moved ``n`` representable values up (n > 0) or down (n < 0) in ``dtype``."""
    x = dtype(x)
    target = dtype(np.inf) if n > 0 else dtype(-np.inf)
    for _ in range(abs(n)):
        x = np.nextafter(x, target)
    return x


def f64_bits(u: int) -> np.float64:
    return np.frombuffer(struct.pack("<Q", u), np.float64)[0]


# atol and rtol ------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("sign", [1, -1])
def test_atol_limit_is_inclusive(dtype, sign):
    a = dtype(1.0)
    atol = 2.0 ** -10                     # 1 + 2**-10 is a float32 and a float64: the limit itself is a value
    at_limit = dtype(1.0 + sign * atol)
    tol = Tolerance(atol=atol)
    assert both_paths(a, at_limit, tol) == MATCH
    assert both_paths(a, steps(at_limit, sign, dtype), tol) == DIVERGED       # one value past the limit
    assert both_paths(a, steps(at_limit, -sign, dtype), tol) == MATCH         # one value inside


@pytest.mark.parametrize("dtype", FLOATS)
def test_rtol_limit_is_inclusive_and_relative_to_the_reference(dtype):
    a = dtype(3.0)
    rtol = 2.0 ** -16                     # thr = 3·2**-16, exactly representable
    at_limit = dtype(3.0 + 3.0 * rtol)
    tol = Tolerance(rtol=rtol)
    assert both_paths(a, at_limit, tol) == MATCH
    assert both_paths(a, steps(at_limit, 1, dtype), tol) == DIVERGED
    assert both_paths(a, steps(at_limit, -1, dtype), tol) == MATCH
    # relative to |a| (the reference), not |b|: |b - a| <= rtol·|b| would hold here, |b - a| <= rtol·|a| not
    b = dtype(3.0 + 3.0 * rtol * 1.5)
    assert float(abs(b - a)) <= rtol * float(b) * 2 and both_paths(a, b, tol) == DIVERGED


@pytest.mark.parametrize("size", [1, BIG])
def test_default_tolerance_refuses_a_relative_error_of_one_and_a_half_rtol(size):
    tol = Policy().default                # rtol 1e-5 or 4 ulps
    assert tol.rtol == 1e-5 and tol.ulps == 4
    a = 1.0
    assert status(a, a * (1 + 1.5e-5), tol, size, size // 3) == DIVERGED
    assert status(a, a * (1 + 0.5e-5), tol, size, size // 3) == MATCH
    a32 = np.float32(1.0)
    assert status(a32, np.float32(1 + 1.5e-5), tol, size) == DIVERGED


def test_atol_and_rtol_add_up():
    a, atol, rtol = 4.0, 2.0 ** -8, 2.0 ** -6   # thr = 2**-8 + 4·2**-6 = 0.06640625 (exact)
    tol = Tolerance(atol=atol, rtol=rtol)
    at_limit = a + atol + rtol * a
    assert both_paths(np.float64(a), np.float64(at_limit), tol) == MATCH
    assert both_paths(np.float64(a), steps(at_limit, 1, np.float64), tol) == DIVERGED


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from(FLOATS), a=st.floats(-1e6, 1e6, allow_nan=False, width=32),
       atol_exp=st.integers(-30, 3), rtol_exp=st.one_of(st.none(), st.integers(-24, -1)),
       atol_mant=st.sampled_from([1.0, 1.5, 0.1, 3.7]), k=st.integers(-2, 2), below=st.booleans())
def test_atol_rtol_at_just_under_and_just_over_the_limit(dtype, a, atol_exp, rtol_exp, atol_mant, k, below):
    """b is placed k representable values from a ± thr; the verdict is the definition evaluated with
    Python floats (float64): |b - a| <= atol + rtol·|a|."""
    atol = atol_mant * 2.0 ** atol_exp
    rtol = 0.0 if rtol_exp is None else 1.3 * 2.0 ** rtol_exp
    a = dtype(a)
    thr = atol + rtol * abs(float(a))
    target = float(a) - thr if below else float(a) + thr
    b = steps(dtype(target), k, dtype)
    assume(np.isfinite(b))
    expected = MATCH if abs(float(b) - float(a)) <= atol + rtol * abs(float(a)) else DIVERGED
    assert both_paths(a, b, Tolerance(atol=atol, rtol=rtol)) == expected


# ulps ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("start", [1.5, -7.25, 1e-3])
def test_ulps_limit(dtype, start):
    a = dtype(start)
    tol = Tolerance(ulps=4)
    for n, want in ((4, MATCH), (-4, MATCH), (3, MATCH), (5, DIVERGED), (-5, DIVERGED), (6, DIVERGED)):
        assert status(a, steps(a, n, dtype), tol) == want, (n, want)
        if dtype is not np.float16:
            assert status(a, steps(a, n, dtype), tol, BIG, 5) == want


@pytest.mark.parametrize("dtype", FLOATS)
def test_ulps_across_zero_count_plus_and_minus_zero_as_one_value(dtype):
    tiny = np.nextafter(dtype(0), dtype(1))               # the smallest subnormal
    tol = Tolerance(ulps=4)
    # 2·tiny → tiny → 0 → -tiny → -2·tiny: four steps
    assert status(dtype(2) * tiny, dtype(-2) * tiny, tol) == MATCH
    assert status(dtype(2) * tiny, dtype(-3) * tiny, tol) == DIVERGED
    assert status(dtype(-0.0), tiny, Tolerance(ulps=1)) == MATCH
    assert status(dtype(-0.0), dtype(2) * tiny, Tolerance(ulps=1)) == DIVERGED
    assert status(dtype(0.0), dtype(-0.0), Tolerance(ulps=0)) == MATCH


@pytest.mark.parametrize("dtype", FLOATS)
def test_ulps_from_below_zero_up_to_zero_at_the_limit(dtype):
    tiny = np.nextafter(dtype(0), dtype(1))
    tol = Tolerance(ulps=4)
    for zero in (dtype(0.0), dtype(-0.0)):
        # -4·tiny → -3·tiny → -2·tiny → -tiny → ±0: four steps
        assert status(dtype(-4) * tiny, zero, tol) == MATCH
        assert status(zero, dtype(-4) * tiny, tol) == MATCH
        assert status(dtype(-5) * tiny, zero, tol) == DIVERGED
        assert status(zero, dtype(-5) * tiny, tol) == DIVERGED


@pytest.mark.parametrize("dtype", FLOATS)
def test_ulps_never_reach_inf_or_nan(dtype):
    big = np.finfo(dtype).max
    tol = Tolerance(ulps=4)
    # +inf is the next bit pattern after the largest finite value, and a NaN's after +inf: not values
    assert status(big, dtype(np.inf), tol) == DIVERGED
    assert status(dtype(np.inf), big, tol) == DIVERGED
    snan = np.frombuffer(struct.pack("<I", 0x7F800001), np.float32)[0] if dtype is np.float32 else f64_bits(0x7FF0000000000001)
    assert np.isnan(snan)
    assert status(dtype(np.inf), snan, tol) == DIVERGED
    assert status(snan, dtype(np.inf), tol) == DIVERGED


def test_ulps_apply_to_floats_of_one_dtype_only():
    a = np.float32(1.5)
    b = steps(a, 1, np.float32)
    assert status(a, b, Tolerance(ulps=4)) == MATCH
    assert status(a, np.float64(b), Tolerance(ulps=4, check_dtype=False)) == DIVERGED  # 2**-23 apart, no atol
    assert status(np.int32(5), np.int32(6), Tolerance(ulps=4)) == DIVERGED


@settings(max_examples=150, deadline=None)
@given(dtype=st.sampled_from(FLOATS), a=st.floats(allow_nan=False, allow_infinity=False, width=32),
       n=st.integers(-40, 40), ulps=st.integers(0, 40))
def test_ulps_at_just_under_and_just_over(dtype, a, n, ulps):
    a = dtype(a)
    b = steps(a, n, dtype)
    assume(np.isfinite(b))
    # stepping from -0.0 upward passes +0.0 without a step; ±0 are one value
    expected = MATCH if abs(n) <= ulps or float(a) == float(b) else DIVERGED
    assert both_paths(a, b, Tolerance(ulps=ulps)) == expected


# exact --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOATS + [np.complex64, np.complex128])
def test_exact_is_bitwise_for_signed_zeros(dtype):
    tol = Tolerance(exact=True)
    assert both_paths(dtype(0.0), dtype(-0.0), tol) == DIVERGED
    assert both_paths(dtype(-0.0), dtype(-0.0), tol) == MATCH
    assert both_paths(dtype(1.0), dtype(1.0), tol) == MATCH
    assert both_paths(dtype(1.0), steps(1.0, 1, np.float64).astype(dtype), tol) == (
        MATCH if dtype in (np.float32, np.complex64) else DIVERGED)   # 1 + 2**-52 rounds to 1.0 in float32


def test_exact_compares_nan_payloads():
    quiet, payload = f64_bits(0x7FF8000000000000), f64_bits(0x7FF8000000000001)
    negative = f64_bits(0xFFF8000000000000)          # x86's default NaN (C++'s 0.0/0.0)
    assert np.isnan(quiet) and np.isnan(payload) and np.isnan(negative)
    tol = Tolerance(exact=True)
    assert status(quiet, f64_bits(0x7FF8000000000000), tol) == MATCH
    assert status(quiet, payload, tol) == DIVERGED
    assert status(quiet, negative, tol) == DIVERGED
    assert status(quiet, quiet, Tolerance(exact=True, nan_equal=False)) == DIVERGED
    # outside exact, a NaN is a NaN
    assert status(quiet, payload, Tolerance()) == MATCH
    assert status(quiet, negative, Tolerance(rtol=1e-5)) == MATCH


def test_exact_reports_the_element_that_differs():
    a = np.zeros(5)
    b = a.copy()
    b[3] = -0.0
    r = compare_arrays("s", a, b, Tolerance(exact=True))
    assert r.status == DIVERGED and r.n_over == 1 and r.argmax == (3,) and r.max_abs == 0.0


def test_exact_across_dtypes_compares_value_and_sign():
    tol = Tolerance(exact=True, check_dtype=False)
    assert status(np.float32(0.5), np.float64(0.5), tol) == MATCH
    assert status(np.float32(0.0), np.float64(-0.0), tol) == DIVERGED
    assert status(np.float32(np.nan), np.float64(np.nan), tol) == MATCH
    assert status(np.float32(np.nan), np.float64(np.nan), Tolerance(exact=True, check_dtype=False, nan_equal=False)) == DIVERGED
    assert status(np.float32(0.1), np.float64(0.1), tol) == DIVERGED
    assert status(np.float32(0.5), np.float64(0.5), Tolerance(exact=True)) == DTYPE_MISMATCH


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.uint64, np.bool_])
def test_exact_integers_and_bools(dtype):
    tol = Tolerance(exact=True)
    one = dtype(1)
    assert both_paths(one, dtype(1), tol) == MATCH
    assert both_paths(one, dtype(0), tol) == DIVERGED


def test_exact_says_bitwise():
    assert Tolerance(exact=True).describe() == "exact (bitwise)"
    assert parse_policy({"default": {"exact": True}}, "p").default.describe() == "exact (bitwise)"


# integers and bools under atol/rtol ---------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64])
def test_integer_atol_limit(dtype):
    a, b = dtype(10), dtype(13)
    assert both_paths(a, b, Tolerance(atol=3)) == MATCH
    assert both_paths(a, b, Tolerance(atol=math.nextafter(3.0, 0.0))) == DIVERGED
    assert both_paths(b, a, Tolerance(atol=3)) == MATCH


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
def test_64_bit_integers_beyond_float64_precision_keep_their_exact_difference(dtype):
    big = dtype(2 ** 60)
    one_more = dtype(2 ** 60 + 1)
    assert np.float64(big) == np.float64(one_more)                  # float64 cannot tell them apart
    assert status(big, one_more, Tolerance()) == DIVERGED
    assert status(big, one_more, Tolerance(atol=1)) == MATCH
    assert status(big, one_more, Tolerance(atol=0.5)) == DIVERGED
    assert status(big, dtype(2 ** 60 + 100), Tolerance(atol=99)) == DIVERGED
    assert status(big, dtype(2 ** 60 + 100), Tolerance(atol=100)) == MATCH
    assert status(big, one_more, Tolerance(exact=True)) == DIVERGED


def test_int8_extremes_have_no_overflow():
    a, b = np.int8(-128), np.int8(127)
    assert status(a, b, Tolerance(atol=255)) == MATCH            # 127 - (-128)
    assert status(a, b, Tolerance(atol=254.9)) == DIVERGED
    assert status(b, a, Tolerance(atol=255)) == MATCH
    assert status(np.array([-128], np.int8), np.array([-127], np.int8), Tolerance(rtol_max=1 / 128)) == MATCH


def test_bools():
    t, f = np.bool_(True), np.bool_(False)
    assert status(t, f, Tolerance(atol=1)) == MATCH
    assert status(t, f, Tolerance(atol=0.99)) == DIVERGED
    assert status(t, f, Tolerance(rtol=1)) == MATCH            # |0 - 1| <= 1·|1|
    assert status(f, t, Tolerance(rtol=1)) == DIVERGED         # |1 - 0| > 1·|0|
    assert status(t, t, Tolerance()) == MATCH


# NaN, ±Inf, -0.0, subnormals, empty and 0-d ------------------------------------------------

LOOSE = [Tolerance(), Tolerance(atol=1e300), Tolerance(rtol=1.0), Tolerance(ulps=2 ** 62), Tolerance(rtol_max=1e10),
         Tolerance(atol=1.0, rtol=1.0, ulps=100)]


@pytest.mark.parametrize("tol", LOOSE, ids=["equal", "atol_huge", "rtol_1", "ulps_max", "rtol_max_huge", "all"])
@pytest.mark.parametrize("dtype", [np.float16] + FLOATS)
def test_nan_and_inf_pass_only_against_themselves(tol, dtype):
    nan, inf = dtype(np.nan), dtype(np.inf)
    assert both_paths(nan, nan, tol) == MATCH
    assert both_paths(inf, inf, tol) == MATCH
    assert both_paths(-inf, -inf, tol) == MATCH
    for x, y in ((nan, dtype(1)), (dtype(1), nan), (inf, dtype(1)), (dtype(1), inf), (inf, -inf), (-inf, inf),
                 (nan, inf), (inf, nan), (inf, np.finfo(dtype).max), (-inf, np.finfo(dtype).min)):
        assert both_paths(x, y, tol) == DIVERGED, (x, y)


def test_nan_equal_false_makes_every_nan_a_divergence():
    assert status(np.nan, np.nan, Tolerance(nan_equal=False, atol=1)) == DIVERGED
    assert status(np.nan, np.nan, Tolerance(nan_equal=False, exact=True)) == DIVERGED


def test_nan_and_inf_are_counted_and_reported_as_values():
    a = np.array([1.0, np.nan, np.inf, 4.0, np.nan])
    b = np.array([1.0, np.nan, 3.0, np.inf, 2.0])
    r = compare_arrays("s", a, b, Tolerance(rtol=1e-5))
    assert r.status == DIVERGED and r.n_over == 3
    assert (r.nan_a, r.nan_b, r.inf_a, r.inf_b) == (2, 1, 1, 1)
    assert r.max_abs == math.inf and r.argmax == (2,)
    assert r.mean_abs == 0.0            # the finite errors: none


def test_negative_zero_is_zero_outside_exact():
    for tol in (Tolerance(), Tolerance(rtol=1e-5, ulps=0)):
        assert both_paths(np.float64(0.0), np.float64(-0.0), tol) == MATCH
        assert both_paths(np.float32(-0.0), np.float32(0.0), tol) == MATCH


@pytest.mark.parametrize("dtype", FLOATS)
def test_subnormals(dtype):
    tiny = np.nextafter(dtype(0), dtype(1))
    a, b = dtype(5) * tiny, dtype(6) * tiny
    assert a != b and 0 < a < np.finfo(dtype).tiny
    assert both_paths(a, b, Tolerance(ulps=1)) == MATCH
    assert both_paths(a, b, Tolerance(ulps=0)) == DIVERGED
    assert both_paths(a, b, Tolerance(atol=float(tiny))) == MATCH
    assert both_paths(a, b, Tolerance(atol=float(tiny) / 2)) == DIVERGED
    assert both_paths(a, b, Tolerance(rtol=0.2)) == MATCH          # |b - a| = a / 5
    # rtol·|a| is a float64 product: exact for float32's subnormals, rounded to a subnormal for float64's
    below = math.nextafter(0.2, 0)
    want = MATCH if float(b) - float(a) <= below * float(a) else DIVERGED
    assert want == (DIVERGED if dtype is np.float32 else MATCH)
    assert both_paths(a, b, Tolerance(rtol=below)) == want


@pytest.mark.parametrize("tol", [Tolerance(), Tolerance(exact=True), Tolerance(order="set"), Tolerance(rtol_max=1.0)])
@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (0, 0, 2)])
def test_empty_arrays_match(tol, shape):
    r = compare_arrays("s", np.empty(shape), np.empty(shape), tol)
    assert r.status == MATCH and r.n_over == 0 and r.n_total == 0
    assert compare_arrays("s", np.empty((0,)), np.empty((0, 3)), tol).status == SHAPE_MISMATCH


def test_zero_d_arrays():
    a = np.array(1.0)
    assert compare_arrays("s", a, np.array(1.0 + 2.0 ** -10), Tolerance(atol=2.0 ** -10)).status == MATCH
    r = compare_arrays("s", a, np.array(steps(1.0 + 2.0 ** -10, 1, np.float64)), Tolerance(atol=2.0 ** -10))
    assert r.status == DIVERGED and r.argmax == () and r.n_total == 1
    assert compare_arrays("s", a, np.array([1.0]), Tolerance()).status == SHAPE_MISMATCH
    assert compare_arrays("s", np.array(np.nan), np.array(np.nan), Tolerance(order="set")).status == MATCH


# rtol_max -----------------------------------------------------------------------------------

def test_rtol_max_scales_with_the_largest_finite_value():
    tol = Tolerance(rtol_max=2.0 ** -3)             # 1/8 × max|a| = 0.5
    a = np.array([4.0, 1.0, -2.0])
    assert both_paths_arr(a, np.array([4.0, 1.5, -2.0]), tol) == MATCH
    assert both_paths_arr(a, np.array([4.0, steps(1.5, 1, np.float64), -2.0]), tol) == DIVERGED
    assert both_paths_arr(np.array([-4.0, 1.0]), np.array([-4.0, 0.5]), tol) == MATCH      # |a| of a negative peak


def test_rtol_max_of_a_stage_below_one():
    tol = Tolerance(rtol_max=0.5)                    # max|a| = 0.25: atol 0.125
    a = np.array([0.25, -0.125, 0.0])
    assert both_paths_arr(a, np.array([0.25, 0.0, 0.0]), tol) == MATCH
    assert both_paths_arr(a, np.array([0.25, 2.0 ** -55, 0.0]), tol) == DIVERGED   # 0.125 + one ulp of it
    assert both_paths_arr(a, np.array([0.25, -0.125, 0.125]), tol) == MATCH
    assert both_paths_arr(a, np.array([0.25, -0.125, steps(0.125, 1, np.float64)]), tol) == DIVERGED


def test_rtol_max_ignores_inf_and_nan_in_the_peak():
    tol = Tolerance(rtol_max=2.0 ** -3)
    a = np.array([np.inf, 4.0, np.nan, 1.0])
    assert both_paths_arr(a, np.array([np.inf, 4.0, np.nan, 1.5]), tol) == MATCH
    assert both_paths_arr(a, np.array([np.inf, 4.0, np.nan, 100.0]), tol) == DIVERGED
    assert both_paths_arr(np.array([np.nan, np.nan]), np.array([np.nan, 1.0]), tol) == DIVERGED


def both_paths_arr(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> str:
    """Small arrays, and the same arrays tiled past a chunk (the peak and the verdict are unchanged)."""
    small = compare_arrays("s", a, b, tol).status
    reps = BIG // a.size + 1
    assert compare_arrays("s", np.tile(a, reps), np.tile(b, reps), tol).status == small
    return small


# set order ----------------------------------------------------------------------------------

def test_set_order_at_the_limit():
    a = np.array([[0.0, 0.0], [10.0, 10.0], [20.0, 20.0]])
    b = a[[2, 0, 1]].copy()
    atol = 2.0 ** -6
    set_tol, seq_tol = Tolerance(atol=atol, order="set"), Tolerance(atol=atol)
    r = compare_arrays("s", a, b, seq_tol)
    assert r.status == DIVERGED and r.order_only and "row order" in r.note
    r = compare_arrays("s", a, b, set_tol)
    assert r.status == MATCH and r.order_only and r.max_abs == 0
    b[0, 1] += atol                                   # row 2 of a, at the limit
    assert compare_arrays("s", a, b, set_tol).status == MATCH
    b[0, 1] = steps(b[0, 1], 1, np.float64)           # one value past it
    r = compare_arrays("s", a, b, set_tol)
    assert r.status == DIVERGED and not r.order_only


def test_set_order_with_nan_and_inf_rows():
    a = np.array([[np.nan, 1.0], [np.inf, 2.0], [3.0, -np.inf], [4.0, 4.0]])
    b = a[[3, 2, 1, 0]].copy()
    assert compare_arrays("s", a, b, Tolerance(order="set")).status == MATCH
    assert compare_arrays("s", a, b, Tolerance(order="set", nan_equal=False)).status == DIVERGED
    b2 = b.copy()
    b2[1, 1] = np.inf                                 # -inf became +inf
    r = compare_arrays("s", a, b2, Tolerance(order="set"))
    assert r.status == DIVERGED and r.inf_b == 2


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e308, -1e308, 5e-324]),
                         min_size=3, max_size=3), min_size=2, max_size=6),
       st.permutations(range(6)), st.booleans())
def test_set_matching_never_fails_on_non_finite_values(rows, perm, nan_equal):
    """Every mix of NaN, ±inf and extremes: a permutation of the rows is matched; never an infeasible
    assignment, and a verdict that follows from the rows as a multiset."""
    a = np.array(rows)
    order = [i for i in perm if i < len(rows)]
    b = a[order]
    tol = Tolerance(order="set", nan_equal=nan_equal)
    r = compare_arrays("s", a, b, tol)
    has_nan = bool(np.isnan(a).any())
    assert r.status == (DIVERGED if has_nan and not nan_equal else MATCH)
    b = b.copy()
    b[0, 0] = 7.0 if b[0, 0] != 7.0 else 8.0         # a value no row of a has in that column: never a match
    assert compare_arrays("s", a, b, tol).status == DIVERGED


# ignore and expected divergence -------------------------------------------------------------

@pytest.mark.parametrize("a,b", [(np.ones(3), np.zeros(3)), (np.ones(3), np.ones(4)), (np.array([np.nan]), np.array([np.inf])),
                                 (np.ones(3, np.float32), np.ones(3, np.float64)), (np.array(["x"]), np.array(["y"]))])
def test_ignore_ignores_everything(a, b):
    assert compare_arrays("s", a, b, Tolerance(ignore=True)).status == IGNORED
    assert compare_arrays("s", a, b, Tolerance(ignore=True, exact=True)).status == IGNORED


def test_expected_divergence_on_both_sides_of_the_limit():
    pol = parse_policy({"rule": [{"stages": ["fix/**"], "atol": 2.0 ** -10, "expected": "the fix changes it"}]}, "p")
    ref = Trace.from_arrays({"fix/x": np.array([1.0]), "other": np.array([1.0])})

    def run(x):
        return diff_traces(Trace.from_arrays({"fix/x": np.array([x]), "other": np.array([1.0])}), ref, pol)

    at = run(1.0 + 2.0 ** -10)
    assert at.ok and at.stage("fix/x").status == MATCH and not at.expected
    over = run(steps(1.0 + 2.0 ** -10, 1, np.float64))
    assert over.ok and over.stage("fix/x").status == EXPECTED and over.first_divergence is None
    assert "the fix changes it" in over.stage("fix/x").note
    # an expected divergence never hides a real one elsewhere
    rep = diff_traces(Trace.from_arrays({"fix/x": np.array([2.0]), "other": np.array([1.5])}), ref, pol)
    assert not rep.ok and rep.first_divergence == "other"


def test_expected_overlay_keeps_exact_stages_failing():
    base = Policy([Rule(("keep",), Tolerance(exact=True))], Tolerance(atol=2.0 ** -10))
    pol = base.with_expected(["**"], "drift")
    ref = Trace.from_arrays({"keep": np.array([1, 2]), "x": np.array([1.0])})
    at = diff_traces(Trace.from_arrays({"keep": np.array([1, 2]), "x": np.array([1.0 + 2.0 ** -10])}), ref, pol)
    assert at.ok and at.stage("x").status == MATCH
    over = diff_traces(Trace.from_arrays({"keep": np.array([1, 2]), "x": np.array([1.1])}), ref, pol)
    assert over.ok and over.stage("x").status == EXPECTED
    bad = diff_traces(Trace.from_arrays({"keep": np.array([1, 3]), "x": np.array([1.0])}), ref, pol)
    assert not bad.ok and bad.first_divergence == "keep"


# byte order and dtype labels ----------------------------------------------------------------

def test_byte_order_is_compared_by_value_and_said():
    a = np.array([1.0, 2.0], "<f8")
    b = a.astype(">f8")
    r = compare_arrays("s", a, b, Tolerance(exact=True))
    assert r.status == MATCH and "byte order <f8 vs >f8" in r.note
    r = compare_arrays("s", a, np.array([1.0, 3.0], ">f8"), Tolerance())
    assert r.status == DIVERGED and "float64 vs float64" not in r.note and r.n_over == 1
    r = compare_arrays("s", a, np.array([1.0, 2.0], ">f4"), Tolerance())
    assert r.status == DTYPE_MISMATCH and "dtype float64 vs float32" in r.note


def test_fractions_agree_with_float64_at_the_chosen_limits():
    """The limits above are exact: the float64 evaluation of the definition is the rational one there."""
    for a, thr in ((1.0, 2.0 ** -10), (3.0, 3.0 * 2.0 ** -16), (4.0, 2.0 ** -8 + 4 * 2.0 ** -6)):
        assert Fraction(a + thr) - Fraction(a) == Fraction(thr)


def test_set_order_of_a_one_dimensional_stage():
    a = np.array([1.0, 2.0, 3.0, -4.0])
    b = a[[3, 0, 2, 1]]
    r = compare_arrays("s", a, b, Tolerance(order="set"))
    assert r.status == MATCH and r.order_only and r.note == "same rows in another order"
    assert compare_arrays("s", a, b, Tolerance()).status == DIVERGED


def test_set_pairing_is_by_distance_not_by_sum():
    """Rows of opposite signs: |a - b| pairs 1 with 1.05 and -1 with -1.05 (|a + b| would keep them in place)."""
    a = np.array([[1.0], [-1.0]])
    b = np.array([[-1.05], [1.05]])
    assert compare_arrays("s", a, b, Tolerance(atol=0.1, order="set")).status == MATCH
    assert compare_arrays("s", a, b, Tolerance(atol=0.1)).status == DIVERGED


@pytest.mark.parametrize("complex_side", ["A", "B"])
def test_set_pairing_of_complex_rows_counts_the_imaginary_parts(complex_side):
    """Distances are complex magnitudes. In order, row 1 fails (|1j - 3| = √10 > 2.5); the pairing by distance
    swaps the rows (total 4·√5 ≈ 8.94 against 4 + √10 + 2 ≈ 9.16) and every element passes (√5 ≤ 2.5); by
    real parts alone it would keep the order (3 against 5) and fail."""
    c = np.array([[2 + 2j, 2j], [1j, 1 + 2j]])
    r = np.array([[2.0, 0.0], [3.0, 1.0]])
    a, b = (c, r) if complex_side == "A" else (r, c)
    tol = Tolerance(atol=2.5, order="set", check_dtype=False)
    res = compare_arrays("s", a, b, tol)
    assert res.status == MATCH and res.order_only
    assert compare_arrays("s", a, b, Tolerance(atol=2.5, check_dtype=False)).status == DIVERGED
    # both complex: rows equal in real parts, told apart by the imaginary ones
    a = np.array([[1 + 1j], [1 + 2j], [1 + 3j]])
    assert compare_arrays("s", a, a[[2, 0, 1]], Tolerance(order="set")).status == MATCH


@pytest.mark.parametrize("rows,row", [(2236, ()), (250, (80,))])
def test_set_matching_is_tried_up_to_five_million_cost_entries(rows, row):
    """rows² × values per row ≤ 5,000,000 (2236² = 4,999,696; 250² · 80 = 5,000,000): tried; one row more: not."""
    for n, want in ((rows, MATCH), (rows + 1, DIVERGED)):
        a = np.arange(n * int(np.prod(row)), dtype=np.float64).reshape((n, *row))
        r = compare_arrays("s", a, a[::-1].copy(), Tolerance(order="set"))
        assert r.status == want and r.order_only == (want == MATCH), (n, row)


def test_match_as_set_returns_only_a_reordering():
    from pyparity.diff.compare import match_as_set

    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert np.array_equal(match_as_set(a, a[[1, 2, 0]], Tolerance()), a)
    assert match_as_set(a, a.copy(), Tolerance()) is None                 # already in the best order
    assert match_as_set(a, a[[1, 2, 0]] + 1.0, Tolerance()) is None       # no order makes them agree
    assert match_as_set(a[:1], a[:1] + 1.0, Tolerance()) is None          # one row: nothing to reorder
    assert match_as_set(np.array(1.0), np.array(2.0), Tolerance()) is None


def test_set_matching_of_non_finite_and_extreme_rows_warns_nothing():
    import warnings

    a = np.array([[np.inf, 1.0], [-np.inf, 2.0], [1e308, -1e308], [np.nan, 0.0]])
    b = a[[3, 2, 1, 0]].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # inf - inf and 1e308 - -1e308 are no RuntimeWarning here
        assert compare_arrays("s", a, b, Tolerance(order="set")).status == MATCH
        assert compare_arrays("s", -a, b, Tolerance(order="set")).status == DIVERGED


@pytest.mark.parametrize("dtype", [np.int64, np.uint64])
@pytest.mark.parametrize("big_side", ["A", "B"])
def test_64_bit_gap_is_exact_when_only_one_side_reaches_2_to_the_53(dtype, big_side):
    """2**53 + 1 rounds to 2**53 in float64, 2**53 - 1 does not: float64 says 1 apart, they are 2 apart."""
    big, small = dtype(2 ** 53 + 1), dtype(2 ** 53 - 1)
    assert np.float64(big) - np.float64(small) == 1.0
    a, b = (big, small) if big_side == "A" else (small, big)
    assert status(a, b, Tolerance(atol=1)) == DIVERGED
    assert status(a, b, Tolerance(atol=2)) == MATCH
    r = compare_arrays("s", np.array([a, a]), np.array([a, b]), Tolerance(atol=1))
    assert r.max_abs == 2.0 and r.argmax == (1,) and r.n_over == 1
