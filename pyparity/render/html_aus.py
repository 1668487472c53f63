"""The action-unit section of the HTML report: per face (`faceNN/au/...`), the two aligned faces and
their difference, the two HOGs as orientation glyphs and their difference per cell and feature, and the
AU intensities of both sides as a bar chart with the presence decisions.

Everything is inline (PNG data URIs, SVG); it shows only when a trace holds `faceNN/au/` stages. This
module computes the section's figures and chart; `templates/report.html.j2` lays them out.
"""

from __future__ import annotations

import math
import re

import numpy as np

from pyparity.render.charts import bar_chart
from pyparity.render.html_images import A_COLOUR, B_COLOUR, b64_image as _b64_image, get_stage as _get, heat_png

_FACE = re.compile(r"^(face\d+)/au/")
HOG_FEATURES = 31


def au_faces(reference, candidate) -> list[str]:
    """The `faceNN` prefixes with AU stages on either side, in order."""
    seen: list[str] = []
    for t in (reference, candidate):
        for n in (t.names if t is not None else ()):
            m = _FACE.match(n)
            if m and m.group(1) not in seen:
                seen.append(m.group(1))
    return sorted(seen)


def _names(trace, key: str, n: int) -> list[str]:
    names = ((getattr(trace, "meta", None) or {}).get("parameters") or {}).get(key)
    return list(names) if isinstance(names, list) and len(names) == n else [f"#{i}" for i in range(n)]


def _img_figure(img: np.ndarray, caption: str, scale: int = 2) -> dict:
    import cv2

    big = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    return {"uri": _b64_image(big, ".png"), "label": caption, "caption": caption, "max_width": None}


def _heat_figure(m: np.ndarray, caption: str) -> dict:
    uri, lo, hi = heat_png(m, max_px=224)
    return {"uri": uri, "label": caption, "caption": f"{caption}: {lo:.3g} .. {hi:.3g}", "max_width": 224}


def hog_grid(descriptor: np.ndarray, rows: int, cols: int) -> np.ndarray | None:
    """A HOG descriptor (rows·cols·31 values, Extract_FHOG_descriptor's order) as (rows, cols, 31)."""
    d = np.asarray(descriptor, dtype=np.float64).reshape(-1)
    if rows * cols * HOG_FEATURES != d.size:
        return None
    return d.reshape(rows, cols, HOG_FEATURES)


def hog_glyphs(hog: np.ndarray, cell_px: int = 16) -> np.ndarray:
    """dlib's draw_fhog idea: each cell a star of bars, one per contrast-insensitive orientation (features
    18..26), drawn along the edge direction (perpendicular to the gradient) with brightness ∝ the value.
    (rows·cell_px, cols·cell_px) uint8."""
    import cv2

    rows, cols = hog.shape[:2]
    canvas = np.zeros((rows * cell_px, cols * cell_px), np.float32)
    top = float(np.max(hog[:, :, 18:27])) or 1.0
    half = cell_px / 2 - 1
    for o in range(9):
        theta = o * math.pi / 9 + math.pi / 2
        dx, dy = half * math.cos(theta), half * math.sin(theta)
        bar = np.zeros_like(canvas)
        for r in range(rows):
            for c in range(cols):
                v = float(hog[r, c, 18 + o]) / top
                if v <= 0:
                    continue
                cx, cy = c * cell_px + cell_px / 2, r * cell_px + cell_px / 2
                cv2.line(bar, (int(round(cx - dx)), int(round(cy - dy))), (int(round(cx + dx)), int(round(cy + dy))),
                         v, 1, cv2.LINE_AA)
        canvas = np.maximum(canvas, bar)
    return np.clip(canvas * 255.0, 0, 255).astype(np.uint8)


