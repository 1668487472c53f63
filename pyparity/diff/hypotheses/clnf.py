"""CLNF's KDE mean-shift: a port that evaluates the Gaussian kernel at each landmark's exact offset in
its response window, where OpenFace (``CLNF::NonVectorisedMeanShift_precalc_kde``) looks it up in a
table precomputed on a 0.1-pixel grid — the offset is snapped to the nearest grid point. Identical
when the offset is on the grid (the window centre, at a scale's first iteration), up to about a
tenth of a pixel after that.

The hypothesis recomputes the stage from the reference's own inputs of that iteration (the offsets
``dxs``/``dys``, the scale's ``responses``, ``sigma`` and ``sim_ref_to_img``) both ways, in float64:
the grid must reproduce A, the exact offsets B.
"""

from __future__ import annotations

import re

import numpy as np

from pyparity.diff.hypothesis import Hypothesis

#: The 68-point markup (iBUG 300-W, OpenFace's landmarks): its parts, by point index.
FACE_68_PARTS = (("jaw", range(0, 17)), ("eyebrows", range(17, 27)), ("nose", range(27, 36)),
                 ("eyes", range(36, 48)), ("mouth", range(48, 68)))

#: OpenFace's PDM global parameters (`PDM::CalcShape2D`): scale, Euler rotation (radians), 2-D translation.
PARAMS_GLOBAL_NAMES = ("scale", "rotation x (pitch)", "rotation y (yaw)", "rotation z (roll)", "translation x",
                       "translation y")


def face_parts(points: list[int], n: int) -> str:
    """``[36, ..., 47]`` of 68 -> ``"the eyes: all 12 of their points"``; "" when not 68 points."""
    if n != 68 or not points:
        return ""
    out = []
    for name, idx in FACE_68_PARTS:
        hit = [p for p in points if p in idx]
        if hit:
            out.append(f"the {name}: all {len(idx)} of their points" if len(hit) == len(idx)
                       else f"{len(hit)} of the {len(idx)} points of the {name}")
    return "; ".join(out)


def element_names(stage: str, n: int) -> list[str] | None:
    """Names of a CLNF parameter vector's elements by its stage name (``.../params_global``: the six
    global parameters; ``.../params_local``: the PDM's shape modes), else None."""
    leaf = stage.rsplit("/", 1)[-1]
    if leaf == "params_global" and n == len(PARAMS_GLOBAL_NAMES):
        return list(PARAMS_GLOBAL_NAMES)
    if leaf == "params_local" and n > 0:
        return [f"shape mode {i}" for i in range(n)]
    return None

_STAGE = re.compile(r"^(?P<scale>.*/s\d+)/(?P<phase>rigid|nonrigid)/it(?P<it>\d+)/mean_shifts(?P<ref>_ref)?_stacked$")


def kde_mean_shifts(responses: np.ndarray, dxs: np.ndarray, dys: np.ndarray, sigma: float, grid: bool) -> np.ndarray:
    """Mean-shifts in the reference frame, stacked (2n,): the KDE evaluated at the offsets snapped to the
    0.1-px grid (``grid``, as OpenFace) or at the offsets themselves. Invisible landmarks (all-zero
    responses) give zeros."""
    resp = np.asarray(responses, np.float64)
    n, ws = resp.shape[0], resp.shape[1]
    lim = ws - 0.1
    dx = np.clip(np.asarray(dxs, np.float64).reshape(-1), 0.0, lim)
    dy = np.clip(np.asarray(dys, np.float64).reshape(-1), 0.0, lim)
    gx = np.floor(dx / 0.1 + 0.5) * 0.1 if grid else dx
    gy = np.floor(dy / 0.1 + 0.5) * 0.1 if grid else dy
    jj = np.arange(ws, dtype=np.float64)
    a = -0.5 / (float(sigma) ** 2)
    k = np.exp(a * ((gy[:, None, None] - jj[None, :, None]) ** 2 + (gx[:, None, None] - jj[None, None, :]) ** 2))
    v = resp * k
    s = v.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (v * jj[None, None, :]).sum(axis=(1, 2)) / s - dx
        my = (v * jj[None, :, None]).sum(axis=(1, 2)) / s - dy
    visible = np.abs(resp).reshape(n, -1).sum(axis=1) > 0
    mx[~visible] = 0.0
    my[~visible] = 0.0
    return np.concatenate([mx, my])


def _to_image(ms_ref: np.ndarray, sim: np.ndarray) -> np.ndarray:
    n = ms_ref.size // 2
    x, y = ms_ref[:n], ms_ref[n:]
    return np.concatenate([x * sim[0, 0] + y * sim[0, 1], x * sim[1, 0] + y * sim[1, 1]])


