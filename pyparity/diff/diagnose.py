"""Diagnosis: cheap hypotheses that could explain why a stage diverged.

Each hypothesis says how the candidate B relates to the reference A (``B ≈ f(A)``); it is reported
only when applying it leaves a residual within the stage's tolerance. Each one carries the
alignment transform (in the probe-file syntax) that maps B back into A's convention.

The hypotheses cover the bug classes that cost ports the most time: transposed or permuted axes
(an im2col that swapped H and W), stacked ``[x0..xn, y0..yn]`` vs interleaved ``[x0, y0, ...]``
layouts (Jacobians, landmarks), BGR/RGB, constant offsets (a crop at (x, y) instead of
(x-1, y-1); half-pixel centres), uniform scale, sign, xywh vs xyxy boxes, row order, rounding,
values that belong to another stage (stale inputs), NMS run on other scores, and landmarks
denormalised with another box.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterable

import numpy as np

from pyparity.conventions.boxes import xywh_to_xyxy, xyxy_to_xywh
from pyparity.conventions.landmarks import interleaved_to_stacked, stacked_to_interleaved, stacked_to_xy, xy_to_stacked
from pyparity.diff.hypothesis import Context, Hypothesis, explains, f64
from pyparity.diff.policy import Tolerance


_MAX_SIZE = 20_000_000
_explains = explains
_f64 = f64


# single-array hypotheses ---------------------------------------------------------------------

def _axes(a, b, tol, ctx):
    if a.ndim < 2 or a.ndim > 5 or a.size != b.size or a.size < 2:
        return
    for perm in itertools.permutations(range(a.ndim)):
        if perm == tuple(range(a.ndim)):
            continue
        t = np.transpose(a, perm)
        if t.shape == b.shape:
            r = _explains(t, b, tol)
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
            r = _explains(reshaped, b, tol)
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
        r = _explains(np.transpose(a.reshape(read_as), perm), b, tol)
        if r is not None:
            yield Hypothesis(
                "transposed-reshaped", "reshaped, then axes traversed in another order (im2col H/W swap?)",
                f"B = A reshaped to {list(read_as)} then transposed with axes {list(perm)}",
                f"transpose = {_ints(inv)}; reshape = {_ints(a.shape)}", r)
            return


def _ints(xs) -> list[int]:
    """Plain ints, so that a transform prints as ``[1, 0]`` (NumPy 2 prints ``np.int64(1)``)."""
    return [int(x) for x in xs]


def _reshape(a, b, tol, ctx):
    if a.shape != b.shape and a.size == b.size and a.size:
        r = _explains(a.reshape(b.shape), b, tol)
        if r is not None:
            yield Hypothesis("reshaped", "same values in another shape",
                             f"B is A reshaped from {list(a.shape)} to {list(b.shape)}",
                             f"reshape = {_ints(a.shape)}", r)


def _layout(a, b, tol, ctx):
    if a.size < 4 or a.size > _MAX_SIZE:
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
        r = _explains(il, b, tol)
        if r is not None:
            yield Hypothesis(
                "interleaved", "interleaved [x0, y0, x1, y1, ...] where the reference stacks [x0..xn, y0..yn]",
                f"B = A with axis {axis} reordered from stacked to interleaved",
                "layout = \"interleaved_to_stacked\"" + (f"; axis = {axis}" if axis else ""), r)
            return
        st = np.moveaxis(interleaved_to_stacked(moved), 0, axis)
        r = _explains(st, b, tol)
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
        r = _explains(a.reshape(-1), b, tol)
        if r is not None:
            yield Hypothesis("interleaved", "interleaved [x0, y0, x1, y1, ...] where the reference has (N, 2) rows",
                             "B is A's (N, 2) rows flattened", f"reshape = [{n}, 2]", r)
            return
        r = _explains(xy_to_stacked(a), b, tol)
        if r is not None:
            yield Hypothesis("stacked", "stacked [x0..xn, y0..yn] where the reference has (N, 2) rows",
                             "B is A's x column, then its y column", "layout = \"stacked_to_xy\"", r)
    elif a.ndim == 1 and b.ndim == 2 and b.shape[1] == 2:
        r = _explains(stacked_to_xy(a), b, tol)
        if r is not None:
            yield Hypothesis("xy-rows", "(N, 2) rows of (x, y) where the reference stacks [x0..xn, y0..yn]",
                             "B's rows pair A's first half (x) with its second half (y)", "layout = \"xy_to_stacked\"", r)


def _channels(a, b, tol, ctx):
    if a.shape != b.shape:
        return
    for axis in range(a.ndim):
        if a.shape[axis] == 3:
            r = _explains(np.flip(a, axis), b, tol)
            if r is not None:
                yield Hypothesis("channel-order", "reversed channel order (BGR vs RGB)",
                                 f"B = A with axis {axis} (size 3) reversed", f"flip_axis = {axis}", r)
                return


def _label_offset(c: np.ndarray) -> str:
    nz = np.abs(c[c != 0])
    if nz.size and np.allclose(nz, 1.0):
        return "off by one pixel (e.g. a crop at (x, y) where the reference takes (x-1, y-1))"
    if nz.size and np.allclose(nz, 0.5):
        return "half-pixel offset (pixel-centre vs pixel-corner convention)"
    return "constant offset"


def _offset(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    d = _f64(b) - _f64(a)
    finite = np.isfinite(d)
    if not finite.any():
        return
    c = float(np.median(d[finite]))
    if c != 0:
        r = _explains(_f64(a) + c, b, tol)
        if r is not None:
            yield Hypothesis("offset", _label_offset(np.array([c])), f"B = A + {c:g}", f"offset = {-c:g}", r)
            return
    if a.ndim >= 2 and 2 <= a.shape[-1] <= 16:
        dd = d.reshape(-1, a.shape[-1])
        ok = np.isfinite(dd).all(axis=1)
        if ok.sum() == 0:
            return
        cols = np.median(dd[ok], axis=0)
        if np.any(cols != 0):
            r = _explains(_f64(a) + cols, b, tol)
            if r is not None:
                vec = ", ".join(f"{v:g}" for v in cols)
                yield Hypothesis("offset", _label_offset(cols), f"B = A + [{vec}] per column",
                                 f"offset = [{', '.join(f'{-v:g}' for v in cols)}]", r)


def _scale(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    fa, fb = _f64(a).reshape(-1), _f64(b).reshape(-1)
    m = np.isfinite(fa) & np.isfinite(fb)
    den = float(np.dot(fa[m], fa[m]))
    if den == 0:
        return
    s = float(np.dot(fa[m], fb[m])) / den
    if s == 1.0 or s == -1.0 or s == 0.0 or not np.isfinite(s):
        return
    r = _explains(_f64(a) * s, b, tol)
    if r is not None:
        yield Hypothesis("scale", "uniform scale factor", f"B = {s:.6g} × A", f"scale = {1 / s:.9g}", r)


def _sign(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "if":
        return
    r = _explains(-_f64(a), b, tol)
    if r is not None:
        yield Hypothesis("sign", "sign flip", "B = -A", "scale = -1", r)


def _boxes(a, b, tol, ctx):
    if a.shape != b.shape or a.ndim == 0 or a.shape[-1] != 4 or a.dtype.kind != "f":
        return
    r = _explains(xywh_to_xyxy(a), b, tol)
    if r is not None:
        yield Hypothesis("xyxy", "boxes as [x1, y1, x2, y2] where the reference has [x, y, w, h]",
                         "B = xywh_to_xyxy(A)", "boxes = \"xyxy_to_xywh\"", r)
        return
    r = _explains(xyxy_to_xywh(a), b, tol)
    if r is not None:
        yield Hypothesis("xywh", "boxes as [x, y, w, h] where the reference has [x1, y1, x2, y2]",
                         "B = xyxy_to_xywh(A)", "boxes = \"xywh_to_xyxy\"", r)


def _rows(a, b, tol, ctx):
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
    from pyparity.probe.transforms import row_order

    if a.ndim > 2 or a.shape[1:] and a.shape[1] > 6:
        cands = [True]
    else:
        ncol = a.shape[1] if a.ndim == 2 else 1
        cands = [True] + [list(p) for n in range(1, ncol + 1) for p in itertools.permutations(range(ncol), n)]
    for keys in cands:
        if _explains(b[row_order(b, keys)], a, tol) is not None:
            return keys
    return None


def _rounding(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    fa, fb = _f64(a), _f64(b)
    # Rounding done in float32 lands within a float32 ulp of the float64 rounding.
    eps = max(np.finfo(a.dtype).eps if a.dtype.kind == "f" else 0.0, np.finfo(b.dtype).eps if b.dtype.kind == "f" else 0.0)

    def same(x, y):
        return bool(np.allclose(x, y, rtol=2 * eps, atol=0.0, equal_nan=True))

    if same(fa, fb):
        return
    for k in range(0, 7):
        if same(np.round(fa, k), fb):
            yield Hypothesis("rounding", f"B is A rounded to {k} decimal(s)", f"B = round(A, {k})",
                             f"# round A to {k} decimal(s) as well, or compare with atol = {0.5 * 10 ** -k:g}",
                             float(np.nanmax(np.abs(fa - fb))))
            return
        if same(fa, np.round(fb, k)):
            yield Hypothesis("rounding", f"A is B rounded to {k} decimal(s)", f"A = round(B, {k})",
                             f"round = {k}", float(np.nanmax(np.abs(fa - fb))))
            return
    for fn, label in ((np.floor, "floor"), (np.trunc, "truncation toward zero"), (np.ceil, "ceiling")):
        if same(fn(fa), fb):
            yield Hypothesis("rounding", f"B is A after {label}", f"B = {fn.__name__}(A)",
                             f"# the port applies {fn.__name__} where the reference keeps the fraction",
                             float(np.nanmax(np.abs(fa - fb))))
            return
        if same(fa, fn(fb)):
            yield Hypothesis("rounding", f"A is B after {label}", f"A = {fn.__name__}(B)",
                             f"round = \"{fn.__name__}\"", float(np.nanmax(np.abs(fa - fb))))
            return


def _row_subset(a, b, tol, ctx):
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


# cross-stage hypotheses ----------------------------------------------------------------------

def _element_labels(ctx, stage: str, n: int) -> list[str] | None:
    """Names of a stage's n elements from a trace's meta.json parameters: a list of n strings under a
    key ending in `_names`, preferring one whose words appear in the stage's path (`au_class_names` for
    `face00/au/class/output`)."""
    words = set(stage.replace("/", "_").split("_"))
    best = None
    for t in (ctx.candidate, ctx.reference):
        params = (getattr(t, "meta", None) or {}).get("parameters") or {}
        for key, v in params.items():
            if key.endswith("_names") and isinstance(v, list) and len(v) == n and all(isinstance(x, str) for x in v):
                score = len(words & set(key.split("_")))
                if best is None or score > best[0]:
                    best = (score, v)
    return None if best is None else list(best[1])


def _decision_flip(a, b, tol, ctx):
    """A 0/1 decision stage (`.../output`) whose candidate recorded the score it thresholds next to it
    (`.../margin`): name the decisions that flipped and how far B's score was from the threshold."""
    if a.shape != b.shape or a.size == 0 or a.size > 10_000 or "/" not in ctx.stage:
        return
    av, bv = a.reshape(-1), b.reshape(-1)
    if not (np.isin(av, (0, 1)).all() and np.isin(bv, (0, 1)).all()):
        return
    margin_name = ctx.stage.rsplit("/", 1)[0] + "/margin"
    margins = {}
    for side, t in (("B", ctx.candidate), ("A", ctx.reference)):
        if t is not None and margin_name in t and t.info(margin_name).shape == a.shape:
            margins[side] = np.asarray(t[margin_name], dtype=np.float64).reshape(-1)
    if not margins:
        return
    flipped = np.flatnonzero(av != bv)
    if flipped.size == 0:
        return
    labels = _element_labels(ctx, ctx.stage, a.size) or [f"[{i}]" for i in range(a.size)]
    parts = []
    for i in flipped[:6]:
        m = ", ".join(f"{side} {v[i]:+.3g}" for side, v in margins.items())
        parts.append(f"{labels[i]} ({int(av[i])} in A, {int(bv[i])} in B; margin {m})")
    more = f" and {flipped.size - 6} more" if flipped.size > 6 else ""
    scale = max(float(np.abs(v).max()) for v in margins.values()) or 1.0
    closest = min(abs(float(v[i])) for v in margins.values() for i in flipped)
    kind = ("a near-tie: the score is within float noise of the threshold" if closest <= 1e-9 * scale
            else "the scores differ, not only their last bits: look at the stages that feed them")
    yield Hypothesis("decision-flip", f"decision flipped: {', '.join(labels[i] for i in flipped[:6])}{more}",
                     f"{'; '.join(parts)}{more}; {kind}", f"# a changed decision: see {margin_name}", 0.0)


