"""Hypotheses about values and sizes: a single number that differs (both values, not an affine guess),
a size one off because a scaled size was rounded another way, a rounding mode (floor, ceil, trunc,
half to even, half away from zero), and per-row offsets proportional to a box's size (a calibration
or regression coefficient that differs)."""

from __future__ import annotations

import math

import numpy as np

from pyparity.diff.hypothesis import Hypothesis, earlier_in_scope, explains, f64


def _num(x: float) -> str:
    if float(x).is_integer() and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.9g}"


def single_value(a, b, tol, ctx):
    """One number on each side: say both, their difference and ratio — an offset or a scale fits any two
    numbers, so it explains nothing."""
    if a.size != 1 or b.size != 1 or a.dtype.kind not in "biuf" or b.dtype.kind not in "biuf":
        return
    va, vb = float(np.asarray(a).reshape(-1)[0]), float(np.asarray(b).reshape(-1)[0])
    if not (math.isfinite(va) and math.isfinite(vb)):
        detail = f"A = {va}, B = {vb}"
    else:
        detail = f"A = {_num(va)}, B = {_num(vb)}; B − A = {_num(vb - va)}"
        if va != 0:
            detail += f", B / A = {vb / va:.6g}"
    leaf = ctx.stage.rsplit("/", 1)[-1] if ctx.stage else "value"
    what = "another number of iterations" if "iteration" in leaf else f"another {leaf}"
    if ctx.reference is not None:
        same = [n for n in earlier_in_scope(ctx) if ctx.reference.info(n).size == 1
                and ctx.reference.info(n).dtype.startswith(("float", "int", "uint"))
                and float(np.asarray(ctx.reference[n]).reshape(-1)[0]) == vb]
        if same:
            detail += f" (B's value is the reference's {same[0]})"
    yield Hypothesis("values", f"{what}: {_num(va)} in the reference, {_num(vb)} in the port", detail,
                     "# a setting or a count differs: find where the port sets it", 0.0)


_ROUNDERS = (
    ("floor", np.floor),
    ("ceil", np.ceil),
    ("trunc", np.trunc),  # the first three: transforms.py's `rounding` names them
    ("round half to even", np.round),
    ("round half away from zero", lambda x: np.sign(x) * np.floor(np.abs(x) + 0.5)),
)


def size_off_by_one(a, b, tol, ctx):
    """A shape one off along one axis, where the reference's size is ``f(size × scale)`` for a size and a
    scale it holds nearby and the port's is the same with another rounding (floor vs ceil: a pyramid
    level a row short)."""
    if a.ndim != b.ndim or a.ndim == 0 or a.shape == b.shape:
        return
    diff = [i for i, (x, y) in enumerate(zip(a.shape, b.shape)) if x != y]
    if any(abs(a.shape[i] - b.shape[i]) != 1 for i in diff):
        return
    ref = ctx.reference
    scales, sizes = [], []
    if ref is not None:
        for n in earlier_in_scope(ctx):
            info = ref.info(n)
            if info.size == 1 and info.dtype.startswith("float") and "scale" in n.rsplit("/", 1)[-1]:
                scales.append((n, float(np.asarray(ref[n]).reshape(-1)[0])))
        inp = (getattr(ref, "meta", None) or {}).get("input") or {}
        for key in ("height", "width"):
            if isinstance(inp.get(key), int):
                sizes.append((f"the input's {key}", inp[key]))
        for n in ctx.earlier[:50]:
            for d in ref.info(n).shape:
                if d > 8:
                    sizes.append((n, d))
    axis_names = {0: "rows", 1: "columns"}
    found = []
    for i in diff:
        want_a, want_b = a.shape[i], b.shape[i]
        hit = None
        for sn, s in scales[:8]:
            for zn, z in sizes:
                x = z * s
                fa = [name for name, f in _ROUNDERS if f(np.float64(x)) == want_a]
                fb = [name for name, f in _ROUNDERS if f(np.float64(x)) == want_b]
                if fa and fb:
                    hit = (sn, s, zn, z, x, fa[0], fb[0])
                    break
            if hit:
                break
        found.append((i, want_a, want_b, hit))
    if a.ndim == 2 and a.shape[1] <= 16 and diff == [0]:
        return  # records (boxes, points) one more or fewer: a selection, not a size (see row-set)
    if not any(h for *_, h in found) and not (a.ndim >= 2 and min(a.shape) > 16):
        return
    parts = []
    for i, wa, wb, hit in found:
        axis = axis_names.get(i, f"axis {i}") if a.ndim >= 2 else "values"
        if hit is None:
            parts.append(f"{wb} {axis} where the reference has {wa}: a size computed with another rounding "
                         f"(floor vs ceil, int() truncation) or an off-by-one bound")
        else:
            sn, s, zn, z, x, fa, fb = hit
            parts.append(f"{wb} {axis} = {fb}({z} × {s:.6g}) where the reference takes {fa}({z} × {s:.6g}) = {wa} "
                         f"({z} from {zn}, {s:.6g} from {sn})")
    title = ("size off by one: " + ("another rounding of a scaled size" if any(h for *_, h in found)
                                    else "one more or one fewer " + ("row" if diff == [0] else "element")))
    yield Hypothesis("size-off-by-one", title, "; ".join(parts), "# fix the port's size arithmetic", 0.0)


