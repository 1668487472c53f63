"""A self-contained HTML report of a diff: readable at a glance, opens with no network access.

Sections: verdict; first divergence and its diagnosis; landmark and box overlays of both sides on
the input image (the image embedded as a base64 JPEG, shapes as inline SVG); per-iteration
convergence plots (``shape_change`` per scale and phase, parameter error against the reference)
as inline SVG; error heat maps of diverged 2-D+ stages (PNG via cv2.imencode, base64); action units
(html_aus: aligned faces, HOG difference, intensities bar chart) when the traces hold them; the stage
table. No script, no stylesheet or font from elsewhere, no external URL.

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
from pyparity.render.escape import html_text as escape
from pyparity.render.html_images import A_COLOUR, B_COLOUR, b64_image as _b64_image, get_stage as _get, heat_png


_CONV = re.compile(r"^(.*)/fit/s(\d+)/(rigid|nonrigid)/it(\d+)/shape_change$")

_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1200px}
h1{font-size:1.4em} h2{font-size:1.15em;border-bottom:1px solid #ccc;margin-top:1.6em}
.ok{color:#080;font-weight:bold} .bad{color:#c00;font-weight:bold}
table.stages{border-collapse:collapse;font-size:12px;font-family:monospace}
table.stages td,table.stages th{padding:1px 6px;border-bottom:1px solid #eee;text-align:left}
tr.match td.st{color:#080} tr.diverged,tr.shape-mismatch,tr.dtype-mismatch{background:#fee}
tr.first{outline:2px solid #c00} tr.only-in-A td.st,tr.only-in-B td.st{color:#a60}
tr.ignored{color:#999} tr.expected-divergence{background:#eef}
.legend span{display:inline-block;margin-right:1.5em} .sw{display:inline-block;width:1em;height:.7em;margin-right:.3em}
figure{display:inline-block;margin:.3em 1em .3em 0;vertical-align:top} figcaption{font-size:12px}
pre{background:#f6f6f6;padding:.5em;white-space:pre-wrap} .muted{color:#777}
"""


# ---------------------------------------------------------------------------------------- helpers

