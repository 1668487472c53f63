"""Terminal rendering (rich): the stage table with the first divergence and its diagnosis.

Colours only on a TTY (rich's own detection; NO_COLOR is honoured); plain ASCII otherwise.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pyparity.diff.compare import DIVERGED, EXPECTED, FAILING, IGNORED, MATCH, ONLY_IN_A, ONLY_IN_B, StageResult
from pyparity.diff.report import DiffReport
from pyparity.render.escape import printable
from pyparity.trace.trace import Trace

_STYLE = {MATCH: "green", DIVERGED: "red", ONLY_IN_A: "yellow", ONLY_IN_B: "yellow", IGNORED: "dim", EXPECTED: "cyan"}


def make_console(stderr: bool = False) -> Console:
    c = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not c.is_terminal:
        c = Console(stderr=stderr, highlight=False, no_color=True, width=max(c.width, 160), soft_wrap=False)
    return c


def print_error(message: str) -> None:
    """One line on stderr (never wrapped, newlines folded), for messages that scripts grep."""
    import sys

    sys.stderr.write("error: " + printable(" ".join(str(message).split())) + "\n")
    sys.stderr.flush()


def _fmt(x: float | None) -> str:
    if x is None:
        return ""
    if x == 0:
        return "0"
    if not np.isfinite(x):
        return str(x)
    return f"{x:.3g}"


def _select_rows(report: DiffReport, max_rows: int) -> list:
    """Rows to show: everything when it fits, else the context around and after the first divergence."""
    stages = report.stages
    if len(stages) <= max_rows:
        return list(stages)
    first_i = next((i for i, s in enumerate(stages) if s.name == report.first_divergence), None)
    keep: set[int] = set()
    if first_i is not None:
        keep.update(range(max(0, first_i - 2), first_i + 1))
    # divergences (failing or expected), then compared stages, before stages present on one side only:
    # a sparse reference (outputs only) leaves most of a run's stages one-sided, and what was compared
    # is what the reader wants to see
    def rank(i: int) -> tuple[int, int]:
        st = stages[i].status
        return (2 if st in (ONLY_IN_A, ONLY_IN_B) else 1 if st == MATCH else 0), i

    interesting = sorted((i for i, s in enumerate(stages) if s.status != IGNORED), key=rank)
    for i in interesting:
        if len(keep) >= max_rows:
            break
        keep.add(i)
    if not keep:
        keep.update(range(min(max_rows, len(stages))))
    rows: list = []
    skipped = 0
    for i, s in enumerate(stages):
        if i in keep:
            if skipped:
                rows.append(skipped)
                skipped = 0
            rows.append(s)
        else:
            skipped += 1
    if skipped:
        rows.append(skipped)
    return rows


def render_diff(report: DiffReport, console: Console, max_rows: int = 40) -> None:
    console.print(Text.assemble(("A ", "bold"), printable(report.a_source)))
    console.print(Text.assemble(("B ", "bold"), printable(report.b_source)))
    if report.policy_source:
        console.print(Text.assemble(("policy ", "bold"), printable(report.policy_source)), style="dim")
    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, show_lines=False, pad_edge=False)
    for col, just in (("#", "right"), ("stage", "left"), ("status", "left"), ("max abs", "right"),
                      ("mean abs", "right"), ("argmax", "left"), ("over", "right"), ("tolerance", "left")):
        t.add_column(col, justify=just, no_wrap=True, overflow="fold" if col == "stage" else "ellipsis")
    index = {s.name: i for i, s in enumerate(report.stages)}
    for row in _select_rows(report, max_rows):
        if isinstance(row, int):
            t.add_row("", Text(f"… {row} stage(s) not shown", style="dim"),
                      "", "", "", "", "", "")
            continue
        s: StageResult = row
        style = _STYLE.get(s.status, "red" if s.status in FAILING else "")
        is_first = s.name == report.first_divergence
        name = Text(printable(s.name), style="bold red" if is_first else "")
        status = ("▶ " if is_first else "") + s.status + (" (order)" if s.order_only else "")
        over = f"{s.n_over}/{s.n_total}" if s.n_over is not None else (s.note if s.status in FAILING else "")
        t.add_row(str(index[s.name]), name, Text(status, style=style), _fmt(s.max_abs), _fmt(s.mean_abs),
                  str(list(s.argmax)) if s.argmax else "", Text(printable(over)), Text(printable(s.tolerance)))
    console.print(t)
    c = report.counts()
    parts = [f"{c.get(k, 0)} {k}" for k in (MATCH, DIVERGED, "shape-mismatch", "dtype-mismatch", ONLY_IN_A,
                                            ONLY_IN_B, IGNORED, EXPECTED) if c.get(k)]
    console.print(", ".join(parts))
    _print_expected(report, console)
    f = report.first
    if f is None:
        console.print(Text(printable(report.verdict()), style="bold red" if report.nothing_compared else "bold green"))
        return
    console.print(Text.assemble(("FIRST DIVERGENCE ", "bold red"), (printable(f.name), "bold"), f"  ({f.status})",
                                printable(report.one_sided())))
    if f.max_abs is not None:
        console.print(Text(f"  max abs {_fmt(f.max_abs)} at {list(f.argmax or ())}, mean abs {_fmt(f.mean_abs)}, "
                           f"{f.n_over} of {f.n_total} values over tolerance ({printable(f.tolerance)})"))
    if f.nan_a or f.nan_b or f.inf_a or f.inf_b:
        console.print(f"  NaN A/B: {f.nan_a}/{f.nan_b}  Inf A/B: {f.inf_a}/{f.inf_b}")
    if f.note:
        console.print(Text(f"  {printable(f.note)}"))
    if f.diagnosis:
        for h in f.diagnosis:
            console.print(Text.assemble(("  likely cause: ", "bold yellow"), printable(h.title)))
            if h.transform.startswith("#"):
                console.print(Text(f"    {printable(h.detail)}"))
                console.print(Text(f"    next: {printable(h.transform.lstrip('# '))}", style="cyan"))
            else:
                console.print(Text(f"    {printable(h.detail)}; residual after the fix {_fmt(h.residual)}"))
                console.print(Text(f"    align with: {printable(h.transform)}", style="cyan"))
    else:
        console.print("  no simple explanation found (offset, scale, layout, axes, order, rounding, stale input all ruled out)")


def render_trace(trace: Trace, console: Console, stage: str | None = None, max_rows: int | None = None) -> None:
    """The tree of stages with shape, dtype and summary statistics; with a stage, its values."""
    if stage is not None:
        a = trace[stage]
        info = trace.info(stage)
        console.print(Text.assemble((printable(stage), "bold"), f"  {info.dtype} {list(info.shape)}"))
        with np.printoptions(threshold=200, edgeitems=4, linewidth=console.width, precision=8):
            console.print(repr(a), markup=False, highlight=False)
        return
    console.print(Text.assemble(("trace ", "bold"), printable(trace.source), f"  ({len(trace)} stages)"))
    prod = trace.meta.get("producer", {})
    if isinstance(prod, dict) and prod:
        console.print(Text(printable(f"producer: {prod.get('name', '?')} {prod.get('version', '')}".rstrip()),
                           style="dim"))
    inp = trace.meta.get("input", {})
    if isinstance(inp, dict) and inp:
        console.print(Text(printable(f"input: {inp.get('file', '?')} sha256 {str(inp.get('sha256', ''))[:12]}"),
                           style="dim"))
    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False)
    for col in ("stage", "dtype", "shape", "min", "max", "mean"):
        t.add_column(col, justify="right" if col in ("min", "max", "mean") else "left")
    prev: list[str] = []
    shown = 0
    for s in trace.stages:
        if max_rows is not None and shown >= max_rows:
            t.add_row(Text(f"… {len(trace) - shown} more", style="dim"), "", "", "", "", "")
            break
        parts = s.name.split("/")
        common = 0
        while common < min(len(prev), len(parts) - 1) and prev[common] == parts[common]:
            common += 1
        for d in range(common, len(parts) - 1):
            t.add_row(Text("  " * d + printable(parts[d]) + "/", style="bold"), "", "", "", "", "")
        prev = parts[:-1]
        mn = mx = mean = ""
        if 0 < s.size <= 50_000_000 and np.dtype(s.dtype).kind in "biuf":
            a = trace[s.name]
            with np.errstate(all="ignore"):
                af = a.astype(np.float64) if a.dtype.kind == "b" else a
                mn, mx, mean = _fmt(float(np.nanmin(af))), _fmt(float(np.nanmax(af))), _fmt(float(np.nanmean(af)))
        t.add_row(Text("  " * (len(parts) - 1) + printable(parts[-1])), Text(printable(s.dtype)), str(list(s.shape)),
                  mn, mx, mean)
        shown += 1
    console.print(t)


def _print_expected(report: DiffReport, console: Console, names_shown: int = 3) -> None:
    """Expected divergences grouped by reason (a fix or a drift can account for thousands of stages):
    per reason the count, the first few stage names and the largest error."""
    groups: dict[str, list[StageResult]] = {}
    for e in report.expected:
        groups.setdefault(e.note, []).append(e)
    for note, stages in groups.items():
        worst = max((s for s in stages if s.max_abs is not None), key=lambda s: s.max_abs, default=None)
        names = ", ".join(printable(s.name) for s in stages[:names_shown]) + (f", … (+{len(stages) - names_shown})"
                                                                   if len(stages) > names_shown else "")
        console.print(Text.assemble(("expected divergence ", "cyan"), f"{len(stages)} stage(s): {names}"
                                    + (f"; worst {_fmt(worst.max_abs)} at {printable(worst.name)}" if worst else "")))
        console.print(Text(f"  {printable(note)}", style="cyan"))