def _stale(a, b, tol, ctx):
    ref = ctx.reference
    if ref is None or b.size == 0 or b.size > 1_000_000:
        return
    checked = 0
    for other in reversed(ctx.earlier):
        info = ref.info(other)
        if info.shape != b.shape or other == ctx.stage:
            continue
        checked += 1
        if checked > 64:
            break
        oa = ref[other]
        if oa.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
            continue
        r = _explains(oa, b, tol)
        if r is not None:
            yield Hypothesis("stale-values", f"values of another stage: B equals A's {other!r}",
                             f"B's {ctx.stage!r} equals the reference's earlier stage {other!r} "
                             "(a stale or wrong input, or a missing update step)", f"# compare with {other}", r)
            return


def _nms(boxes_xywh: np.ndarray, scores: np.ndarray, thresh: float, method: str) -> np.ndarray:
    """Greedy NMS as OpenFace's MTCNN does it (boxes xywh, x2 = x + w), for diagnosis only."""
    x1, y1 = boxes_xywh[:, 0].astype(np.float64), boxes_xywh[:, 1].astype(np.float64)
    x2, y2 = x1 + boxes_xywh[:, 2], y1 + boxes_xywh[:, 3]
    area = (x2 - x1) * (y2 - y1)
    order = list(np.argsort(-scores, kind="stable"))
    keep = []
    while order:
        i = order.pop(0)
        keep.append(i)
        rest = []
        for j in order:
            iw = max(0.0, min(x2[i], x2[j]) - max(x1[i], x1[j]))
            ih = max(0.0, min(y2[i], y2[j]) - max(y1[i], y1[j]))
            inter = iw * ih
            denom = min(area[i], area[j]) if method == "min" else area[i] + area[j] - inter
            if denom <= 0 or inter / denom <= thresh:
                rest.append(j)
        order = rest
    return np.array(keep, dtype=np.int64)


