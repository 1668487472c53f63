"""The action-unit section of the HTML report: per face (`faceNN/au/...`), the two aligned faces and
their difference, the two HOGs as orientation glyphs and their difference per cell and feature, and the
AU intensities of both sides as a bar chart with the presence decisions.

Everything is inline (PNG data URIs, SVG); it shows only when a trace holds `faceNN/au/` stages.
"""

from __future__ import annotations

import math
import re

import numpy as np

from pyparity.render.escape import html_text as escape
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


def _img_tag(img: np.ndarray, caption: str, scale: int = 2) -> str:
    import cv2

    big = cv2.resize(img, (img.shape[1] * scale, img.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    return (f'<figure><img src="{_b64_image(big, ".png")}" alt="{escape(caption)}" style="image-rendering:pixelated">'
            f"<figcaption>{escape(caption)}</figcaption></figure>")


def _heat_tag(m: np.ndarray, caption: str) -> str:
    uri, lo, hi = heat_png(m, max_px=224)
    return (f'<figure><img src="{uri}" alt="{escape(caption)}" style="image-rendering:pixelated;max-width:224px">'
            f"<figcaption>{escape(caption)}: {lo:.3g} .. {hi:.3g}</figcaption></figure>")


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
                    present_names: list[str] | None = None, margins=None, width: int = 760, height: int = 240) -> str:
    """Inline SVG: per AU, A's and B's intensity (0..5) as two bars; a dot above a bar marks the AU as
    present on that side (class/output), with B's SVM margin in its tooltip."""
    ml, mr, mt, mb = 34, 10, 26, 34
    pw, ph = width - ml - mr, height - mt - mb
    n = len(names)
    gw = pw / max(n, 1)
    bw = gw * 0.36

    def Y(v):
        return mt + ph * (1 - min(max(v, 0.0), 5.0) / 5.0)

    s = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
         f'style="max-width:100%;height:auto;font-size:10px;font-family:sans-serif">',
         f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#bbb"/>']
    for k in range(6):
        y = Y(float(k))
        s.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                 f'<text x="{ml - 4}" y="{y + 3:.1f}" text-anchor="end">{k}</text>')
    pidx = {nm: i for i, nm in enumerate(present_names or [])}
    for i, nm in enumerate(names):
        x0 = ml + gw * i + gw * 0.14
        for side, vals, pres, col, dx in (("A", a, present_a, A_COLOUR, 0.0), ("B", b, present_b, B_COLOUR, bw)):
            if vals is None or i >= len(vals):
                continue
            v = float(vals[i])
            y = Y(v)
            tip = f"{side} {nm}_r = {v:.6g}"
            s.append(f'<rect x="{x0 + dx:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{mt + ph - y:.1f}" fill="{col}">'
                     f"<title>{escape(tip)}</title></rect>")
            j = pidx.get(nm)
            if pres is not None and j is not None and j < len(pres) and float(pres[j]) == 1.0:
                m = f", SVM margin {float(margins[j]):+.4g}" if side == "B" and margins is not None else ""
                s.append(f'<circle cx="{x0 + dx + bw / 2:.1f}" cy="{y - 5:.1f}" r="2.6" fill="{col}" stroke="#333" '
                         f'stroke-width="0.5"><title>{escape(f"{side} {nm} present{m}")}</title></circle>')
        s.append(f'<text x="{ml + gw * (i + 0.5):.1f}" y="{mt + ph + 14}" text-anchor="middle">{escape(nm)}</text>')
    s.append(f'<text x="{ml}" y="14" font-size="12" font-weight="bold">AU intensities (AUxx_r; a dot: present, '
             f'AUxx_c = 1)</text>'
             f'<rect x="{ml + pw - 150}" y="6" width="10" height="10" fill="{A_COLOUR}"/><text x="{ml + pw - 136}" y="15">A</text>'
             f'<rect x="{ml + pw - 100}" y="6" width="10" height="10" fill="{B_COLOUR}"/><text x="{ml + pw - 86}" y="15">B</text>')
    s.append("</svg>")
    return "".join(s)


def _face_block(face: str, reference, candidate) -> str:
    p = f"{face}/au/"
    html = [f"<h3>{escape(face)}</h3>"]
    fa, fb = _get(reference, p + "align/face"), _get(candidate, p + "align/face")
    figs = [_img_tag(f, f"{side} aligned face") for side, f in (("A", fa), ("B", fb)) if f is not None]
    if fa is not None and fb is not None and fa.shape == fb.shape:
        diff = np.abs(fb.astype(np.int16) - fa.astype(np.int16)).max(axis=-1) if fa.ndim == 3 else \
            np.abs(fb.astype(np.int16) - fa.astype(np.int16))
        figs.append(_heat_tag(diff.astype(np.float64), "|B - A| (largest over channels)"))
    html.append("".join(figs) or "<p class='muted'>no aligned face</p>")
    grids = {}
    for side, t in (("A", reference), ("B", candidate)):
        d = _get(t, p + "hog/descriptor")
        rows, cols = _get(t, p + "hog/num_rows"), _get(t, p + "hog/num_cols")
        if d is not None and rows is not None and cols is not None:
            g = hog_grid(d, int(rows), int(cols))
            if g is not None:
                grids[side] = g
    figs = [_img_tag(hog_glyphs(g), f"{side} HOG (orientation glyphs)", scale=1) for side, g in grids.items()]
    if len(grids) == 2 and grids["A"].shape == grids["B"].shape:
        err = np.abs(grids["B"] - grids["A"])
        figs.append(_heat_tag(hog_feature_map(err), "HOG |B - A| per cell (6×6 block: the 31 features)"))
        figs.append(_heat_tag(err.max(axis=-1), "HOG |B - A|, largest per cell"))
    html.append("".join(figs))
    ra, rb = _get(reference, p + "reg/output"), _get(candidate, p + "reg/output")
    if ra is not None or rb is not None:
        t = reference if ra is not None else candidate
        n = len(ra if ra is not None else rb)
        ca, cb = _get(reference, p + "class/output"), _get(candidate, p + "class/output")
        pn = _names(candidate if cb is not None else reference, "au_class_names", len(cb if cb is not None else ca)) \
            if (ca is not None or cb is not None) else None
        html.append(intensity_chart(_names(t, "au_reg_names", n), ra, rb, ca, cb, pn,
                                    _get(candidate, p + "class/margin")))
    return "".join(html)


def au_section(reference, candidate, limit: int = 8) -> str:
    """The HTML of the AU section, or "" when neither trace holds `faceNN/au/` stages."""
    faces = au_faces(reference, candidate)
    if not faces:
        return ""
    more = (f"<p class='muted'>{len(faces) - limit} more face(s) not shown</p>" if len(faces) > limit else "")
    return "".join(_face_block(f, reference, candidate) for f in faces[:limit]) + more
