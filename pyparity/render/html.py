"""A self-contained HTML report of a diff: readable at a glance, opens with no network access.

Sections: verdict; first divergence and its diagnosis; landmark and box overlays of both sides on
the input image (the image embedded as a base64 JPEG, shapes as inline SVG); per-iteration
convergence plots (``shape_change`` per scale and phase, parameter error against the reference)
as inline SVG; error heat maps of diverged 2-D+ stages (PNG via cv2.imencode, base64); action units
(html_aus: aligned faces, HOG difference, intensities bar chart) when the traces hold them; the stage
table. No script, no stylesheet or font from elsewhere, no external URL.

The page is `templates/report.html.j2` (Jinja2, autoescaped: `pyparity.render.templating`); this module
computes what it shows.

Overlays find shapes by stage-name conventions: boxes in ``mtcnn/output/boxes`` or
``**/output/boxes`` (else the last ``**/boxes``), ``[x, y, w, h]`` unless the name ends ``_xyxy``;
landmarks in ``faceNN/output/landmarks_stacked`` (else the last ``**/landmarks_stacked``), OpenFace's
stacked layout ``[x0..xn-1, y0..yn-1]``.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np

from pyparity.atomic import write_text_atomic
from pyparity.render.charts import line_chart
from pyparity.render.numbers import fmt_number
from pyparity.render.html_images import A_COLOUR, B_COLOUR, b64_image as _b64_image, get_stage as _get, heat_png


_CONV = re.compile(r"^(.*)/fit/s(\d+)/(rigid|nonrigid)/it(\d+)/shape_change$")



# ---------------------------------------------------------------------------------------- helpers

def _fmt(x) -> str:
    return fmt_number(x) if isinstance(x, float) or x is None else str(x)


# ---------------------------------------------------------------------------------------- image

def _shared_dirs() -> list[Path]:
    from pyparity.shared import shared_dir_or_none

    roots = [r for r in (shared_dir_or_none(),) if r is not None]
    return [r / "openface" / "samples" for r in roots if (r / "openface" / "samples").is_dir()]


def _sha256(p: Path) -> str:
    import hashlib

    return hashlib.sha256(p.read_bytes()).hexdigest()


def find_image(image, reference, candidate) -> tuple[np.ndarray | None, str]:
    """The input image as (H, W, 3) uint8 BGR, and where it came from (or None, reason)."""
    from pyparity.imageio import read_image_bgr

    tried: list[Path] = []
    if image is not None:
        tried.append(Path(image))
    for t in (candidate, reference):
        inp = (getattr(t, "meta", None) or {}).get("input") or {}
        if inp.get("path"):
            tried.append(Path(inp["path"]))
    for p in tried:
        if p.is_file():
            try:
                return read_image_bgr(p), str(p)
            except Exception:
                pass
    # a reference dump names only the file: look it up among the shared samples, checked by sha256
    for t in (reference, candidate):
        inp = (getattr(t, "meta", None) or {}).get("input") or {}
        fname, sha = inp.get("file"), inp.get("sha256")
        if not fname:
            continue
        for d in _shared_dirs():
            for p in sorted(d.rglob(fname))[:8]:
                if not sha or _sha256(p) == sha:
                    try:
                        return read_image_bgr(p), str(p)
                    except Exception:
                        pass
    # the CLNF stage records the gray image it fits on
    for t in (reference, candidate):
        if t is None:
            continue
        for n in t.names:
            if n.endswith("/clnf/input/gray"):
                g = _get(t, n)
                if g is not None and g.ndim == 2:
                    return np.repeat(g.astype(np.uint8)[:, :, None], 3, axis=2), f"stage {n}"
    return None, "input image not found (pass image=, or record meta input.path)"


def _pick(trace, preferred: list[str], suffix: str) -> list[str]:
    if trace is None:
        return []
    from pyparity.trace.trace import glob_match

    for p in preferred:  # the first convention that matches anything wins (final outputs, not parts)
        names = [n for n in trace.names if glob_match(n, p)]
        if names:
            return names
    last = [n for n in trace.names if n.endswith(suffix)]
    return last[-1:]


def overlay_shapes(trace) -> dict:
    """{'boxes': [(stage, (N,4) xyxy)], 'landmarks': [(stage, (N,2) xy)]} by stage-name conventions."""
    from pyparity.conventions.boxes import xywh_to_xyxy
    from pyparity.conventions.landmarks import stacked_to_xy

    out = {"boxes": [], "landmarks": []}
    for n in _pick(trace, ["mtcnn/output/boxes", "**/output/boxes", "**/output/boxes_xyxy"], "boxes"):
        a = _get(trace, n)
        if a is None or a.ndim != 2 or a.shape[1] != 4:
            continue
        a = a.astype(np.float64)
        out["boxes"].append((n, a if n.endswith("_xyxy") else xywh_to_xyxy(a)))
    for n in _pick(trace, ["face*/output/landmarks_stacked", "**/output/landmarks_stacked"], "landmarks_stacked"):
        a = _get(trace, n)
        if a is None or a.size < 2 or a.size % 2:
            continue
        out["landmarks"].append((n, stacked_to_xy(a.reshape(-1, 1).astype(np.float64))))
    return out


def _overlay(reference, candidate, image) -> dict:
    img, where = find_image(image, reference, candidate)
    sa, sb = overlay_shapes(reference), overlay_shapes(candidate)
    if not any(sa.values()) and not any(sb.values()) and img is None:
        return {"note": "no image and no boxes or landmarks in these traces"}
    if img is not None:
        h, w = img.shape[:2]
    else:
        pts = [p for s in (sa, sb) for k in s.values() for _, arr in k for p in arr.reshape(-1, 2)]
        pts = np.array(pts) if pts else np.zeros((1, 2))
        w, h = int(max(64, np.nanmax(pts[:, 0]) * 1.1)), int(max(64, np.nanmax(pts[:, 1]) * 1.1))
    r = max(1.5, w / 300)
    sw = max(1.0, w / 400)
    boxes, points = [], []
    for shapes, col, dash in ((sa, A_COLOUR, ""), (sb, B_COLOUR, f"{3 * sw:.1f},{2 * sw:.1f}")):
        for name, bxs in shapes["boxes"]:
            for x0, y0, x1, y1 in bxs:
                if np.all(np.isfinite([x0, y0, x1, y1])):
                    boxes.append({"x": f"{x0:.2f}", "y": f"{y0:.2f}", "w": f"{x1 - x0:.2f}", "h": f"{y1 - y0:.2f}",
                                  "colour": col, "dash": dash, "name": name})
        for name, xy in shapes["landmarks"]:
            for i, (x, y) in enumerate(xy):
                if np.isfinite(x) and np.isfinite(y):
                    # A as rings, B as dots: both stay visible where they coincide
                    points.append({"x": f"{x:.2f}", "y": f"{y:.2f}", "colour": col, "ring": col == A_COLOUR,
                                   "title": f"{name} #{i} ({x:.2f}, {y:.2f})"})
    return {"note": "", "w": w, "h": h, "width": min(max(w, 900), 1100),
            "image": _b64_image(img, ".jpg") if img is not None else "", "sw": f"{sw:.1f}",
            "ring_r": f"{1.8 * r:.1f}", "ring_w": f"{0.6 * sw:.1f}", "dot_r": f"{r:.1f}", "boxes": boxes,
            "points": points, "colour_a": A_COLOUR, "colour_b": B_COLOUR, "where": where,
            "names_a": ", ".join(n for k in sa.values() for n, _ in k) or "none",
            "names_b": ", ".join(n for k in sb.values() for n, _ in k) or "none"}


# ---------------------------------------------------------------------------------------- charts

def convergence_series(trace) -> dict[str, list[tuple[str, str, float]]]:
    """{fit prefix: [(iteration key 'sK/phase/itNN', stage dir, shape_change)]} in trace order."""
    out: dict[str, list] = {}
    if trace is None:
        return out
    for n in trace.names:
        m = _CONV.match(n)
        if m:
            v = _get(trace, n)
            if v is None or v.size != 1:
                continue
            key = f"s{m.group(2)}/{m.group(3)}/it{m.group(4)}"
            out.setdefault(m.group(1), []).append((key, n.rsplit("/", 1)[0], float(v.reshape(-1)[0])))
    return out


def _convergence(reference, candidate) -> list[dict]:
    """Per fit (at most six): its charts and a note when the two sides ran different iterations."""
    ca, cb = convergence_series(reference), convergence_series(candidate)
    prefixes = list(ca) + [p for p in cb if p not in ca]
    blocks = []
    for prefix in prefixes[:6]:
        da = {k: (d, v) for k, d, v in ca.get(prefix, [])}
        db = {k: (d, v) for k, d, v in cb.get(prefix, [])}
        keys = [k for k, _, _ in ca.get(prefix, [])] + [k for k, _, _ in cb.get(prefix, []) if k not in da]
        sa = [da[k][1] if k in da else None for k in keys]
        sb = [db[k][1] if k in db else None for k in keys]
        charts = [line_chart([("A shape_change", A_COLOUR, sa), ("B shape_change", B_COLOUR, sb)], keys,
                             f"{prefix}: shape_change per iteration (log)")]
        pg, pl = [], []
        for k in keys:
            if k in da and k in db:
                ga, gb = _get(reference, da[k][0] + "/params_global"), _get(candidate, db[k][0] + "/params_global")
                la, lb = _get(reference, da[k][0] + "/params_local"), _get(candidate, db[k][0] + "/params_local")
                pg.append(_max_diff(ga, gb))
                pl.append(_max_diff(la, lb))
            else:
                pg.append(None)
                pl.append(None)
        if any(v is not None for v in pg + pl):
            charts.append(line_chart([("params_global max |B-A|", "#d62728", pg),
                                      ("params_local max |B-A|", "#1f77b4", pl)],
                                     keys, f"{prefix}: parameter error against the reference (log; 1e-12 = identical)"))
        note = ""
        if len(keys) and (None in sa or None in sb):
            note = (f"{prefix}: A ran {sum(v is not None for v in sa)} iterations, "
                    f"B ran {sum(v is not None for v in sb)}")
        blocks.append({"charts": charts, "note": note})
    return blocks


def _max_diff(a, b) -> float | None:
    if a is None or b is None or a.shape != b.shape:
        return None
    return float(np.max(np.abs(b.astype(np.float64) - a)))


# ---------------------------------------------------------------------------------------- heat maps

def to_2d(a: np.ndarray) -> np.ndarray | None:
    """A stage as one 2-D float map (3-D stacks tiled in a grid, NaN gutters); None if not 2-D-like."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 4 or (a.ndim == 3 and a.shape[-1] <= 4 < min(a.shape[:2])):
        a = np.max(np.abs(a), axis=-1)  # channels (crops, images): the largest magnitude per pixel
    if a.ndim == 2:
        return a if min(a.shape) > 1 else None
    if a.ndim < 2:
        return None
    a = a.reshape(-1, a.shape[-2], a.shape[-1])
    n, h, w = a.shape
    if h < 2 or w < 2 or n == 0:
        return None
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = a[i]
    return grid