def _rows_of(ref, names, length: int, want: str, max_out: int = 24):
    """Earlier arrays with ``length`` rows — stages themselves, or stages indexed by earlier keep-lists
    (one or two levels, e.g. ``pnet/merged/scores[pnet/nms_keep][rnet/thresh_keep]``)."""
    def fits(info):
        if want == "boxes":
            return len(info.shape) == 2 and info.shape[1] == 4 and info.dtype.startswith("float")
        return len(info.shape) == 1 and info.dtype.startswith("float")

    index_stages = [n for n in names if len(ref.info(n).shape) == 1 and ref.info(n).dtype.startswith(("int", "uint"))]
    out = []
    for n in reversed(names):
        info = ref.info(n)
        if not fits(info):
            continue
        rows = info.shape[0]
        if rows == length:
            out.append((n, ref[n]))
        for i1 in index_stages:
            l1 = ref.info(i1).shape[0]
            if l1 > rows or l1 == 0:
                continue
            idx1 = ref[i1]
            if idx1.max() >= rows:
                continue
            if l1 == length:
                out.append((f"{n}[{i1}]", ref[n][idx1]))
            for i2 in index_stages:
                if ref.info(i2).shape[0] != length or i2 == i1:
                    continue
                idx2 = ref[i2]
                if length and idx2.max() < l1:
                    out.append((f"{n}[{i1}][{i2}]", ref[n][idx1][idx2]))
        if len(out) >= max_out:
            break
    return out


