"""Camera intrinsics after a crop or a resize, built on `pyparity.conventions.intrinsics`: the focal
length not scaled with the image, the principal point not shifted by a crop, the principal point
scaled without (or with an extra) half-pixel shift.

Applies to a 3×3 camera matrix ``[[fx, 0, cx], [0, fy, cy], [0, 0, 1]]`` or a 4-vector ``(fx, fy, cx,
cy)`` whose name says camera (camera, intrinsics, K). A resize by ``s`` gives ``fx' = s·fx`` and
``cx' = s·(cx + 0.5) − 0.5`` (OpenCV pixel centres); a crop at ``(x0, y0)`` gives ``cx' = cx − x0``.
"""

from __future__ import annotations

import re

import numpy as np

from pyparity.conventions.intrinsics import camera_matrix, resize_intrinsics
from pyparity.diff.hypothesis import Hypothesis

_NAME = re.compile(r"(^|[/_])(camera\w*|intrinsics?\w*|k|cam_?matrix|calib\w*)($|[/_])", re.IGNORECASE)


def _params(x: np.ndarray):
    """(fx, fy, cx, cy) of a camera matrix or a 4-vector, else None."""
    x = np.asarray(x, np.float64)
    if x.shape == (3, 3):
        if not (np.allclose(x[2], [0, 0, 1]) and x[1, 0] == 0 and abs(x[0, 1]) < 1e-9 * max(1.0, abs(x[0, 0]))):
            return None
        return x[0, 0], x[1, 1], x[0, 2], x[1, 2]
    if x.shape in ((4,), (4, 1)):
        return tuple(x.reshape(-1))
    return None


def _close(u: float, v: float, tol) -> bool:
    return abs(u - v) <= max(tol.atol, 1e-9) + max(tol.rtol, 1e-7) * abs(u)


def _crop_box(ctx, dx: float, dy: float) -> str | None:
    """An earlier reference stage holding a box whose top-left is (dx, dy): the crop the port forgot."""
    ref = ctx.reference
    if ref is None:
        return None
    for n in reversed(ctx.earlier):
        info = ref.info(n)
        if not info.dtype.startswith(("float", "int")) or info.size > 4000 or not info.shape or info.shape[-1] != 4:
            continue
        rows = np.asarray(ref[n], np.float64).reshape(-1, 4)
        if np.any(np.all(np.abs(rows[:, :2] - [dx, dy]) <= 0.51, axis=1)):
            return n
    return None


def intrinsics(a, b, tol, ctx):
    if a.shape != b.shape or a.dtype.kind != "f" or not (a.shape == (3, 3) or _NAME.search(ctx.stage or "")):
        return
    pa, pb = _params(a), _params(b)
    if pa is None or pb is None or not all(np.isfinite(pa + pb)):
        return
    fxa, fya, cxa, cya = pa
    fxb, fyb, cxb, cyb = pb
    same_f = _close(fxa, fxb, tol) and _close(fya, fyb, tol)
    same_c = _close(cxa, cxb, tol) and _close(cya, cyb, tol)
    if same_f and same_c or 0 in (fxa, fya):
        return
    if same_c and not same_f:
        rx, ry = fxb / fxa, fyb / fya
        yield Hypothesis("intrinsics", "camera intrinsics: the focal length not scaled with the resized image",
                         f"the principal point agrees, the focal length is A's × {rx:.6g} (x), × {ry:.6g} (y): the "
                         f"port resized the image by {1 / rx:.6g} × {1 / ry:.6g} and kept the original focal "
                         "(fx' = s·fx)" if abs(rx - 1) > 1e-9 else "the focal lengths differ",
                         "# scale fx, fy with the image (conventions.intrinsics.resize_intrinsics)", 0.0,
                         fix_kind="")
        return
    if not same_f:
        return
    dx, dy = cxb - cxa, cyb - cya
    # s·cx where the reference has s·(cx + 0.5) − 0.5: B − A = 0.5 − 0.5·s, the same on both axes for one s;
    # s is known from the focal once the reference scaled it, so try the input's size first
    scales = _scales(ctx, fxa)
    if _close(dx, dy, tol) and abs(dx) < 0.5:
        scales.append(1 - 2 * dx if dx > 0 else 1 + 2 * dx)  # the resize the offsets imply
    for s in scales:
        if s <= 0:
            continue
        # both sides resized the same camera by s, about pixel centres (A) or pixel corners (B), or the other way
        if _resized_both_ways(pa, pb, s, ("centre", "corner"), tol):
            yield Hypothesis("intrinsics", "camera intrinsics: the principal point scaled without the half-pixel shift",
                             f"B = s·c where the reference has s·(c + 0.5) − 0.5 (OpenCV pixel centres), s = {s:.6g}: "
                             f"B − A = {dx:.6g}, {dy:.6g}", "# scale the principal point about pixel centres "
                             "(conventions.intrinsics.resize_intrinsics, align='centre')", 0.0)
            return
        if _resized_both_ways(pa, pb, s, ("corner", "centre"), tol):
            yield Hypothesis("intrinsics", "camera intrinsics: a half-pixel shift the reference does not make",
                             f"B = s·(c + 0.5) − 0.5 where the reference has s·c (pixel corners), s = {s:.6g}",
                             "# scale the principal point as the reference does (align='corner')", 0.0)
            return
    if abs(abs(dx) - 0.5) < 1e-6 and abs(abs(dy) - 0.5) < 1e-6:
        yield Hypothesis("intrinsics", "camera intrinsics: the principal point half a pixel off",
                         f"B − A = ({dx:g}, {dy:g}): pixel centre vs pixel corner (cx = w/2 vs (w − 1)/2)",
                         "# use the reference's pixel convention for the principal point", 0.0)
        return
    crop = _crop_box(ctx, dx, dy)
    what = f"the crop at ({dx:g}, {dy:g}) recorded in {crop}" if crop else f"a crop or padding of ({dx:g}, {dy:g})"
    yield Hypothesis("intrinsics", "camera intrinsics: the principal point not shifted by the crop",
                     f"the focal length agrees, the principal point is A's + ({dx:g}, {dy:g}): B keeps the "
                     f"uncropped image's principal point where the reference moved it by {what} (cx' = cx − x0)",
                     "# shift the principal point by the crop (conventions.intrinsics.crop_intrinsics)", 0.0)


def _resized_both_ways(pa, pb, s: float, aligns: tuple[str, str], tol) -> bool:
    """Whether A is a camera resized by ``s`` with ``aligns[0]`` and B the same camera resized with
    ``aligns[1]`` (`conventions.intrinsics.resize_intrinsics`; the camera is A's, undone)."""
    k_orig = resize_intrinsics(camera_matrix(*pa), 1 / s, align=aligns[0])
    predicted = resize_intrinsics(k_orig, s, align=aligns[1])
    return all(_close(u, v, tol) for u, v in zip(_params(predicted), pb))


def _scales(ctx, fx: float) -> list[float]:
    """Candidate resize factors: 2·(dx) from the offsets is underdetermined, so use what the reference
    says — a ``scale`` stage nearby, or its input's size against the principal point."""
    out = []
    ref = ctx.reference
    if ref is not None:
        for n in reversed(ctx.earlier):
            info = ref.info(n)
            if info.size == 1 and info.dtype.startswith("float") and "scale" in n.rsplit("/", 1)[-1]:
                out.append(float(np.asarray(ref[n]).reshape(-1)[0]))
    return out[:8]