def hog_feature_map(hog: np.ndarray) -> np.ndarray:
    """(rows, cols, 31) as one 2-D map: each cell a 6×6 block of its 31 features (row-major), NaN in the
    5 unused places and in a 1-pixel gutter between cells."""
    rows, cols = hog.shape[:2]
    out = np.full((rows * 7 - 1, cols * 7 - 1), np.nan)
    block = np.full(36, np.nan)
    for r in range(rows):
        for c in range(cols):
            block[:HOG_FEATURES] = hog[r, c]
            out[r * 7:r * 7 + 6, c * 7:c * 7 + 6] = block.reshape(6, 6)
    return out


def intensity_chart(names: list[str], a: np.ndarray | None, b: np.ndarray | None, present_a=None, present_b=None,
                    present_names: list[str] | None = None, margins=None) -> dict:
    """The bar chart's data: per AU, A's and B's intensity (0..5); a dot above a bar marks the AU as
    present on that side (class/output, matched to the intensities by name), with B's SVM margin in
    its tooltip."""
    pidx = {nm: i for i, nm in enumerate(present_names or [])}

    def by_name(values):
        if values is None:
            return None
        return [float(values[pidx[nm]]) if nm in pidx and pidx[nm] < len(values) else None for nm in names]

    return bar_chart(names, [("A", A_COLOUR, a, by_name(present_a), None),
                             ("B", B_COLOUR, b, by_name(present_b), by_name(margins))],
                     "AU intensities (AUxx_r; a dot: present, AUxx_c = 1)", top=5.0, suffix="_r",
                     margin_label="SVM margin")


def _face_block(face: str, reference, candidate) -> dict:
    p = f"{face}/au/"
    out = {"name": face, "faces": [], "hogs": [], "chart": None}
    fa, fb = _get(reference, p + "align/face"), _get(candidate, p + "align/face")
    out["faces"] = [_img_figure(f, f"{side} aligned face") for side, f in (("A", fa), ("B", fb)) if f is not None]
    if fa is not None and fb is not None and fa.shape == fb.shape:
        diff = np.abs(fb.astype(np.int16) - fa.astype(np.int16))
        diff = diff.max(axis=-1) if fa.ndim == 3 else diff
        out["faces"].append(_heat_figure(diff.astype(np.float64), "|B - A| (largest over channels)"))
    grids = {}
    for side, t in (("A", reference), ("B", candidate)):
        d = _get(t, p + "hog/descriptor")
        rows, cols = _get(t, p + "hog/num_rows"), _get(t, p + "hog/num_cols")
        if d is not None and rows is not None and cols is not None:
            g = hog_grid(d, int(rows), int(cols))
            if g is not None:
                grids[side] = g
    out["hogs"] = [_img_figure(hog_glyphs(g), f"{side} HOG (orientation glyphs)", scale=1) for side, g in grids.items()]
    if len(grids) == 2 and grids["A"].shape == grids["B"].shape:
        err = np.abs(grids["B"] - grids["A"])
        out["hogs"].append(_heat_figure(hog_feature_map(err), "HOG |B - A| per cell (6×6 block: the 31 features)"))
        out["hogs"].append(_heat_figure(err.max(axis=-1), "HOG |B - A|, largest per cell"))
    ra, rb = _get(reference, p + "reg/output"), _get(candidate, p + "reg/output")
    if ra is not None or rb is not None:
        t = reference if ra is not None else candidate
        n = len(ra if ra is not None else rb)
        ca, cb = _get(reference, p + "class/output"), _get(candidate, p + "class/output")
        pn = _names(candidate if cb is not None else reference, "au_class_names", len(cb if cb is not None else ca)) \
            if (ca is not None or cb is not None) else None
        out["chart"] = intensity_chart(_names(t, "au_reg_names", n), ra, rb, ca, cb, pn,
                                       _get(candidate, p + "class/margin"))
    return out


def au_section(reference, candidate, limit: int = 8) -> dict | None:
    """The AU section's data (faces, at most ``limit``, and how many more), or None when neither trace
    holds `faceNN/au/` stages."""
    faces = au_faces(reference, candidate)
    if not faces:
        return None
    return {"faces": [_face_block(f, reference, candidate) for f in faces[:limit]],
            "more": max(0, len(faces) - limit)}