def _nms_scores(a, b, tol, ctx):
    """An NMS keep-list that a known NMS over the reference's own boxes reproduces with other scores."""
    ref = ctx.reference
    if ref is None or b.ndim != 1 or b.dtype.kind not in "iu" or not ctx.stage.endswith("keep"):
        return
    if np.array_equal(np.sort(a), np.sort(b)):
        return
    n_max = int(max(a.max(initial=-1), b.max(initial=-1))) + 1
    names = list(ctx.earlier)
    settings = ((0.7, "union"), (0.5, "union"), (0.7, "min"), (0.5, "min"), (0.3, "union"))
    # The keep-list indexes a set of rows: a box stage, or a subset picked by an earlier keep-list.
    lengths = {ref.info(n).shape[0] for n in names if len(ref.info(n).shape) in (1, 2)
               and (len(ref.info(n).shape) == 1 and ref.info(n).dtype.startswith(("int", "uint"))
                    or ref.info(n).shape[-1] == 4)}
    for length in sorted(x for x in lengths if x >= n_max):
        if length == 0 or length > 2000:
            continue
        boxes = _rows_of(ref, names, length, "boxes", max_out=6)
        if not boxes:
            continue
        scores = _rows_of(ref, names, length, "scores", max_out=200)
        for bn, bx in boxes:
            correct = None
            for thr, method in settings:
                for sn, sc in scores:
                    keep = np.sort(_nms(bx, sc.astype(np.float64), thr, method))
                    if correct is None and np.array_equal(keep, np.sort(a)):
                        correct = (sn, thr, method)
            if correct is None:
                continue
            thr, method = correct[1], correct[2]
            for sn, sc in scores:
                keep = np.sort(_nms(bx, sc.astype(np.float64), thr, method))
                if np.array_equal(keep, np.sort(b)):
                    yield Hypothesis(
                        "nms-inputs", f"NMS on stale scores: {sn} instead of {correct[0]}",
                        f"B's kept indices are NMS({bn}, IoU {thr}, {method}) ranked by {sn}; the reference's "
                        f"are reproduced with {correct[0]}", "# fix the port: NMS must rank by the current scores",
                        0.0)
                    return