def mean_shift_grid(a, b, tol, ctx):
    m = _STAGE.match(ctx.stage or "")
    ref = ctx.reference
    if m is None or ref is None or a.size != b.size or a.size < 4:
        return
    scale, it_scope = m.group("scale"), ctx.stage.rsplit("/", 1)[0]
    need = {"dxs": f"{it_scope}/dxs", "dys": f"{it_scope}/dys", "responses": f"{scale}/responses",
            "sigma": f"{scale}/sigma", "sim": f"{scale}/sim_ref_to_img"}
    if not all(n in ref for n in need.values()):
        return
    resp = np.asarray(ref[need["responses"]], np.float64)
    if resp.ndim != 3 or resp.shape[0] * 2 != a.size:
        return
    sigma = float(np.asarray(ref[need["sigma"]]).reshape(-1)[0])
    sim = np.asarray(ref[need["sim"]], np.float64).reshape(2, 2)
    out = []
    for grid in (True, False):
        ms = kde_mean_shifts(resp, ref[need["dxs"]], ref[need["dys"]], sigma, grid)
        out.append(ms if m.group("ref") else _to_image(ms, sim))
    on_grid, exact = out
    fa, fb = np.asarray(a, np.float64).reshape(-1), np.asarray(b, np.float64).reshape(-1)
    gap = float(np.max(np.abs(fb - fa)))
    if gap == 0 or not (np.isfinite(on_grid).all() and np.isfinite(exact).all()):
        return
    err_grid_a = float(np.max(np.abs(on_grid - fa)))   # the grid reproduces the reference ...
    err_exact_b = float(np.max(np.abs(exact - fb)))    # ... the exact offsets the port
    err_exact_a = float(np.max(np.abs(exact - fa)))
    noise = max(1e-4, 1e-3 * float(np.max(np.abs(fa))))
    if err_grid_a <= noise and err_exact_b <= max(noise, 0.1 * gap) and err_exact_a > 2 * err_exact_b:
        yield Hypothesis(
            "kde-grid", "mean-shift KDE at the exact offsets, where the reference snaps them to a 0.1-px grid",
            f"recomputed from the reference's own dxs, dys, responses and sigma = {sigma:g}: with the offsets "
            f"rounded to the 0.1-px grid (OpenFace's NonVectorisedMeanShift_precalc_kde table) it gives A (max "
            f"{err_grid_a:.2g}), with the exact offsets it gives B (max {err_exact_b:.2g}, where B − A is up to "
            f"{gap:.3g})", "# evaluate the kernel at the nearest 0.1-px grid point as OpenFace does", err_exact_b)


def mean_shift_similarity(a, b, tol, ctx):
    """Mean-shifts in the image frame that are the reference's mapped through another similarity transform:
    the port took its own ``sim_ref_to_img`` of that scale (which differs from the reference's) to bring the
    mean-shifts from the reference frame to the image — the difference is inherited from there, not made by
    the KDE. Checked: the reference's shifts, taken back to the reference frame with its own transform and
    out again with the port's, give B."""
    m = _STAGE.match(ctx.stage or "")
    ref, cand = ctx.reference, ctx.candidate
    if m is None or m.group("ref") or ref is None or cand is None or a.size != b.size or a.size < 4 or a.size % 2:
        return
    sim_name = f"{m.group('scale')}/sim_ref_to_img"
    if sim_name not in ref or sim_name not in cand:
        return
    sa = np.asarray(ref[sim_name], np.float64).reshape(2, 2)
    sb = np.asarray(cand[sim_name], np.float64).reshape(2, 2)
    if np.array_equal(sa, sb) or abs(np.linalg.det(sa)) < 1e-12:
        return
    fa = np.asarray(a, np.float64).reshape(-1)
    n = fa.size // 2
    in_ref_frame = np.linalg.solve(sa, np.stack([fa[:n], fa[n:]]))
    predicted = (sb @ in_ref_frame).reshape(-1)
    fb = np.asarray(b, np.float64).reshape(-1)
    gap = float(np.max(np.abs(fb - fa)))
    err = float(np.max(np.abs(predicted - fb)))
    if gap == 0 or err > max(1e-4, 0.05 * gap):
        return
    scale = float(np.sqrt(abs(np.linalg.det(sb)) / abs(np.linalg.det(sa))))
    rot = float(np.degrees(np.arctan2(sb[1, 0], sb[0, 0]) - np.arctan2(sa[1, 0], sa[0, 0])))
    yield Hypothesis(
        "sim-inherited", f"mean-shifts mapped with the port's own similarity transform {sim_name} (scale {scale:.6g} × "
        f"the reference's, rotation {rot:+.4g}°)",
        f"the reference's mean-shifts, taken to the reference frame with its sim_ref_to_img and back with the "
        f"port's, give B (max {err:.2g}, where B − A is up to {gap:.3g}): the difference is inherited from "
        f"{sim_name}, which the port uses here as well", f"# the cause is at {sim_name}", err)
