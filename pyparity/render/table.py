"""Terminal rendering (rich): the stage table with the first divergence and its diagnosis.

Colours only on a TTY (rich's own detection; NO_COLOR is honoured); plain ASCII otherwise.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from pyparity.diff.compare import DIVERGED, EXPECTED, FAILING, IGNORED, MATCH, ONLY_IN_A, ONLY_IN_B, StageResult
from pyparity.diff.report import DiffReport
from pyparity.render.escape import printable
from pyparity.render.layout import Col, column_widths, plan_columns, shorten_middle
from pyparity.render.numbers import fmt_number, format_seconds
from pyparity.render.summary import key_outputs, largest_error
from pyparity.trace.trace import Trace

_STYLE = {MATCH: "green", DIVERGED: "red", ONLY_IN_A: "yellow", ONLY_IN_B: "yellow", IGNORED: "dim", EXPECTED: "cyan"}


# A console whose output is not a terminal and whose width nobody set renders at the content's own width
# (a table row is as long as its longest cell): logs and pipes get every name and number whole.
UNBOUNDED = 1 << 16


def make_console(stderr: bool = False) -> Console:
    """The console for a command's output: on a terminal, its width; piped, ``$COLUMNS`` if set, else
    unbounded (`UNBOUNDED`); colours only on a terminal (NO_COLOR honoured)."""
    c = Console(stderr=stderr, highlight=False, soft_wrap=False)
    if not c.is_terminal:
        columns = os.environ.get("COLUMNS", "").strip()
        width = int(columns) if columns.isdigit() and int(columns) > 0 else UNBOUNDED
        c = Console(stderr=stderr, highlight=False, no_color=True, width=width, soft_wrap=False)
    return c


def bounded_width(console: Console) -> int | None:
    """The width output must fit, or None when the console is unbounded."""
    return None if console.width >= UNBOUNDED else console.width


def print_error(message: str) -> None:
    """One line on stderr (never wrapped, newlines folded), for messages that scripts grep."""
    sys.stderr.write("error: " + printable(" ".join(str(message).split())) + "\n")
    sys.stderr.flush()


_fmt = fmt_number


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


# The stage table's columns; when the terminal is narrow, argmax goes first, then tolerance, mean abs and
# the over-tolerance counts. `#`, stage, status and max abs always show, and no number is ever cut.
COLUMNS = (
    Col("#", "#", "right"),
    Col("stage", "stage", flexible=True),
    Col("status", "status"),
    Col("max", "max abs", "right"),
    Col("mean", "mean abs", "right", drop_rank=2),
    Col("argmax", "argmax", drop_rank=4),
    Col("over", "over", "right", drop_rank=1),
    Col("tolerance", "tolerance", drop_rank=3),
)


def _shape(shape) -> str:
    return "scalar" if shape is not None and len(shape) == 0 else "×".join(str(d) for d in shape or ())


def _over_cell(s: StageResult) -> str:
    """Values over tolerance, or for a stage not compared element-wise what differs (shapes, dtypes)."""
    if s.n_over is not None:
        return f"{s.n_over}/{s.n_total}"
    if s.status not in FAILING:
        return ""
    if s.status == "shape-mismatch" and s.shape_a is not None and s.shape_b is not None:
        return f"{_shape(s.shape_a)} vs {_shape(s.shape_b)}"
    if s.status == "dtype-mismatch" and s.dtype_a and s.dtype_b:
        return f"{s.dtype_a} vs {s.dtype_b}"
    return printable(s.note)


def _cells(report: DiffReport, rows: list) -> list[dict]:
    index = {s.name: i for i, s in enumerate(report.stages)}
    out = []
    for row in rows:
        if isinstance(row, int):
            out.append({"stage": f"… {row} not shown", "skipped": True})
            continue
        s: StageResult = row
        first = s.name == report.first_divergence
        out.append({
            "#": str(index[s.name]), "stage": printable(s.name),
            "status": ("▶ " if first else "") + s.status + (" (order)" if s.order_only else ""),
            "max": fmt_number(s.max_abs), "mean": fmt_number(s.mean_abs),
            "argmax": str(list(s.argmax)) if s.argmax else "", "over": _over_cell(s),
            "tolerance": printable(s.tolerance), "result": s, "first": first,
        })
    return out


def stage_table(report: DiffReport, console: Console, max_rows: int = 40) -> Table:
    """The stage table, fitted to the console's width (see `pyparity.render.layout`)."""
    cells = _cells(report, _select_rows(report, max_rows))
    bx = box.SIMPLE_HEAD if console.is_terminal else box.ASCII2
    pad_edge = bx is box.ASCII2  # between | borders, cells keep their padding

    def overhead(n: int) -> int:
        probe = Table(box=bx, pad_edge=pad_edge)
        for _ in range(n):
            probe.add_column("", width=1)
        return Measurement.get(console, console.options, probe).maximum - n

    natural = column_widths(list(COLUMNS), cells)
    shown, stage_width = plan_columns(list(COLUMNS), natural, bounded_width(console), overhead)
    t = Table(box=bx, show_lines=False, pad_edge=pad_edge)
    for c in shown:
        width = stage_width if c.flexible else natural[c.key]
        t.add_column(c.header, justify=c.justify, no_wrap=True, width=width, overflow="fold")
    for r in cells:
        if r.get("skipped"):
            t.add_row(*[Text(shorten_middle(r["stage"], stage_width), style="dim") if c.flexible else ""
                        for c in shown])
            continue
        s = r["result"]
        style = _STYLE.get(s.status, "red" if s.status in FAILING else "")
        row = []
        for c in shown:
            text = shorten_middle(r[c.key], stage_width) if c.flexible else r[c.key]
            row.append(Text(text, justify=c.justify, style=("bold red" if r["first"] else "") if c.key == "stage"
                            else style if c.key == "status" else ""))
        t.add_row(*row)
    return t