def _landmark_box(a, b, tol, ctx):
    """Landmarks denormalised with another box: per row x' = sx·x + tx, y' = sy·y + ty."""
    if a.shape != b.shape or a.dtype.kind != "f" or a.ndim < 2 or a.shape[0] < 1:
        return
    # an affine map per row and axis has two parameters: with fewer than 3 landmarks it fits anything
    if a.ndim == 3 and a.shape[2] == 2 and a.shape[1] >= 3:
        ax, ay, bx_, by_ = a[..., 0], a[..., 1], b[..., 0], b[..., 1]
        layout = "(N, K, 2)"
    elif a.ndim == 2 and a.shape[1] % 2 == 0 and a.shape[1] >= 6:
        k = a.shape[1] // 2
        ax, ay, bx_, by_ = a[:, :k], a[:, k:], b[:, :k], b[:, k:]
        layout = "(N, 2K) per-row stacked"
    else:
        return
    fits = []
    for u, v in ((ax, bx_), (ay, by_)):
        u, v = _f64(u), _f64(v)
        um, vm = u.mean(axis=1, keepdims=True), v.mean(axis=1, keepdims=True)
        den = ((u - um) ** 2).sum(axis=1)
        if np.any(den == 0):
            return
        s = ((u - um) * (v - vm)).sum(axis=1) / den
        t = vm[:, 0] - s * um[:, 0]
        fits.append((s, t))
    (sx, tx), (sy, ty) = fits
    pred = np.empty_like(_f64(a))
    if a.ndim == 3:
        pred[..., 0] = sx[:, None] * ax + tx[:, None]
        pred[..., 1] = sy[:, None] * ay + ty[:, None]
    else:
        k = a.shape[1] // 2
        pred[:, :k] = sx[:, None] * ax + tx[:, None]
        pred[:, k:] = sy[:, None] * ay + ty[:, None]
    if np.allclose(sx, 1) and np.allclose(sy, 1):
        return  # a pure offset: the offset hypothesis names it
    loose = Tolerance(atol=max(tol.atol, 1e-3), rtol=max(tol.rtol, 1e-5))
    r = _explains(pred, b, loose)
    if r is None:
        return
    detail = f"each row of B is an affine image of A's row {layout}: the same normalised landmarks mapped through another box"
    title = "landmarks denormalised with another box"
    ref = ctx.reference
    if ref is not None:
        names = [n for n in ctx.earlier if "box" in n.rsplit("/", 1)[-1] or ref.info(n).dtype.startswith(("int", "uint"))]
        candidates = dict(_rows_of(ref, names, a.shape[0], "boxes", max_out=12))
        for rn, cn in itertools.permutations(candidates, 2):
            R, C = _f64(candidates[rn]), _f64(candidates[cn])
            with np.errstate(divide="ignore", invalid="ignore"):
                ex_sx, ex_sy = C[:, 2] / R[:, 2], C[:, 3] / R[:, 3]
                ex_tx, ex_ty = C[:, 0] - ex_sx * R[:, 0], C[:, 1] - ex_sy * R[:, 1]
            if (np.allclose(ex_sx, sx, rtol=1e-4, atol=1e-6) and np.allclose(ex_sy, sy, rtol=1e-4, atol=1e-6)
                    and np.allclose(ex_tx, tx, atol=1e-2) and np.allclose(ex_ty, ty, atol=1e-2)):
                title = f"landmarks denormalised with {cn} instead of {rn}"
                detail += f"; B used {cn!r} where the reference used {rn!r}"
                break
    yield Hypothesis("landmark-box", title, detail, "# fix the port: denormalise with the reference's box", r)


