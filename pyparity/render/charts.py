"""The geometry of the report's two charts (a line chart on a log or linear axis, a grouped bar chart),
as plain dicts of formatted coordinates that `templates/macros.html.j2` lays out as inline SVG.

Two small charts do not need a plotting library: matplotlib would add tens of megabytes and a font
cache to draw what these forty lines compute, and a JavaScript one would break the page's rule of
opening with no script and no network.
"""

from __future__ import annotations

import math


def _f(x: float) -> str:
    return f"{x:.1f}"


def _tick(v: float) -> str:
    if v == 0:
        return "0"
    return f"{v:.3g}" if math.isfinite(v) else str(v)


def line_chart(series: list[tuple[str, str, list]], xlabels: list[str], title: str, log: bool = True,
               width: int = 760, height: int = 230) -> dict:
    """``series`` = [(label, colour, values with None gaps)] over ``xlabels`` (``sK/phase/itNN``: a
    dashed line where the phase changes, the iteration number under each point)."""
    ml, mr, mt, mb = 62, 12, 24, 40
    pw, ph = width - ml - mr, height - mt - mb
    floor = 1e-12
    vals = [v for _, _, vs in series for v in vs if v is not None and math.isfinite(v)]
    if log:
        vals = [max(v, floor) for v in vals]
    if not vals:
        return {"empty": True, "title": title}
    lo, hi = min(vals), max(vals)
    if log:
        lo, hi = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
        if hi == lo:
            hi += 1
    elif hi == lo:
        lo, hi = lo - 1, hi + 1
    n = max(len(xlabels), 2)

    def x_at(i: int) -> float:
        return ml + pw * i / (n - 1)

    def y_at(v: float) -> float:
        t = math.log10(max(v, floor)) if log else v
        return mt + ph * (1 - (t - lo) / (hi - lo))

    grid = []
    for t in (range(int(lo), int(hi) + 1) if log else [lo + (hi - lo) * k / 4 for k in range(5)]):
        y = mt + ph * (1 - (t - lo) / (hi - lo))
        grid.append({"y": _f(y), "label_y": _f(y + 3), "label": f"1e{t}" if log else _tick(float(t))})
    phases, ticks, prev = [], [], None
    for i, lab in enumerate(xlabels):
        phase = lab.rsplit("/", 1)[0]
        if phase != prev:
            phases.append({"x": _f(x_at(i)), "label_x": _f(x_at(i) + 2), "label": phase})
            prev = phase
        ticks.append({"x": _f(x_at(i)), "label": lab.rsplit("/", 1)[-1][2:]})
    out = []
    for k, (label, colour, vs) in enumerate(series):
        pts = [(x_at(i), y_at(v), v) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        out.append({"label": label, "colour": colour, "legend_x": ml + 8 + 150 * k,
                    "points": " ".join(f"{_f(x)},{_f(y)}" for x, y, _ in pts) if len(pts) > 1 else "",
                    "dots": [{"x": _f(x), "y": _f(y), "value": f"{v:.6g}"} for x, y, v in pts]})
    return {"empty": False, "title": title, "width": width, "height": height, "ml": ml, "mt": mt, "pw": pw,
            "ph": ph, "grid": grid, "phases": phases, "ticks": ticks, "series": out}


def bar_chart(names: list[str], sides: list[tuple[str, str, list | None, list | None, list | None]], title: str,
              top: float = 5.0, suffix: str = "", margin_label: str = "margin", width: int = 760,
              height: int = 240) -> dict:
    """Grouped bars on 0..``top``: per name one bar per side ``(label, colour, values, present, margins)``
    (bar titles ``"A AU01<suffix> = 1.23"``); a dot above a bar where ``present`` is 1, its title with
    the side's margin, if given."""
    ml, mr, mt, mb = 34, 10, 26, 34
    pw, ph = width - ml - mr, height - mt - mb
    gw = pw / max(len(names), 1)
    bw = gw * 0.36

    def y_at(v: float) -> float:
        return mt + ph * (1 - min(max(v, 0.0), top) / top)

    grid = [{"y": _f(y_at(float(k))), "label_y": _f(y_at(float(k)) + 3), "label": str(k)} for k in range(int(top) + 1)]
    bars = []
    for i, nm in enumerate(names):
        x0 = ml + gw * i + gw * 0.14
        for k, (side, colour, vals, present, margins) in enumerate(sides):
            if vals is None or i >= len(vals):
                continue
            v = float(vals[i])
            y = y_at(v)
            bar = {"x": _f(x0 + k * bw), "y": _f(y), "w": _f(bw), "h": _f(mt + ph - y), "colour": colour,
                   "title": f"{side} {nm}{suffix} = {v:.6g}", "dot": None}
            if present is not None and i < len(present) and present[i] is not None and float(present[i]) == 1.0:
                m = (f", {margin_label} {float(margins[i]):+.4g}"
                     if margins is not None and i < len(margins) and margins[i] is not None else "")
                bar["dot"] = {"x": _f(x0 + k * bw + bw / 2), "y": _f(y - 5), "title": f"{side} {nm} present{m}"}
            bars.append(bar)
    return {"width": width, "height": height, "ml": ml, "mt": mt, "pw": pw, "ph": ph, "grid": grid, "bars": bars,
            "title": title, "labels": [{"x": _f(ml + gw * (i + 0.5)), "text": nm} for i, nm in enumerate(names)],
            "legend": [{"x": ml + pw - 150 + 50 * k, "colour": s[1], "label": s[0]} for k, s in enumerate(sides)]}