def rounding_modes(a, b, tol, ctx):
    """B is A rounded to integers half to even where the reference rounds half away from zero, or the
    other way (NumPy's round and cv::Rect's cvRound vs C's round): only the halves tell them apart.
    (floor, ceil and trunc are transforms.py's `rounding`.)"""
    if a.shape != b.shape or a.size < 2 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    fa, fb = f64(a), f64(b)
    if np.array_equal(fa, fb):
        return
    for x, y, who in ((fa, fb, "B is A"), (fb, fa, "A is B")):
        if not np.all(np.isfinite(y)) or not np.array_equal(y, np.round(y)) or np.array_equal(x, np.round(x)):
            continue  # the rounded side holds integers, the other does not
        if any(np.array_equal(f(x), y) for name, f in _ROUNDERS[:3]):
            return  # floor, ceil or trunc: named by _rounding
        halves = int(np.sum(np.abs(x - np.trunc(x)) == 0.5))
        for name, f in _ROUNDERS[3:]:
            if np.array_equal(f(x), y):
                other = _ROUNDERS[4][0] if name == _ROUNDERS[3][0] else _ROUNDERS[3][0]
                yield Hypothesis("rounding", f"{who} after {name}, not {other}",
                                 f"{who} = {name}(the other); the {halves} value(s) that end in .5 are where the two "
                                 "rules differ", "round = 0" if who == "A is B" and name == _ROUNDERS[3][0]
                                 else f"# round {other} as the reference does", 0.0)
                return


def box_coefficients(a, b, tol, ctx):
    """Boxes (N, 4) whose per-row offset is proportional to each box's width or height: a coefficient
    (a calibration, a regression step) differs; reports the fitted coefficients per column."""
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 4 or a.shape[0] < 2 or a.dtype.kind != "f":
        return
    fa, fb = f64(a), f64(b)
    d = fb - fa
    w, h = fa[:, 2], fa[:, 3]
    if np.ptp(w) < 1e-6 * max(1.0, np.abs(w).max()) and np.ptp(h) < 1e-6 * max(1.0, np.abs(h).max()):
        return  # all boxes of one size: a coefficient and a constant offset cannot be told apart
    coeffs, pred = [], np.empty_like(d)
    for c, size in zip(range(4), (w, h, w, h)):
        den = float(size @ size)
        k = float(size @ d[:, c]) / den if den else 0.0
        coeffs.append(k)
        pred[:, c] = fa[:, c] + k * size
    if all(abs(k) < 1e-9 for k in coeffs):
        return
    r = explains(pred, b, tol)
    if r is None:
        return
    names = ("x", "y", "w", "h")
    shown = ", ".join(f"{n} {'+' if k >= 0 else '−'} {abs(k):.6g}·{'w' if n in 'xw' else 'h'}"
                      for n, k in zip(names, coeffs) if abs(k) > 1e-12)
    yield Hypothesis("coefficients", "coefficients differ: the offset of each box grows with its size",
                     f"B = A with {shown} (B − A proportional to the box's width / height, not constant): a "
                     "calibration or regression coefficient differs from the reference's", "# compare the port's "
                     "coefficients with the reference's", r)