def render_diff(report: DiffReport, console: Console, max_rows: int = 40, table: bool | None = None,
                elapsed: float | None = None) -> None:
    """A diff on the terminal. ``table``: True always prints the stage table, False never, None (the
    default) only when the diff failed; a passing diff without it is one summary block."""
    if table is None:
        table = not report.ok
    if not table and report.ok:
        render_summary(report, console, elapsed=elapsed)
        return
    _print_sources(report, console)
    if table:
        console.print(stage_table(report, console, max_rows=max_rows))
    c = report.counts()
    parts = [f"{c.get(k, 0)} {k}" for k in (MATCH, DIVERGED, "shape-mismatch", "dtype-mismatch", ONLY_IN_A,
                                            ONLY_IN_B, IGNORED, EXPECTED) if c.get(k)]
    console.print(", ".join(parts))
    _print_expected(report, console)
    f = report.first
    if f is None:
        console.print(Text(printable(report.verdict()), style="bold red" if report.nothing_compared else "bold green"))
        _print_time(report, console, elapsed)
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
    if report.first_where:
        w = report.first_where
        console.print(Text(printable(f"  computed in {w.get('code', '?')} {w.get('function', '')}()"
                                     + (f"; reference: {w['reference']}" if w.get("reference") else "")), style="cyan"))
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
    _print_time(report, console, elapsed)


def _print_sources(report: DiffReport, console: Console) -> None:
    console.print(Text.assemble(("A ", "bold"), printable(report.origin("a")["label"])))
    console.print(Text.assemble(("B ", "bold"), printable(report.origin("b")["label"])))
    if report.policy_source:
        console.print(Text.assemble(("policy ", "bold"), printable(report.policy_source)), style="dim")


def _print_time(report: DiffReport, console: Console, elapsed: float | None) -> None:
    console.print(Text(f"time {format_seconds(elapsed if elapsed is not None else report.seconds)}", style="dim"))


def render_summary(report: DiffReport, console: Console, elapsed: float | None = None) -> None:
    """A passing diff as one block: the verdict, what was compared, the key outputs' largest errors,
    the time, where A and B came from; the stage table is on request (``--table``)."""
    console.print(Text(printable(report.verdict()), style="bold green"))
    label = "  {:<12}".format
    c = report.counts()
    compared = f"{report.n_compared} stages" + "".join(
        f", {c[k]} {k}" for k in (EXPECTED, IGNORED, ONLY_IN_A, ONLY_IN_B) if c.get(k))
    console.print(Text(label("compared") + compared))
    keys = key_outputs(report)
    if keys:
        console.print(Text(label("max error") + ", ".join(k.describe() for k in keys)))
    else:
        worst = largest_error(report)
        if worst is not None:
            console.print(Text(label("max error") + f"{fmt_number(worst.max_abs)} ({printable(worst.name)}; "
                               "no key output such as **/output/landmarks* or **/output/boxes compared)"))
    console.print(Text(label("time") + format_seconds(elapsed if elapsed is not None else report.seconds)))
    console.print(Text(label("A") + printable(report.origin("a")["label"])), style="dim")
    console.print(Text(label("B") + printable(report.origin("b")["label"])), style="dim")
    if report.policy_source:
        console.print(Text(label("policy") + printable(report.policy_source)), style="dim")
    _print_expected(report, console)


def render_trace(trace: Trace, console: Console, stage: str | None = None, max_rows: int | None = None) -> None:
    """The tree of stages with shape, dtype and summary statistics; with a stage, its values."""
    if stage is not None:
        a = trace[stage]
        info = trace.info(stage)
        console.print(Text.assemble((printable(stage), "bold"), f"  {info.dtype} {list(info.shape)}"))
        with np.printoptions(threshold=200, edgeitems=4, linewidth=bounded_width(console) or 120, precision=8):
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
