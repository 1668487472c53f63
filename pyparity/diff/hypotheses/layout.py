"""Hypotheses about where the values sit: axes transposed or permuted (an im2col that swapped H and W),
a buffer read in another shape, stacked ``[x0..xn, y0..yn]`` vs interleaved ``[x0, y0, ...]`` layouts
(Jacobians, landmarks), ``(N, 2)`` rows vs a flat vector, and BGR/RGB channel order."""

from __future__ import annotations

import itertools

import numpy as np

from pyparity.conventions.landmarks import interleaved_to_stacked, stacked_to_interleaved, stacked_to_xy, xy_to_stacked
from pyparity.diff.hypothesis import MAX_SIZE, Hypothesis, explains


def axes(a, b, tol, ctx):
    if a.ndim < 2 or a.ndim > 5 or a.size != b.size or a.size < 2:
        return
    for perm in itertools.permutations(range(a.ndim)):
        if perm == tuple(range(a.ndim)):
            continue
        t = np.transpose(a, perm)
        if t.shape == b.shape:
            r = explains(t, b, tol)
            if r is not None:
                inv = list(np.argsort(perm))
                swapped = [i for i, p in enumerate(perm) if p != i]
                title = "axes swapped" if len(swapped) == 2 else "axes permuted"
                if len(swapped) == 2 and a.ndim >= 2 and set(swapped) == {a.ndim - 2, a.ndim - 1}:
                    title = "last two axes swapped (H and W, or rows and columns)"
                yield Hypothesis("transposed", f"transposed: {title}",
                                 f"B = A transposed with axes {list(perm)}", f"transpose = {_ints(inv)}", r)
                return
        elif t.size == b.size:
            reshaped = t.reshape(b.shape)
            r = explains(reshaped, b, tol)
            if r is not None:
                yield Hypothesis(
                    "transposed-reshaped", "axes traversed in another order, then reshaped (im2col H/W swap?)",
                    f"B = A transposed with axes {list(perm)} then reshaped to {list(b.shape)}",
                    f"reshape = {_ints(np.transpose(np.empty(a.shape, bool), perm).shape)}; transpose = "
                    f"{_ints(np.argsort(perm))}", r)
                return
    # the other direction: A's buffer read in another shape, then its axes traversed in another order
    for perm in itertools.permutations(range(b.ndim)):
        inv = np.argsort(perm)
        read_as = tuple(int(b.shape[i]) for i in inv)
        if perm == tuple(range(b.ndim)) or read_as == a.shape:
            continue
        r = explains(np.transpose(a.reshape(read_as), perm), b, tol)
        if r is not None:
            yield Hypothesis(
                "transposed-reshaped", "reshaped, then axes traversed in another order (im2col H/W swap?)",
                f"B = A reshaped to {list(read_as)} then transposed with axes {list(perm)}",
                f"transpose = {_ints(inv)}; reshape = {_ints(a.shape)}", r)
            return


def _ints(xs) -> list[int]:
    """Plain ints, so that a transform prints as ``[1, 0]`` (NumPy 2 prints ``np.int64(1)``)."""
    return [int(x) for x in xs]


def reshape(a, b, tol, ctx):
    if a.shape != b.shape and a.size == b.size and a.size:
        r = explains(a.reshape(b.shape), b, tol)
        if r is not None:
            yield Hypothesis("reshaped", "same values in another shape",
                             f"B is A reshaped from {list(a.shape)} to {list(b.shape)}",
                             f"reshape = {_ints(a.shape)}", r)


def layout(a, b, tol, ctx):
    if a.size < 4 or a.size > MAX_SIZE:
        return
    af = a
    if a.shape != b.shape and a.size == b.size:
        af = a.reshape(b.shape)  # e.g. (2N, 1) stacked vs (2N,)
    if a.shape != b.shape and a.size == b.size:
        yield from _rows_vs_flat(a, b, tol)
        return
    for axis in range(af.ndim):
        if af.shape[axis] % 2 or af.shape[axis] < 4:
            continue
        moved = np.moveaxis(af, axis, 0)
        il = np.moveaxis(stacked_to_interleaved(moved), 0, axis)
        r = explains(il, b, tol)
        if r is not None:
            yield Hypothesis(
                "interleaved", "interleaved [x0, y0, x1, y1, ...] where the reference stacks [x0..xn, y0..yn]",
                f"B = A with axis {axis} reordered from stacked to interleaved",
                "layout = \"interleaved_to_stacked\"" + (f"; axis = {axis}" if axis else ""), r)
            return
        st = np.moveaxis(interleaved_to_stacked(moved), 0, axis)
        r = explains(st, b, tol)
        if r is not None:
            yield Hypothesis(
                "stacked", "stacked [x0..xn, y0..yn] where the reference interleaves [x0, y0, ...]",
                f"B = A with axis {axis} reordered from interleaved to stacked",
                "layout = \"stacked_to_interleaved\"" + (f"; axis = {axis}" if axis else ""), r)
            return


def _rows_vs_flat(a, b, tol):
    """(N, 2) rows of (x, y) on one side, a flat interleaved or stacked vector on the other."""
    if a.ndim == 2 and a.shape[1] == 2 and b.ndim == 1:
        n = a.shape[0]
        r = explains(a.reshape(-1), b, tol)
        if r is not None:
            yield Hypothesis("interleaved", "interleaved [x0, y0, x1, y1, ...] where the reference has (N, 2) rows",
                             "B is A's (N, 2) rows flattened", f"reshape = [{n}, 2]", r)
            return
        r = explains(xy_to_stacked(a), b, tol)
        if r is not None:
            yield Hypothesis("stacked", "stacked [x0..xn, y0..yn] where the reference has (N, 2) rows",
                             "B is A's x column, then its y column", "layout = \"stacked_to_xy\"", r)
    elif a.ndim == 1 and b.ndim == 2 and b.shape[1] == 2:
        r = explains(stacked_to_xy(a), b, tol)
        if r is not None:
            yield Hypothesis("xy-rows", "(N, 2) rows of (x, y) where the reference stacks [x0..xn, y0..yn]",
                             "B's rows pair A's first half (x) with its second half (y)", "layout = \"xy_to_stacked\"", r)


def channels(a, b, tol, ctx):
    if a.shape != b.shape:
        return
    for axis in range(a.ndim):
        if a.shape[axis] == 3:
            r = explains(np.flip(a, axis), b, tol)
            if r is not None:
                yield Hypothesis("channel-order", "reversed channel order (BGR vs RGB)",
                                 f"B = A with axis {axis} (size 3) reversed", f"flip_axis = {axis}", r)
                return
