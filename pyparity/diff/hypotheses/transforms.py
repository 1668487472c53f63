"""Hypotheses that B is A through one fixed elementwise conversion: a constant or per-column offset
(off by one pixel, half-pixel centres), a uniform scale, a sign flip, xywh vs xyxy boxes, or rounding
to a number of decimals (or floor, trunc, ceil)."""

from __future__ import annotations

import numpy as np

from pyparity.conventions.boxes import xywh_to_xyxy, xyxy_to_xywh
from pyparity.diff.hypothesis import Hypothesis, explains, f64


def _label_offset(c: np.ndarray) -> str:
    nz = np.abs(c[c != 0])
    if nz.size and np.allclose(nz, 1.0):
        return "off by one pixel (e.g. a crop at (x, y) where the reference takes (x-1, y-1))"
    if nz.size and np.allclose(nz, 0.5):
        return "half-pixel offset (pixel-centre vs pixel-corner convention)"
    return "constant offset"


def offset(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    d = f64(b) - f64(a)
    finite = np.isfinite(d)
    if not finite.any():
        return
    c = float(np.median(d[finite]))
    if c != 0:
        r = explains(f64(a) + c, b, tol)
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
            r = explains(f64(a) + cols, b, tol)
            if r is not None:
                vec = ", ".join(f"{v:g}" for v in cols)
                yield Hypothesis("offset", _label_offset(cols), f"B = A + [{vec}] per column",
                                 f"offset = [{', '.join(f'{-v:g}' for v in cols)}]", r)


def scale(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    fa, fb = f64(a).reshape(-1), f64(b).reshape(-1)
    m = np.isfinite(fa) & np.isfinite(fb)
    den = float(np.dot(fa[m], fa[m]))
    if den == 0:
        return
    s = float(np.dot(fa[m], fb[m])) / den
    if s == 1.0 or s == -1.0 or s == 0.0 or not np.isfinite(s):
        return
    r = explains(f64(a) * s, b, tol)
    if r is not None:
        yield Hypothesis("scale", "uniform scale factor", f"B = {s:.6g} × A", f"scale = {1 / s:.9g}", r)


def sign(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "if":
        return
    r = explains(-f64(a), b, tol)
    if r is not None:
        yield Hypothesis("sign", "sign flip", "B = -A", "scale = -1", r)


def boxes(a, b, tol, ctx):
    if a.shape != b.shape or a.ndim == 0 or a.shape[-1] != 4 or a.dtype.kind != "f":
        return
    r = explains(xywh_to_xyxy(a), b, tol)
    if r is not None:
        yield Hypothesis("xyxy", "boxes as [x1, y1, x2, y2] where the reference has [x, y, w, h]",
                         "B = xywh_to_xyxy(A)", "boxes = \"xyxy_to_xywh\"", r)
        return
    r = explains(xyxy_to_xywh(a), b, tol)
    if r is not None:
        yield Hypothesis("xywh", "boxes as [x, y, w, h] where the reference has [x1, y1, x2, y2]",
                         "B = xyxy_to_xywh(A)", "boxes = \"xywh_to_xyxy\"", r)



def rounding(a, b, tol, ctx):
    if a.shape != b.shape or a.size == 0 or a.dtype.kind not in "iuf" or b.dtype.kind not in "iuf":
        return
    fa, fb = f64(a), f64(b)
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