def _heatmaps(report, reference, candidate, limit: int = 4) -> dict:
    if reference is None or candidate is None:
        return {"note": "heat maps need both traces", "maps": []}
    cands = []
    if report.first is not None:
        cands.append(report.first)
    cands += [s for s in report.failing if s not in cands]
    maps = []
    for s in cands:
        if len(maps) >= limit:
            break
        a, b = _get(reference, s.name), _get(candidate, s.name_b or s.name)
        if a is None or b is None or a.shape != b.shape:
            continue
        ma, mb = to_2d(a), to_2d(b)
        if ma is None or mb is None:
            continue
        figures = []
        for label, m in (("A", ma), ("B", mb), ("|B - A|", np.abs(mb - ma))):
            uri, lo, hi = heat_png(m)
            figures.append({"uri": uri, "label": label, "caption": f"{label}: {lo:.4g} .. {hi:.4g}", "max_width": 360})
        maps.append({"name": s.name, "shape": str(list(a.shape)), "status": s.status, "figures": figures})
    return {"note": "" if maps else "no diverged stage with 2-D data", "maps": maps}


# ---------------------------------------------------------------------------------------- page

def _first(report) -> dict | None:
    f = report.first
    if f is None:
        return None
    w = report.worst
    return {
        "name": f.name, "status": f.status, "note": f.note, "summary": report.summary(),
        "metrics": (f"max abs {_fmt(f.max_abs)} at {list(f.argmax or ())}, mean abs {_fmt(f.mean_abs)}, "
                    f"{f.n_over} of {f.n_total} values over tolerance ({f.tolerance})") if f.max_abs is not None else "",
        "diagnosis": [{"title": h.title, "detail": h.detail, "transform": h.transform, "residual": _fmt(h.residual),
                       "advice": str(h.transform).lstrip("# ") if str(h.transform).startswith("#") else ""}
                      for h in f.diagnosis],
        "worst": f"{w.name} ({w.status}, max abs {_fmt(w.max_abs)})" if w is not None and w.name != f.name else "",
        "where": dict(report.first_where or {}),
    }