def _fmt(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        if x == 0:
            return "0"
        if not math.isfinite(x):
            return str(x)
        return f"{x:.3g}"
    return escape(str(x))


# ---------------------------------------------------------------------------------------- image

def _shared_dirs() -> list[Path]:
    roots = []
    if os.environ.get("PYPARITY_SHARED"):
        roots.append(Path(os.environ["PYPARITY_SHARED"]))
    roots.append(Path(__file__).resolve().parents[2].parent / "shared")
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


def _overlay_section(reference, candidate, image) -> str:
    img, where = find_image(image, reference, candidate)
    sa, sb = overlay_shapes(reference), overlay_shapes(candidate)
    if not any(sa.values()) and not any(sb.values()) and img is None:
        return "<p class='muted'>no image and no boxes or landmarks in these traces</p>"
    if img is not None:
        h, w = img.shape[:2]
    else:
        pts = [p for s in (sa, sb) for k in s.values() for _, arr in k for p in arr.reshape(-1, 2)]
        pts = np.array(pts) if pts else np.zeros((1, 2))
        w, h = int(max(64, np.nanmax(pts[:, 0]) * 1.1)), int(max(64, np.nanmax(pts[:, 1]) * 1.1))
    r = max(1.5, w / 300)
    sw = max(1.0, w / 400)
    parts = [f'<svg class="overlay" viewBox="0 0 {w} {h}" width="{min(max(w, 900), 1100)}" role="img" '
             f'style="max-width:100%;height:auto;background:#333">']
    if img is not None:
        parts.append(f'<image href="{_b64_image(img, ".jpg")}" x="0" y="0" width="{w}" height="{h}"/>')
    for shapes, col, dash in ((sa, A_COLOUR, ""), (sb, B_COLOUR, f' stroke-dasharray="{3 * sw:.1f},{2 * sw:.1f}"')):
        for name, boxes in shapes["boxes"]:
            for x0, y0, x1, y1 in boxes:
                if np.all(np.isfinite([x0, y0, x1, y1])):
                    parts.append(f'<rect class="box" x="{x0:.2f}" y="{y0:.2f}" width="{x1 - x0:.2f}" height="{y1 - y0:.2f}" '
                                 f'fill="none" stroke="{col}" stroke-width="{sw:.1f}"{dash}><title>{escape(name)}</title></rect>')
        for name, xy in shapes["landmarks"]:
            for i, (x, y) in enumerate(xy):
                if np.isfinite(x) and np.isfinite(y):
                    # A as rings, B as dots: both stay visible where they coincide
                    paint = (f'r="{1.8 * r:.1f}" fill="none" stroke="{col}" stroke-width="{0.6 * sw:.1f}"' if col == A_COLOUR
                             else f'r="{r:.1f}" fill="{col}" fill-opacity="0.85"')
                    parts.append(f'<circle class="lm" cx="{x:.2f}" cy="{y:.2f}" {paint}>'
                                 f'<title>{escape(name)} #{i} ({x:.2f}, {y:.2f})</title></circle>')
    parts.append("</svg>")
    legend = (f'<p class="legend"><span><i class="sw" style="background:{A_COLOUR}"></i>A (reference, rings): '
              f'{escape(", ".join(n for k in sa.values() for n, _ in k) or "none")}</span>'
              f'<span><i class="sw" style="background:{B_COLOUR}"></i>B (candidate, dots, dashed boxes): '
              f'{escape(", ".join(n for k in sb.values() for n, _ in k) or "none")}</span></p>'
              f'<p class="muted">image: {escape(where)}</p>')
    return "".join(parts) + legend


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


def line_chart(series: list[tuple[str, str, list]], xlabels: list[str], title: str, log: bool = True,
               width: int = 760, height: int = 230) -> str:
    """Inline SVG line chart; ``series`` = [(label, colour, values with None gaps)]."""
    ml, mr, mt, mb = 62, 12, 24, 40
    pw, ph = width - ml - mr, height - mt - mb
    vals = [v for _, _, vs in series for v in vs if v is not None and math.isfinite(v)]
    floor = 1e-12
    if log:
        vals = [max(v, floor) for v in vals]
    if not vals:
        return f"<p class='muted'>{escape(title)}: no values</p>"
    lo, hi = min(vals), max(vals)
    if log:
        lo, hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if hi == lo:
            hi += 1
    elif hi == lo:
        lo, hi = lo - 1, hi + 1
    n = max(len(xlabels), 2)

    def X(i):
        return ml + pw * i / (n - 1)

    def Y(v):
        t = (math.log10(max(v, floor)) if log else v)
        return mt + ph * (1 - (t - lo) / (hi - lo))

    s = [f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
         f'style="max-width:100%;height:auto;font-size:10px;font-family:sans-serif">',
         f'<text x="{ml}" y="14" font-size="12" font-weight="bold">{escape(title)}</text>',
         f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#bbb"/>']
    ticks = range(int(lo), int(hi) + 1) if log else [lo + (hi - lo) * k / 4 for k in range(5)]
    for t in ticks:
        y = mt + ph * (1 - (t - lo) / (hi - lo))
        s.append(f'<line x1="{ml}" x2="{ml + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e4e4"/>')
        s.append(f'<text x="{ml - 4}" y="{y + 3:.1f}" text-anchor="end">{("1e%d" % t) if log else _fmt(float(t))}</text>')
    prev_phase = None
    for i, lab in enumerate(xlabels):
        phase = lab.rsplit("/", 1)[0]
        if phase != prev_phase:
            s.append(f'<line x1="{X(i):.1f}" x2="{X(i):.1f}" y1="{mt}" y2="{mt + ph}" stroke="#999" stroke-dasharray="2,2"/>')
            s.append(f'<text x="{X(i) + 2:.1f}" y="{mt + ph + 14}">{escape(phase)}</text>')
            prev_phase = phase
        s.append(f'<text x="{X(i):.1f}" y="{mt + ph + 28}" text-anchor="middle" fill="#888">{escape(lab.rsplit("/", 1)[-1][2:])}</text>')
    for k, (label, colour, vs) in enumerate(series):
        pts = [(X(i), Y(v)) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if len(pts) > 1:
            s.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}"/>')
        for (x, y), v in zip(pts, [v for v in vs if v is not None and math.isfinite(v)]):
            s.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(label)}: {v:.6g}</title></circle>')
        s.append(f'<rect x="{ml + 8 + 150 * k}" y="{mt + 6}" width="10" height="10" fill="{colour}"/>'
                 f'<text x="{ml + 22 + 150 * k}" y="{mt + 15}">{escape(label)}</text>')
    s.append("</svg>")
    return "".join(s)


def _convergence_section(reference, candidate) -> str:
    ca, cb = convergence_series(reference), convergence_series(candidate)
    prefixes = list(ca) + [p for p in cb if p not in ca]
    if not prefixes:
        return "<p class='muted'>no optimiser iterations (<code>.../fit/sK/{rigid,nonrigid}/itNN/shape_change</code>) in these traces</p>"
    html = []
    for prefix in prefixes[:6]:
        da = {k: (d, v) for k, d, v in ca.get(prefix, [])}
        db = {k: (d, v) for k, d, v in cb.get(prefix, [])}
        keys = [k for k, _, _ in ca.get(prefix, [])] + [k for k, _, _ in cb.get(prefix, []) if k not in da]
        sa = [da[k][1] if k in da else None for k in keys]
        sb = [db[k][1] if k in db else None for k in keys]
        html.append(line_chart([("A shape_change", A_COLOUR, sa), ("B shape_change", B_COLOUR, sb)], keys,
                               f"{prefix}: shape_change per iteration (log)"))
        pg, pl = [], []
        for k in keys:
            if k in da and k in db:
                ga, gb = _get(reference, da[k][0] + "/params_global"), _get(candidate, db[k][0] + "/params_global")
                la, lb = _get(reference, da[k][0] + "/params_local"), _get(candidate, db[k][0] + "/params_local")
                pg.append(float(np.max(np.abs(gb.astype(np.float64) - ga))) if ga is not None and gb is not None and ga.shape == gb.shape else None)
                pl.append(float(np.max(np.abs(lb.astype(np.float64) - la))) if la is not None and lb is not None and la.shape == lb.shape else None)
            else:
                pg.append(None)
                pl.append(None)
        if any(v is not None for v in pg + pl):
            html.append(line_chart([("params_global max |B-A|", "#d62728", pg), ("params_local max |B-A|", "#1f77b4", pl)],
                                   keys, f"{prefix}: parameter error against the reference (log; 1e-12 = identical)"))
        if len(keys) and (None in sa or None in sb):
            html.append(f"<p class='muted'>{escape(prefix)}: A ran {sum(v is not None for v in sa)} iterations, "
                        f"B ran {sum(v is not None for v in sb)}</p>")
    return "".join(html)


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


def _heatmap_section(report, reference, candidate, limit: int = 4) -> str:
    if reference is None or candidate is None:
        return "<p class='muted'>heat maps need both traces</p>"
    cands = []
    if report.first is not None:
        cands.append(report.first)
    cands += [s for s in report.failing if s not in cands]
    html, shown = [], 0
    for s in cands:
        if shown >= limit:
            break
        a, b = _get(reference, s.name), _get(candidate, s.name_b or s.name)
        if a is None or b is None or a.shape != b.shape:
            continue
        ma, mb = to_2d(a), to_2d(b)
        if ma is None or mb is None:
            continue
        err = np.abs(mb - ma)
        shown += 1
        figs = []
        for label, m in (("A", ma), ("B", mb), ("|B - A|", err)):
            uri, lo, hi = heat_png(m)
            figs.append(f'<figure><img src="{uri}" alt="{escape(label)}" style="image-rendering:pixelated;max-width:360px">'
                        f"<figcaption>{escape(label)}: {lo:.4g} .. {hi:.4g}</figcaption></figure>")
        html.append(f"<h3>{escape(s.name)} <span class='muted'>{escape(str(list(a.shape)))} {escape(s.status)}</span></h3>"
                    + "".join(figs))
    return "".join(html) or "<p class='muted'>no diverged stage with 2-D data</p>"


# ---------------------------------------------------------------------------------------- page

def _first_section(report) -> str:
    f = report.first
    if f is None:
        return "<p class='ok'>PARITY: all aligned stages match.</p>"
    rows = [f"<p class='bad'>FIRST DIVERGENCE: <a href='#stage-{escape(f.name)}'>{escape(f.name)}</a> ({escape(f.status)})</p>"]
    if f.max_abs is not None:
        rows.append(f"<p>max abs {_fmt(f.max_abs)} at {escape(str(list(f.argmax or ())))}, mean abs {_fmt(f.mean_abs)}, "
                    f"{f.n_over} of {f.n_total} values over tolerance ({escape(f.tolerance)})</p>")
    if f.note:
        rows.append(f"<p>{escape(f.note)}</p>")
    if f.diagnosis:
        rows.append("<ul>" + "".join(
            f"<li><b>likely cause: {escape(h.title)}</b> — {escape(h.detail)}"
            + (f"<br><span class='muted'>align with: <code>{escape(h.transform)}</code>; residual {_fmt(h.residual)}</span>"
               if not str(h.transform).startswith("#") else f"<br><span class='muted'>next: {escape(str(h.transform).lstrip('# '))}</span>")
            + "</li>" for h in f.diagnosis) + "</ul>")
    else:
        rows.append("<p class='muted'>no simple explanation found</p>")
    w = report.worst
    if w is not None and w.name != f.name:
        rows.append(f"<p>worst stage: {escape(w.name)} ({escape(w.status)}, max abs {_fmt(w.max_abs)})</p>")
    rows.append(f"<pre>{escape(report.summary())}</pre>")
    return "".join(rows)


def _stage_table(report) -> str:
    out = ["<table class='stages'><tr><th>#</th><th>stage</th><th>status</th><th>max abs</th><th>mean abs</th>"
           "<th>argmax</th><th>over</th><th>tolerance</th></tr>"]
    for i, s in enumerate(report.stages):
        cls = escape(s.status) + (" first" if s.name == report.first_divergence else "")
        over = f"{s.n_over}/{s.n_total}" if s.n_over is not None else escape(s.note)
        out.append(f"<tr class='{cls}' id='stage-{escape(s.name)}'><td>{i}</td><td>{escape(s.name)}</td>"
                   f"<td class='st'>{escape(s.status)}</td><td>{_fmt(s.max_abs)}</td><td>{_fmt(s.mean_abs)}</td>"
                   f"<td>{escape(str(list(s.argmax))) if s.argmax else ''}</td><td>{over}</td><td>{escape(s.tolerance)}</td></tr>")
    out.append("</table>")
    return "".join(out)


def render_html(report, reference=None, candidate=None, image=None, title: str | None = None,
                extra: dict | None = None) -> str:
    """The report page as one HTML string (see the module docstring)."""
    counts = report.counts()
    title = title or f"pyparity: {Path(str(report.b_source)).name} vs {Path(str(report.a_source)).name}"
    verdict = ("<span class='ok'>PARITY</span>" if report.ok
               else f"<span class='bad'>NOTHING COMPARED: {escape(report.nothing_compared)}</span>"
               if report.nothing_compared
               else f"<span class='bad'>DIVERGED at {escape(report.first_divergence)}</span>")
    extra_html = "".join(f"<h2>{escape(k)}</h2><pre>{escape(str(v))}</pre>" for k, v in (extra or {}).items() if v)
    from pyparity.render.html_aus import au_section

    aus = au_section(reference, candidate)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{verdict} — {escape(', '.join(f'{v} {k}' for k, v in counts.items()))}</p>"
        f"<p class='muted'>A (reference): {escape(str(report.a_source))}<br>B (candidate): {escape(str(report.b_source))}"
        f"<br>policy: {escape(str(report.policy_source))}</p>"
        f"<h2>First divergence</h2>{_first_section(report)}"
        f"<h2>Overlays</h2>{_overlay_section(reference, candidate, image)}"
        f"<h2>Convergence</h2>{_convergence_section(reference, candidate)}"
        f"<h2>Error heat maps</h2>{_heatmap_section(report, reference, candidate)}"
        + (f"<h2>Action units</h2>{aus}" if aus else "")
        + f"{extra_html}"
        f"<h2>Stages</h2>{_stage_table(report)}"
        "</body></html>\n"
    )


def write_html(report, path: str | os.PathLike, reference=None, candidate=None, image=None,
               title: str | None = None, extra: dict | None = None) -> Path:
    """Write the page atomically to ``path``."""
    return write_text_atomic(path, render_html(report, reference, candidate, image=image, title=title, extra=extra))
