"""Comparing one stage's two arrays under a tolerance: metrics, status, set-aware matching.

An element b of the candidate passes against the reference's a when

- ``exact``: a and b have the same bits (same dtype: NaN payloads and the sign of zero count); across
  dtypes, the same value with the same sign (a NaN matches a NaN only under ``nan_equal``);
- otherwise: a == b (±0 equal, an inf equals the same inf, NaN equals NaN at the same place under
  ``nan_equal``), or both are finite and |b − a| ≤ atol + rtol·|a| evaluated in float64 (two 64-bit integer
  arrays by their exact difference where a value reaches 2**53; an integer against a float in float64, as
  NumPy compares them), or both are finite floats of one dtype at most ``ulps``
  representable values apart (±0 counted as one value);
- ``rtol_max`` adds rtol_max × (the largest finite |a| of the stage) to atol.

A NaN on one side only, an inf against anything but the same inf, never passes; its error counts as
infinite. Large arrays are processed in cache-sized chunks so that a diff of gigabytes runs at memory
speed and never allocates temporaries the size of the stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pyparity.diff.policy import Tolerance

MATCH = "match"
DIVERGED = "diverged"
SHAPE_MISMATCH = "shape-mismatch"
DTYPE_MISMATCH = "dtype-mismatch"
ONLY_IN_A = "only-in-A"
ONLY_IN_B = "only-in-B"
IGNORED = "ignored"
EXPECTED = "expected-divergence"
FAILING = {DIVERGED, SHAPE_MISMATCH, DTYPE_MISMATCH}

_CHUNK = 1 << 15  # elements per chunk: the temporaries stay in L2
_FAR = 1e200      # set matching's cost of a non-finite gap: summed over 5e6 elements it stays finite


@dataclass
class StageResult:
    """The comparison of one aligned stage (A is the reference side, B the candidate)."""

    name: str
    status: str
    tolerance: str = ""
    rule: str = ""
    name_b: str | None = None
    dtype_a: str | None = None
    dtype_b: str | None = None
    shape_a: tuple | None = None
    shape_b: tuple | None = None
    max_abs: float | None = None
    mean_abs: float | None = None
    max_rel: float | None = None
    argmax: tuple | None = None
    n_over: int | None = None
    n_total: int | None = None
    nan_a: int = 0
    nan_b: int = 0
    inf_a: int = 0
    inf_b: int = 0
    order_only: bool = False
    note: str = ""
    diagnosis: list = field(default_factory=list)

    @property
    def failing(self) -> bool:
        return self.status in FAILING


@dataclass
class _Metrics:
    max_abs: float
    mean_abs: float
    max_rel: float
    argmax: int
    n_over: int
    nan_a: int
    nan_b: int
    inf_a: int
    inf_b: int


def _ulp_keys(x: np.ndarray) -> np.ndarray:
    """Map floats to int64 keys whose difference counts ULPs (monotonic across zero)."""
    itype = {2: np.int16, 4: np.int32, 8: np.int64}[x.dtype.itemsize]
    i = x.view(itype).astype(np.int64)
    magnitude = i & np.int64(np.iinfo(itype).max)
    return np.where(i < 0, -magnitude, magnitude)


def _within_ulps(a: np.ndarray, b: np.ndarray, ulps: int) -> np.ndarray:
    """At most ``ulps`` representable values apart (callers exclude NaN and inf: their keys are not values)."""
    ka, kb = _ulp_keys(a), _ulp_keys(b)
    same_sign = (ka >= 0) == (kb >= 0)
    with np.errstate(over="ignore"):
        d_same = np.abs(ka - kb)  # cannot overflow when the signs agree
    small = (np.abs(ka) <= ulps) & (np.abs(kb) <= ulps)
    return np.where(same_sign, d_same <= ulps, small & (np.abs(ka) + np.abs(kb) <= ulps))


_EXACT_IN_F64 = 2 ** 53  # integers up to this magnitude convert to float64 exactly


def _int_gaps_within(a: np.ndarray, b: np.ndarray, d: np.ndarray, thr: np.ndarray, within: np.ndarray) -> None:
    """Redo ``within`` and ``d`` exactly where 64-bit integers lost digits in float64 (in place, rare: values of
    2**53 or more). Every such element is redone: float64 rounding moves a gap either way (2**53 + 1 and
    2**53 + 2 are 2 apart in float64, 2**53 - 1 and 2**53 + 1 are 1 apart). Booleans count as the integers
    0 and 1. An integer against a float is compared in float64, as NumPy compares them."""
    if a.dtype.kind not in "biu" or b.dtype.kind not in "biu" or max(a.dtype.itemsize, b.dtype.itemsize) < 8:
        return
    big = np.flatnonzero((np.abs(a.astype(np.float64)) >= _EXACT_IN_F64)
                         | (np.abs(b.astype(np.float64)) >= _EXACT_IN_F64))
    for k in big.tolist():
        gap = abs(int(a[k]) - int(b[k]))  # exact; a Python int compares with a float exactly
        within[k] = gap <= float(thr[k])
        d[k] = float(gap)


def _chunk_metrics(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> tuple:
    """Metrics of one chunk of flat arrays of the same length."""
    is_float = a.dtype.kind in "fc" or b.dtype.kind in "fc"
    wide = np.complex128 if (a.dtype.kind == "c" or b.dtype.kind == "c") else np.float64
    af, bf = a.astype(wide), b.astype(wide)
    d = np.abs(af - bf)
    mag = np.abs(af)
    equal = a == b
    if is_float:
        nan_a_m, nan_b_m = np.isnan(af), np.isnan(bf)
        inf_a_m, inf_b_m = np.isinf(af), np.isinf(bf)
        both_nan = nan_a_m & nan_b_m
        finite = ~(nan_a_m | nan_b_m | inf_a_m | inf_b_m)
        if tol.nan_equal:
            equal |= both_nan
        counts = (int(nan_a_m.sum()), int(nan_b_m.sum()), int(inf_a_m.sum()), int(inf_b_m.sum()))
    else:
        counts = (0, 0, 0, 0)
    if tol.exact:
        if is_float and a.dtype == b.dtype:
            ok = (a.view(np.uint8).reshape(a.size, -1) == b.view(np.uint8).reshape(b.size, -1)).all(axis=1)
            if not tol.nan_equal:
                ok &= ~both_nan
        elif is_float:
            ok = equal & ((_sign_bits(af) == _sign_bits(bf)) | both_nan)
        else:
            ok = equal
    else:
        thr = tol.atol + tol.rtol * mag
        within = d <= thr
        if is_float:
            within &= finite
        else:
            _int_gaps_within(a, b, d, thr, within)
        ok = equal | within
        if tol.ulps is not None and is_float and a.dtype == b.dtype and a.dtype.kind == "f":
            ok |= _within_ulps(a, b, tol.ulps) & finite
    d_for_max = np.where(equal, 0.0, d)
    # A NaN on one side, or an inf against anything but the same inf, is an infinite error.
    d_for_max = np.where(np.isnan(d_for_max), np.inf, d_for_max)
    n_over = int(ok.size - np.count_nonzero(ok))
    i = int(np.argmax(d_for_max)) if d_for_max.size else 0
    if n_over and d_for_max.size and d_for_max[i] == 0:
        i = int(np.argmin(ok))  # equal values that fail (other bits, a NaN): point at the first one
    mx = float(d_for_max[i]) if d_for_max.size else 0.0
    finite_d = np.where(np.isfinite(d_for_max), d_for_max, 0.0)
    s = float(finite_d.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(mag > 0, finite_d / np.where(mag > 0, mag, 1.0), np.where(finite_d > 0, np.inf, 0.0))
    mr = float(rel.max()) if rel.size else 0.0
    return mx, i, s, mr, n_over, counts


def _sign_bits(x: np.ndarray) -> np.ndarray:
    if x.dtype.kind == "c":
        return np.signbit(x.real) * 2 + np.signbit(x.imag)
    return np.signbit(x)


_F32_MARGIN = 1 - 2.0 ** -20   # float32 rounding (a few 2**-24 relative) stays inside it
_F32_FLOOR = 2.0 ** -100        # thresholds above it are far from float32 underflow


def _fast_chunk(a: np.ndarray, b: np.ndarray, tol: Tolerance, buf: dict) -> tuple | None:
    """Metrics of a chunk where every element passes atol/rtol, in a few in-cache passes; None otherwise.

    The common case of a parity run (arrays equal or within tolerance) never leaves this path; a chunk
    with any failing element, NaN or inf goes to `_chunk_metrics`, which also handles ULPs and NaN rules.
    float64 chunks use `_chunk_metrics`' float64 arithmetic. float32 chunks are tested in float32 against
    the threshold shrunk by `_F32_MARGIN`, which the float32 rounding errors cannot cross, so an element
    passed here passes the float64 definition; one near the limit goes to `_chunk_metrics`. The verdict
    never depends on the array's size.
    """
    n = a.size
    work = np.float64
    if a.dtype == np.float32 and tol.rtol < 1 and tol.atol < 1e30:
        work = np.float32
    d, t, ok = buf[work][0][:n], buf[work][1][:n], buf[bool][:n]
    np.subtract(a, b, out=d, dtype=work)
    np.abs(d, out=d)
    np.abs(a, out=t, dtype=work)
    if work is np.float32:
        if tol.atol < _F32_FLOOR and float(t.min()) * tol.rtol < _F32_FLOOR:
            return None  # thresholds near underflow: float32 cannot vouch for them
        np.multiply(t, np.float32(tol.rtol * _F32_MARGIN), out=t)
        if tol.atol:
            np.add(t, np.float32(tol.atol * _F32_MARGIN), out=t)
    else:
        np.multiply(t, tol.rtol, out=t)
        if tol.atol:
            np.add(t, tol.atol, out=t)
    np.less_equal(d, t, out=ok)
    if np.count_nonzero(ok) != n:
        return None
    mx_i = int(np.argmax(d))
    mx = float(d[mx_i])
    if mx != mx or mx == np.inf:  # NaN or inf somewhere
        return None
    # relative error against |a|; where a is 0 it is 0 if b is too, infinite otherwise (as _chunk_metrics)
    np.abs(a, out=t, dtype=work)
    mr = 0.0
    if tol.atol:  # without atol, a = 0 passed only with b = 0
        zero = t == 0
        if np.count_nonzero(d[zero]):
            mr = np.inf
    np.maximum(t, np.finfo(work).tiny, out=t)
    np.divide(d, t, out=t)
    return mx, mx_i, float(np.add.reduce(d, dtype=np.float64)), max(mr, float(t.max())), 0, (0, 0, 0, 0)


def compute_metrics(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> _Metrics:
    """Chunked metrics over two arrays of the same shape (any dtype numpy can subtract)."""
    fa, fb = a.reshape(-1), b.reshape(-1)
    n = fa.size
    fast = (not tol.exact and a.dtype == b.dtype and a.dtype in (np.float32, np.float64) and n > _CHUNK)
    buf = None
    if fast:
        chunk = min(_CHUNK, n)
        buf = {w: (np.empty(chunk, w), np.empty(chunk, w)) for w in {a.dtype.type, np.float64}}
        buf[bool] = np.empty(chunk, bool)
    best, best_i, total, max_rel, n_over = -1.0, 0, 0.0, 0.0, 0
    nan_a = nan_b = inf_a = inf_b = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, max(n, 1), _CHUNK):
            ca, cb = fa[start : start + _CHUNK], fb[start : start + _CHUNK]
            if ca.size == 0:
                break
            res = _fast_chunk(ca, cb, tol, buf) if fast else None
            if res is None:
                res = _chunk_metrics(ca, cb, tol)
            mx, i, s, mr, no, (na, nb, ia, ib) = res
            if mx > best:
                best, best_i = mx, start + i
            total += s
            max_rel = max(max_rel, mr)
            n_over += no
            nan_a, nan_b, inf_a, inf_b = nan_a + na, nan_b + nb, inf_a + ia, inf_b + ib
    return _Metrics(
        max_abs=max(best, 0.0), mean_abs=total / n if n else 0.0, max_rel=max_rel, argmax=best_i,
        n_over=n_over, nan_a=nan_a, nan_b=nan_b, inf_a=inf_a, inf_b=inf_b,
    )


def _numeric(x: np.ndarray) -> bool:
    return x.dtype.kind in "biufc"


def _native(x: np.ndarray) -> np.ndarray:
    """``x`` in native byte order (the same values; byte order is how a file stored them, not a result)."""
    return x if x.dtype.isnative else x.astype(x.dtype.newbyteorder("="))


def _finite_peak(a: np.ndarray) -> float:
    """The largest finite |a| (0 when there is none), chunk by chunk."""
    peak = 0.0
    flat = a.reshape(-1)
    with np.errstate(invalid="ignore"):
        for start in range(0, flat.size, _CHUNK):
            m = np.abs(flat[start : start + _CHUNK].astype(np.complex128 if a.dtype.kind == "c" else np.float64))
            m = m[np.isfinite(m)]
            if m.size:
                peak = max(peak, float(m.max()))
    return peak


def compare_arrays(name: str, a: np.ndarray, b: np.ndarray, tol: Tolerance) -> StageResult:
    """Compare reference ``a`` with candidate ``b`` under ``tol`` (the rules: this module's docstring)."""
    order_note = ""
    if not (a.dtype.isnative and b.dtype.isnative):
        order_note = f"byte order {a.dtype.str} vs {b.dtype.str}: compared by value"
        a, b = _native(a), _native(b)
    r = StageResult(
        name=name, status=MATCH, tolerance=tol.describe(), dtype_a=a.dtype.name, dtype_b=b.dtype.name,
        shape_a=tuple(a.shape), shape_b=tuple(b.shape), note=order_note,
    )
    if tol.ignore:
        r.status = IGNORED
        return r
    if a.shape != b.shape:
        r.status = SHAPE_MISMATCH
        r.note = _join(f"shape {_shape(a.shape)} vs {_shape(b.shape)}", order_note)
        return r
    if not (_numeric(a) and _numeric(b)):
        same = a.dtype == b.dtype and bool(np.array_equal(a, b))
        r.n_total, r.n_over = int(a.size), 0 if same else int(np.count_nonzero(a != b)) if a.dtype.kind == b.dtype.kind else int(a.size)
        r.status = MATCH if same else DIVERGED
        return r
    if tol.rtol_max and a.size:
        tol = replace(tol, atol=tol.atol + tol.rtol_max * _finite_peak(a), rtol_max=0.0)
    m = compute_metrics(a, b, tol)
    _fill(r, m, a.shape)
    if m.n_over:
        r.status = DIVERGED
        if a.ndim >= 1:
            permuted = match_as_set(a, b, tol)
            if permuted is not None:
                r.order_only = True
                if tol.order == "set":
                    r.status = MATCH
                    mm = compute_metrics(a, permuted, tol)
                    _fill(r, mm, a.shape)
                    r.note = _join(r.note, "same rows in another order")
                else:
                    r.note = _join(r.note, "differs only in row order")
            elif tol.order == "set" and a.shape[0] >= 2:
                # rows in any order that still differ: measure them against their nearest partners, not
                # against whatever row shares their position
                paired = pair_rows(a, b)
                if paired is not None:
                    _fill(r, compute_metrics(a, paired, tol), a.shape)
                    r.note = _join(r.note, "rows paired by distance (optimal assignment) before measuring")
    if tol.check_dtype and a.dtype != b.dtype:
        if r.status == MATCH:
            r.status = DTYPE_MISMATCH
        r.note = _join(r.note, f"dtype {a.dtype.name} vs {b.dtype.name}")
    return r


def _join(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def compare_printed(name: str, a: np.ndarray, b: np.ndarray, decimals) -> StageResult:
    """Compare where one side was printed with ``decimals`` digits per element: within half a unit of
    the last printed digit (plus float32 noise), whatever the policy says."""
    dec = np.asarray(decimals, dtype=np.float64)
    atol = 0.5 * 10.0 ** -dec
    r = StageResult(name=name, status=MATCH, dtype_a=a.dtype.name, dtype_b=b.dtype.name, shape_a=tuple(a.shape),
                    shape_b=tuple(b.shape))
    lo, hi = int(dec.min()), int(dec.max())
    r.tolerance = f"printed to {lo}{'-' + str(hi) if hi != lo else ''} decimal(s): abs≤half a digit"
    if a.shape != b.shape:
        r.status, r.note = SHAPE_MISMATCH, f"shape {_shape(a.shape)} vs {_shape(b.shape)}"
        return r
    fa, fb = a.astype(np.float64).reshape(-1), b.astype(np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        d = np.abs(fa - fb)
    nan_a, nan_b = np.isnan(fa), np.isnan(fb)
    same = (fa == fb) | (nan_a & nan_b)          # NaN where the text printed NaN is that value
    d = np.where(same, 0.0, np.where(np.isnan(d), np.inf, d))
    finite = np.isfinite(fa) & np.isfinite(fb)
    limit = atol * (1 + 1e-6) + 4 * np.finfo(np.float32).eps * np.abs(fa)
    over = ~(same | (finite & (d <= limit)))
    _fill(r, _Metrics(max_abs=float(d.max()) if d.size else 0.0,
                      mean_abs=float(np.where(np.isfinite(d), d, 0.0).mean()) if d.size else 0.0,
                      max_rel=0.0, argmax=int(np.argmax(d)) if d.size else 0,
                      n_over=int(over.sum()), nan_a=int(nan_a.sum()), nan_b=int(nan_b.sum()),
                      inf_a=int(np.isinf(fa).sum()), inf_b=int(np.isinf(fb).sum())), a.shape)
    if r.n_over:
        r.status = DIVERGED
    return r


def _fill(r: StageResult, m: _Metrics, shape: tuple) -> None:
    r.max_abs, r.mean_abs, r.max_rel, r.n_over = m.max_abs, m.mean_abs, m.max_rel, m.n_over
    r.n_total = int(np.prod(shape, dtype=np.int64)) if shape else 1
    r.argmax = tuple(int(i) for i in np.unravel_index(m.argmax, shape)) if shape and r.n_total else ()
    r.nan_a, r.nan_b, r.inf_a, r.inf_b = m.nan_a, m.nan_b, m.inf_a, m.inf_b


def match_as_set(a: np.ndarray, b: np.ndarray, tol: Tolerance) -> np.ndarray | None:
    """``b``'s rows reordered to match ``a``'s, or None when no reordering makes them agree (or they are
    already in the best order).

    Rows are paired by minimum total distance (Hungarian assignment, e.g. boxes by their corner
    distance), then the pairing is checked under ``tol``. Tried while rows² × values per row is at most
    5,000,000 (the cost matrix's work); a larger stage is not matched as a set.
    """
    candidate = pair_rows(a, b)
    if candidate is None or compute_metrics(a, candidate, tol).n_over:
        return None
    return candidate


def row_order(a: np.ndarray, keys) -> np.ndarray:
    """The permutation that sorts ``a``'s rows: by every column left to right (``keys`` true) or by the
    listed columns of the flattened rows, the first one the primary key."""
    rows = a.reshape(a.shape[0], -1)
    cols = rows.T[::-1] if keys is True else rows.T[list(keys)][::-1]
    return np.lexsort(cols)


def pair_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``b``'s rows reordered so that the total distance to ``a``'s rows is least (Hungarian assignment),
    or None when that is ``b``'s own order (or the arrays are too large to pair)."""
    if a.ndim == 0 or a.shape[0] < 2 or a.shape[0] ** 2 * max(a[0].size, 1) > 5_000_000:
        return None
    wide = np.complex128 if (a.dtype.kind == "c" or b.dtype.kind == "c") else np.float64
    ra = a.reshape(a.shape[0], -1).astype(wide)[:, None, :]
    rb = b.reshape(b.shape[0], -1).astype(wide)[None, :, :]
    with np.errstate(invalid="ignore", over="ignore"):
        same = (ra == rb) | (np.isnan(ra) & np.isnan(rb))
        gap = np.where(same, 0.0, np.abs(ra - rb))
    # NaN and inf are values too: a non-finite gap costs the most, and no cost is infinite (an
    # infinite cost makes the assignment infeasible).
    cost = np.where(np.isfinite(gap), np.minimum(gap, _FAR), _FAR).sum(axis=2)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(cost)
    perm = cols[np.argsort(rows)]
    if np.array_equal(perm, np.arange(len(perm))):
        return None
    return b[perm]


def _shape(s) -> str:
    return "(" + ", ".join(str(d) for d in s) + (",)" if len(s) == 1 else ")")