def similarity(a, b, tol, ctx):
    """2×2 similarity transforms ``[[s·cos θ, −s·sin θ], [s·sin θ, s·cos θ]]`` on both sides: say how their
    scale and rotation differ (a transform estimated from other points, or in another precision)."""
    if a.shape != (2, 2) or b.shape != (2, 2) or a.dtype.kind != "f" or b.dtype.kind != "f":
        return
    out = []
    for m in (f64(a), f64(b)):
        if not (abs(m[0, 0] - m[1, 1]) <= 1e-3 * abs(m[0, 0]) + 1e-9 and abs(m[0, 1] + m[1, 0]) <= 1e-3 * abs(m[0, 0]) + 1e-9):
            return
        out.append((math.hypot(m[0, 0], m[1, 0]), math.degrees(math.atan2(m[1, 0], m[0, 0]))))
    (sa, ra), (sb, rb) = out
    yield Hypothesis("similarity", f"similarity transforms differ: scale {sb / sa:.6g} × the reference's, rotation "
                     f"{rb - ra:+.4g}°", f"A: scale {sa:.7g}, rotation {ra:.5g}°; B: scale {sb:.7g}, rotation {rb:.5g}° "
                     "(estimated from other points, or in another precision)", "# compare the shapes the port aligns",
                     0.0)


def _runs(ix: list[int]) -> str:
    """[3, 4, 5, 9] -> '3–5, 9'."""
    out, start = [], None
    for i, v in enumerate(ix):
        if start is None:
            start = v
        if i + 1 == len(ix) or ix[i + 1] != v + 1:
            out.append(f"{start}–{v}" if v > start else str(v))
            start = None
    return ", ".join(out[:8]) + (", …" if len(out) > 8 else "")


def _over(a, b, tol) -> tuple[np.ndarray, np.ndarray]:
    """|B − A| and where it is over the stage's tolerance."""
    fa, fb = f64(a), f64(b)
    d = np.abs(fb - fa)
    limit = tol.atol + max(tol.rtol, 0.0) * np.abs(fa)
    if tol.ulps:
        limit = np.maximum(limit, tol.ulps * np.spacing(np.abs(fa).astype(a.dtype if a.dtype.kind == "f" else np.float64)))
    return d, ~(d <= limit)


