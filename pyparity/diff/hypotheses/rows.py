"""Hypotheses about rows: the same rows in another order (and the sort that aligns them), or another
set of rows selected (a filter, threshold or NMS upstream that kept others)."""

from __future__ import annotations

import itertools

import numpy as np

from pyparity.diff.hypothesis import Hypothesis, explains


def row_order(a, b, tol, ctx):
    if a.shape != b.shape or a.ndim == 0 or a.shape[0] < 2:
        return
    from pyparity.diff.compare import match_as_set

    perm = match_as_set(a, b, tol)
    if perm is not None:
        keys = _sort_keys_that_align(a, b, tol)
        if keys is None:
            yield Hypothesis("row-order", "same rows in another order",
                             "B holds A's rows permuted, and the reference's order is no sort of the values (e.g. "
                             "the order its loops found them in): compare them as a set",
                             "# order = \"set\" in the policy for this stage", 0.0)
        else:
            how = "lexicographically" if keys is True else f"by column(s) {keys} (first key first)"
            yield Hypothesis("row-order", "same rows in another order",
                             f"B holds A's rows permuted; the reference's rows are sorted {how}, so sorting B's "
                             "the same way aligns them (checked)", f"sort_rows = {'true' if keys is True else keys}",
                             0.0, fix_kind="convention")


def _sort_keys_that_align(a, b, tol):
    """``True`` or a list of key columns such that B sorted by them equals A (the reference's rows are in
    that sorted order), else None."""
    from pyparity.diff.compare import row_order

    if a.ndim > 2 or a.shape[1:] and a.shape[1] > 6:
        cands = [True]
    else:
        ncol = a.shape[1] if a.ndim == 2 else 1
        cands = [True] + [list(p) for n in range(1, ncol + 1) for p in itertools.permutations(range(ncol), n)]
    for keys in cands:
        if explains(b[row_order(b, keys)], a, tol) is not None:
            return keys
    return None


def row_subset(a, b, tol, ctx):
    """The rows as a set: most agree, some of A's are missing and/or some of B's are new (a filter,
    threshold or NMS that kept another set — a tie broken otherwise, > where the reference has >=)."""
    if a.ndim == 0 or a.shape[1:] != b.shape[1:] or min(a.shape[0], b.shape[0]) == 0:
        return
    if a[0].size < 2:
        return  # a column of numbers (a stacked vector), not a set of records
    if a.shape[0] * b.shape[0] * max(a[0].size, 1) > 5_000_000 or a.dtype.kind not in "biuf":
        return
    ra = a.reshape(a.shape[0], -1).astype(np.float64)
    rb = b.reshape(b.shape[0], -1).astype(np.float64)
    # The shared rows need only agree roughly: a port that computes boxes in float64 where the
    # reference rounds to float32 still shows which rows were dropped.
    limit = np.maximum(max(tol.atol * 20, 0.01), max(tol.rtol, 1e-4) * np.abs(ra))
    ok = (np.abs(ra[:, None, :] - rb[None, :, :]) <= limit[:, None, :]).all(axis=2)
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(-ok.astype(np.float64))
    shared = ok[rows, cols]
    rows, cols = rows[shared], cols[shared]
    missing = sorted(set(range(a.shape[0])) - set(rows.tolist()))
    extra = sorted(set(range(b.shape[0])) - set(cols.tolist()))
    if not (missing or extra) or len(rows) < max(1, min(a.shape[0], b.shape[0]) // 2):
        return
    if a.shape == b.shape and np.array_equal(rows, cols):
        return  # same rows in place, values differ: not a selection problem

    def show(ix):
        return "[" + ", ".join(str(i) for i in ix[:8]) + (" …" if len(ix) > 8 else "") + "]"

    parts = []
    if missing:
        parts.append(f"{len(missing)} of the reference's rows missing {show(missing)}")
    if extra:
        parts.append(f"{len(extra)} row(s) of B not in the reference {show(extra)}")
    yield Hypothesis(
        "row-set", "another set of rows selected: " + "; ".join(parts) + f"; the other {len(rows)} agree",
        "a filter, threshold or NMS upstream of this stage kept another set (a tie broken the other way? "
        "> where the reference has >=?)", "# look at the step that selects these rows", 0.0)