from pyparity.diff.hypotheses import clnf as _clnf, intrinsics as _intr, nms as _nms_h, rotations as _rot, \
    values as _val  # noqa: E402 (they import this module's helpers)

HYPOTHESES: list[Callable] = [
    _decision_flip, _val.size_off_by_one, _intr.intrinsics, _rot.rotations, _clnf.mean_shift_grid, _clnf.mean_shift_similarity, _layout, _axes,
    _reshape, _channels, _boxes, _val.similarity, _val.box_coefficients, _offset, _sign, _scale, _rows, _val.rows_differ, _nms_h.nms_tie_break,
    _row_subset, _val.rounding_modes, _rounding, _landmark_box, _nms_scores, _stale,
]
#: For one number on each side, an offset or a scale fits anything: say both values instead.
SINGLE_VALUE_HYPOTHESES: list[Callable] = [_decision_flip, _val.single_value, _stale]

#: What applying each hypothesis's transform means (see hypothesis.FIX_KINDS).
_FIX_KIND = {"transposed": "convention", "transposed-reshaped": "convention", "reshaped": "convention",
             "interleaved": "convention", "stacked": "convention", "xy-rows": "convention",
             "channel-order": "convention", "xyxy": "convention", "xywh": "convention", "offset": "mask",
             "scale": "mask", "sign": "mask", "rounding": "mask"}


def diagnose(a: np.ndarray, b: np.ndarray, tol: Tolerance, ctx: Context | None = None,
             limit: int = 3) -> list[Hypothesis]:
    """The hypotheses (most specific first) that explain how ``b`` diverged from ``a``."""
    ctx = ctx or Context(stage="")
    if a.size > _MAX_SIZE or b.size > _MAX_SIZE:
        return []
    found: list[Hypothesis] = []
    single = a.size == 1 and b.size == 1
    with np.errstate(all="ignore"):
        for h in (SINGLE_VALUE_HYPOTHESES if single else HYPOTHESES):
            try:
                for hyp in h(a, b, tol, ctx):
                    if not hyp.fix_kind and not hyp.transform.startswith("#"):
                        hyp.fix_kind = ("convention" if hyp.id == "offset" and "half-pixel" in hyp.title
                                        else _FIX_KIND.get(hyp.id, "mask"))
                    if all(f.id != hyp.id for f in found):
                        found.append(hyp)
            except (ValueError, TypeError, FloatingPointError, IndexError, KeyError):
                continue  # a hypothesis that does not apply to these arrays is no explanation
            if len(found) >= limit:
                break
        if any(h.id == "rows-differ" for h in found):
            found = [h for h in found if h.id != "row-set"]  # rows that moved, not another selection
        if not found and not single:
            try:
                # nothing explains it: say at least where it is, or that it is small and everywhere
                found = list(_val.localised(a, b, tol, ctx)) or list(_val.spread(a, b, tol, ctx))
            except (ValueError, TypeError, FloatingPointError, IndexError, KeyError):
                pass
    return found


def explain(hypotheses: Iterable[Hypothesis]) -> str:
    return "; ".join(h.title for h in hypotheses)