def _stages(report) -> list[dict]:
    return [{"i": i, "name": s.name, "status": s.status, "max": _fmt(s.max_abs), "mean": _fmt(s.mean_abs),
             "cls": s.status + (" first" if s.name == report.first_divergence else ""),
             "argmax": str(list(s.argmax)) if s.argmax else "", "tolerance": s.tolerance,
             "over": f"{s.n_over}/{s.n_total}" if s.n_over is not None else s.note}
            for i, s in enumerate(report.stages)]


def render_html(report, reference=None, candidate=None, image=None, title: str | None = None,
                extra: dict | None = None) -> str:
    """The report page as one HTML string (see the module docstring)."""
    import pyparity
    from pyparity.render.html_aus import au_section
    from pyparity.render.templating import render

    a, b = report.origin("a")["label"], report.origin("b")["label"]
    return render(
        "report.html.j2", title=title or f"pyparity: {Path(b).name} vs {Path(a).name}", version=pyparity.__version__,
        verdict={"ok": report.ok, "nothing": report.nothing_compared, "first": report.first_divergence},
        counts=", ".join(f"{v} {k}" for k, v in report.counts().items()), a=a, b=b, policy=report.policy_source,
        first=_first(report), overlay=_overlay(reference, candidate, image),
        convergence=_convergence(reference, candidate), heat=_heatmaps(report, reference, candidate),
        aus=au_section(reference, candidate), extra=[(k, str(v)) for k, v in (extra or {}).items() if v],
        stages=_stages(report))


def write_html(report, path: str | os.PathLike, reference=None, candidate=None, image=None,
               title: str | None = None, extra: dict | None = None) -> Path:
    """Write the page atomically to ``path``."""
    return write_text_atomic(path, render_html(report, reference, candidate, image=image, title=title, extra=extra))
