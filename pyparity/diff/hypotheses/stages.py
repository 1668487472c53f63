"""Cross-stage hypotheses, which look at the reference's other stages: a 0/1 decision that flipped (with
the margin recorded beside it), values that belong to an earlier stage (a stale input), and landmarks
denormalised with another box. `rows_of` finds the earlier arrays with a given number of rows, also
through recorded keep-lists (the NMS hypotheses use it too)."""

from __future__ import annotations

import itertools

import numpy as np

from pyparity.diff.hypothesis import Hypothesis, explains, f64
from pyparity.diff.policy import Tolerance


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


def decision_flip(a, b, tol, ctx):
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


def stale(a, b, tol, ctx):
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
        r = explains(oa, b, tol)
        if r is not None:
            yield Hypothesis("stale-values", f"values of another stage: B equals A's {other!r}",
                             f"B's {ctx.stage!r} equals the reference's earlier stage {other!r} "
                             "(a stale or wrong input, or a missing update step)", f"# compare with {other}", r)
            return


def rows_of(ref, names, length: int, want: str, max_out: int = 24):
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


def landmark_box(a, b, tol, ctx):
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
        u, v = f64(u), f64(v)
        um, vm = u.mean(axis=1, keepdims=True), v.mean(axis=1, keepdims=True)
        den = ((u - um) ** 2).sum(axis=1)
        if np.any(den == 0):
            return
        s = ((u - um) * (v - vm)).sum(axis=1) / den
        t = vm[:, 0] - s * um[:, 0]
        fits.append((s, t))
    (sx, tx), (sy, ty) = fits
    pred = np.empty_like(f64(a))
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
    r = explains(pred, b, loose)
    if r is None:
        return
    detail = f"each row of B is an affine image of A's row {layout}: the same normalised landmarks mapped through another box"
    title = "landmarks denormalised with another box"
    ref = ctx.reference
    if ref is not None:
        names = [n for n in ctx.earlier if "box" in n.rsplit("/", 1)[-1] or ref.info(n).dtype.startswith(("int", "uint"))]
        candidates = dict(rows_of(ref, names, a.shape[0], "boxes", max_out=12))
        for rn, cn in itertools.permutations(candidates, 2):
            R, C = f64(candidates[rn]), f64(candidates[cn])
            with np.errstate(divide="ignore", invalid="ignore"):
                ex_sx, ex_sy = C[:, 2] / R[:, 2], C[:, 3] / R[:, 3]
                ex_tx, ex_ty = C[:, 0] - ex_sx * R[:, 0], C[:, 1] - ex_sy * R[:, 1]
            if (np.allclose(ex_sx, sx, rtol=1e-4, atol=1e-6) and np.allclose(ex_sy, sy, rtol=1e-4, atol=1e-6)
                    and np.allclose(ex_tx, tx, atol=1e-2) and np.allclose(ex_ty, ty, atol=1e-2)):
                title = f"landmarks denormalised with {cn} instead of {rn}"
                detail += f"; B used {cn!r} where the reference used {rn!r}"
                break
    yield Hypothesis("landmark-box", title, detail, "# fix the port: denormalise with the reference's box", r)
