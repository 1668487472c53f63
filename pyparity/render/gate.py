"""The gate's reports: the summary table, progress, JSON, JUnit and the HTML index (each a function of
the cases' outcomes; the per-case pages are `html.write_html`'s).

``outcomes`` is a list, or a `runner.GateRun`: its counts are known and its outcomes are streamed from
its journal, one at a time, so a report over a long corpus is written without holding it.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from pyparity.render.escape import printable, printable_lines

_STYLE = {"pass": "green", "unchanged": "green", "new": "cyan", "updated": "cyan"}
_ORDER = ("pass", "unchanged", "new", "updated", "regression", "diverged", "error", "refused", "nothing-compared")
_FAILED = _ORDER[4:]  # gate.outcome.FAILED


def suite_xml(report, name: str) -> str:
    """One diff report as a JUnit ``<testsuite>`` (text: outcomes travel between processes)."""
    from pyparity.render.junit import junit_suite

    return ET.tostring(junit_suite(report, name), encoding="unicode")


def error_suite(name: str, message: str, seconds: float = 0.0) -> str:
    """A case that could not run, as a JUnit suite with one erroring test case."""
    name, msg, secs = printable(name), printable(message), f"{seconds:.6f}"
    suite = ET.Element("testsuite", name=name, tests="1", failures="0", errors="1", skipped="0", time=secs)
    tc = ET.SubElement(suite, "testcase", classname=name, name="run", time=secs)
    ET.SubElement(tc, "error", message=msg, type="error").text = msg
    return ET.tostring(suite, encoding="unicode")


def progress_bar(console):
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    return Progress(TextColumn("[bold]gate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("eta"), TimeRemainingColumn(), TextColumn("{task.description}"), console=console,
                    transient=False)


def show_progress(prog, task, o) -> None:
    from rich.markup import escape as markup_escape

    prog.update(task, advance=1, description=markup_escape(printable(f"{o.name}: {o.status}")))
    if o.failed:
        prog.console.print(printable(f"{o.status.upper()} {o.name}: "
                                     f"{o.golden_first or o.reference_first or o.message}"), markup=False)


GATE_SCHEMA = "pyparity-gate-report/1"  # pyparity/schemas/gate-report-1.schema.json, docs/reports.md


def _totals(outcomes):
    """(counts by status, the cases' seconds summed) in one pass, or from a `GateRun`'s own count."""
    if hasattr(outcomes, "counts") and hasattr(outcomes, "case_seconds"):
        return dict(outcomes.counts), outcomes.case_seconds
    counts: dict[str, int] = {}
    seconds = 0.0
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
        seconds += o.seconds
    return counts, seconds


def _head(outcomes, corpus) -> dict:
    import pyparity

    counts, seconds = _totals(outcomes)
    return {"schema": GATE_SCHEMA, "pyparity": pyparity.__version__, "corpus": str(corpus.path), "name": corpus.name,
            "ok": not any(counts.get(s) for s in _FAILED), "counts": {s: counts[s] for s in sorted(counts)},
            "seconds": round(seconds, 6)}


def gate_document(outcomes, corpus) -> dict:
    """The gate's JSON report: ``schema`` and ``pyparity`` (the version that wrote it) first."""
    return {**_head(outcomes, corpus), "cases": [o.to_dict() for o in outcomes]}


def gate_json_chunks(outcomes, corpus):
    """``json.dumps(gate_document(...), indent=1) + "\\n"`` in pieces, a case at a time."""
    import textwrap

    head = json.dumps(_head(outcomes, corpus), indent=1)
    yield head[:-2] + ',\n "cases": ['
    first = True
    for o in outcomes:
        yield ("\n" if first else ",\n") + textwrap.indent(json.dumps(o.to_dict(), indent=1), "  ")
        first = False
    yield "]\n}\n" if first else "\n ]\n}\n"


def gate_json(outcomes, corpus) -> str:
    return "".join(gate_json_chunks(outcomes, corpus))


def gate_junit_chunks(outcomes):
    """The gate's JUnit document in pieces: the totals (a first pass), then each case's suites."""
    from pyparity.render.junit import junit_document, junit_text

    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    seconds, n = 0.0, 0
    for o in outcomes:
        for x in o.junit:
            s = ET.fromstring(x)
            n += 1
            for k in totals:
                totals[k] += int(s.get(k, "0"))
            seconds += float(s.get("time", "0"))
    head = junit_document([], name="pyparity gate")
    for k, v in totals.items():
        head.set(k, str(v))
    head.set("time", f"{max(seconds, 0.0):.6f}")
    text = junit_text(head)
    if n == 0:
        yield text
        return
    yield text[:-len(" />\n")] + ">"
    for o in outcomes:
        for x in o.junit:
            s = ET.fromstring(x)
            ET.indent(s, level=1)
            s.tail = None
            yield "\n  " + ET.tostring(s, encoding="unicode")
    yield "\n</testsuites>\n"


def gate_junit(outcomes) -> str:
    return "".join(gate_junit_chunks(outcomes))


def gate_index_html(outcomes, corpus) -> str:
    """An index page linking each case's report (relative links only)."""
    import pyparity
    from pyparity.render.numbers import format_seconds
    from pyparity.render.templating import render

    rows = [{"name": o.name, "status": o.status, "link": Path(o.html).name if o.html else "",
             "golden_first": o.golden_first or "", "reference_first": o.reference_first or "", "message": o.message,
             "time": format_seconds(o.seconds)} for o in outcomes]
    return render("gate_index.html.j2", name=corpus.name, outcomes=rows, version=pyparity.__version__)


def render_summary(outcomes, console, max_rows: int = 40, table: bool = True) -> None:
    """The cases' table, the counts, what changed, and the first failing case in full (its stage table
    when it carries its report, then its summary). ``outcomes``: a list or a `runner.GateRun`."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    counts, _ = _totals(outcomes)
    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False)
    for col in ("case", "pipeline", "status", "vs golden", "vs reference", "first divergence / message"):
        t.add_column(col, no_wrap=col != "first divergence / message", overflow="fold")
    first = getattr(outcomes, "first_failed", None)
    for o in outcomes:
        detail = o.golden_first or o.reference_first or o.message or o.golden_change
        t.add_row(Text(printable(o.name)), Text(printable(o.pipeline)), Text(o.status, style=_STYLE.get(o.status, "red")),
                  o.golden_status or "-", o.reference_status or "-", Text(printable(detail or "")))
        if first is None and o.failed:
            first = o
    console.print(t)
    resumed = getattr(outcomes, "resumed", 0)
    console.print(", ".join(f"{counts[s]} {s}" for s in _ORDER if counts.get(s))
                  + (f" ({resumed} current from an earlier run, not rerun)" if resumed else ""))
    for o in outcomes:
        if o.golden_change and o.status in ("updated", "refused"):
            console.print(printable_lines(o.golden_change), markup=False)
    n_failed = sum(n for s, n in counts.items() if s in _FAILED)
    if first is not None:  # the first failing case in full; the table names the others
        o = first
        console.print(Text(printable(f"{o.status.upper()} {o.name}"), style="bold red"))
        if table and o.report is not None:
            from pyparity.render.table import render_diff

            render_diff(o.report, console, max_rows=max_rows)
        text = (o.golden_summary if o.status == "regression"
                else o.reference_summary if o.status == "diverged" or o.reference_status == "nothing-compared"
                else o.golden_summary if o.status == "nothing-compared" else o.reference_summary or o.message)
        for s in printable_lines(text or o.message).splitlines():
            console.print("  " + s, markup=False)
    not_run = getattr(outcomes, "not_run", 0)
    if not_run:
        console.print(Text(f"stopped at the first failure (--fail-fast): {not_run} case(s) not run", style="bold red"))
    n = sum(counts.values())
    console.print(Text(f"GATE FAILED: {n_failed} of {n} case(s)", style="bold red") if n_failed
                  else Text(f"GATE PASSED: {n} case(s)", style="bold green"))