def localised(a, b, tol, ctx):
    """When nothing else explains a divergence: say where it is, if only some elements differ — which
    landmarks of a stacked landmark vector (and which parts of the face), which named elements (a CLNF
    parameter vector), else which indices along the axes that confine it."""
    from pyparity.diff.hypotheses.clnf import element_names, face_parts

    if a.shape != b.shape or a.size < 4 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    d, over = _over(a, b, tol)
    n_over = int(over.sum())
    if n_over == 0 or n_over > 0.5 * a.size:
        return
    leaf = (ctx.stage or "").rsplit("/", 1)[-1]
    if "stacked" in leaf and a.size % 2 == 0 and (a.ndim == 1 or a.shape[1:] in ((1,),)):
        n = a.size // 2
        lm = sorted({int(i) % n for i in np.flatnonzero(over.reshape(-1))})
        parts = face_parts(lm, n)
        yield Hypothesis("localised", f"only {len(lm)} of {n} points differ: {_runs(lm)}" + (f" ({parts})" if parts else ""),
                         f"{n_over} of {a.size} values over tolerance, all at points {_runs(lm)} (largest "
                         f"{float(d.max()):.3g}); the rest agree", "# look at what the port does to those points", 0.0)
        return
    names = element_names(ctx.stage or "", a.size)
    if names is not None:
        hit = [int(i) for i in np.flatnonzero(over.reshape(-1))]
        flat_a, flat_b = f64(a).reshape(-1), f64(b).reshape(-1)
        shown = "; ".join(f"{names[i]}: {flat_a[i]:.7g} in the reference, {flat_b[i]:.7g} in the port" for i in hit[:6])
        what = "global parameters" if names[0] == "scale" else "parameters"
        yield Hypothesis("localised", f"{n_over} of {a.size} {what} differ: {', '.join(names[i] for i in hit[:6])}"
                         + (" …" if len(hit) > 6 else ""), f"{shown}; the others agree",
                         "# look at what the port computes for those", 0.0)
        return
    where = []
    for axis in range(a.ndim):
        hit = sorted(set(np.nonzero(over)[axis].tolist()))
        if len(hit) < a.shape[axis] and len(hit) <= max(8, a.shape[axis] // 4):
            last = " (the last)" if hit == [a.shape[axis] - 1] else ""
            what = "landmark(s)" if a.shape[axis] == 68 and axis == 0 else "index"
            where.append(f"{what} {_runs(hit)}{last} of axis {axis} (size {a.shape[axis]})")
    yield Hypothesis("localised", f"a few values differ: {n_over} of {a.size}"
                     + (f", at {'; '.join(where)}" if where else ""),
                     f"largest {float(d.max()):.3g} at {[int(i) for i in np.unravel_index(int(np.argmax(np.where(over, d, -1))), a.shape)]}; "
                     "the other values agree", "# look at what the port computes there", 0.0)


def spread(a, b, tol, ctx):
    """When nothing else explains a divergence and it is everywhere: if it is small against the values' range
    (at most 0.1 % of it: a magnitude would call any error in an image coordinate small), say so with its size — the same quantity computed another way (precision, solver, stopping rule),
    not a layout, a convention or another formula."""
    from pyparity.diff.hypotheses.clnf import element_names

    if a.shape != b.shape or a.size < 2 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    d, over = _over(a, b, tol)
    n_over = int(over.sum())
    scale = float(np.ptp(f64(a))) if a.size else 0.0
    if n_over <= 0.5 * a.size or not np.isfinite(d).all() or scale == 0 or float(d.max()) > 1e-3 * scale:
        return
    fa, fb = f64(a).reshape(-1), f64(b).reshape(-1)
    corr = float(np.corrcoef(fa, fb)[0, 1]) if np.ptp(fa) > 0 and np.ptp(fb) > 0 else float("nan")
    names = element_names(ctx.stage or "", a.size)
    what = ("the values" if names is None else "the shape modes (the PDM's local parameters)"
            if names[0] == "shape mode 0" else "the parameters")
    yield Hypothesis(
        "small-everywhere", f"{n_over} of {a.size} of {what} differ a little, up to {float(d.max()):.3g} "
        f"({100 * float(d.max()) / scale:.2g} % of their range)",
        f"no layout, convention, offset, scale or rounding fits; B follows A closely (correlation {corr:.6f}), "
        f"mean |B − A| {float(d.mean()):.3g}: the same quantity computed another way — another precision (float64 "
        "vs float32), another solver or regularisation, another number of iterations or stopping rule",
        "# compare how the port computes this stage with the reference (its precision, its solver)", 0.0)


def rows_differ(a, b, tol, ctx):
    """A few rows (records: boxes, points) differ, each in a few columns — values that moved, not rows
    selected otherwise (rows paired by distance first, for stages compared in any order)."""
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 2 or not 2 <= a.shape[1] <= 16 or a.dtype.kind not in "iuf":
        return  # (N, 1) is a column of numbers (a stacked vector), not records
    from pyparity.diff.compare import pair_rows

    fa = f64(a)
    fb = f64(b) if tol.order != "set" else f64(pair_rows(a, b) if pair_rows(a, b) is not None else b)
    d = np.abs(fb - fa)
    over = ~(d <= tol.atol + max(tol.rtol, 0.0) * np.abs(fa) + (0.0 if not tol.exact else 0.0))
    rows = np.flatnonzero(over.any(axis=1))
    if rows.size == 0 or rows.size > max(1, a.shape[0] // 4) or over[rows].sum(axis=1).max() > max(1, a.shape[1] // 2):
        return
    cols = sorted(set(np.nonzero(over[rows])[1].tolist()))
    delta = (fb - fa)[over]
    ones = bool(np.all(np.abs(np.abs(delta) - 1.0) < 1e-6))
    title = (f"{rows.size} of {a.shape[0]} rows differ, in column(s) {_runs(cols)}"
             + (": by exactly one (an integer cast of a value next to an integer?)" if ones else ""))
    shown = "; ".join(f"row {r}: {fa[r].tolist()} vs {fb[r].tolist()}" for r in rows[:3])
    yield Hypothesis("rows-differ", title, shown + ("; rows paired by distance" if tol.order == "set" else ""),
                     "# look at how the port computes those values (its precision, its rounding)", 0.0)
