"""The gate's reports: the summary table, progress, JSON, JUnit and the HTML index (each a function of
the cases' outcomes; the per-case pages are `html.write_html`'s)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from pyparity.render.escape import printable, printable_lines

_STYLE = {"pass": "green", "unchanged": "green", "new": "cyan", "updated": "cyan"}
_ORDER = ("pass", "unchanged", "new", "updated", "regression", "diverged", "error", "refused", "nothing-compared")


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
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]gate"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("{task.description}"), console=console, transient=False)


def show_progress(prog, task, o) -> None:
    from rich.markup import escape as markup_escape

    prog.update(task, advance=1, description=markup_escape(printable(f"{o.name}: {o.status}")))
    if o.failed:
        prog.console.print(printable(f"{o.status.upper()} {o.name}: "
                                     f"{o.golden_first or o.reference_first or o.message}"), markup=False)


GATE_SCHEMA = "pyparity-gate-report/1"  # pyparity/schemas/gate-report-1.schema.json, docs/reports.md


def gate_document(outcomes, corpus) -> dict:
    """The gate's JSON report: ``schema`` and ``pyparity`` (the version that wrote it) first."""
    import pyparity

    return {"schema": GATE_SCHEMA, "pyparity": pyparity.__version__, "corpus": str(corpus.path), "name": corpus.name,
            "ok": not any(o.failed for o in outcomes),
            "counts": {s: sum(o.status == s for o in outcomes) for s in sorted({o.status for o in outcomes})},
            "seconds": round(sum(o.seconds for o in outcomes), 6),
            "cases": [o.to_dict() for o in outcomes]}


def gate_json(outcomes, corpus) -> str:
    return json.dumps(gate_document(outcomes, corpus), indent=1) + "\n"


def gate_junit(outcomes) -> str:
    from pyparity.render.junit import junit_document, junit_text

    return junit_text(junit_document([ET.fromstring(x) for o in outcomes for x in o.junit], name="pyparity gate"))


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
    when it carries its report, then its summary)."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD if console.is_terminal else box.ASCII2, pad_edge=False)
    for col in ("case", "pipeline", "status", "vs golden", "vs reference", "first divergence / message"):
        t.add_column(col, no_wrap=col != "first divergence / message", overflow="fold")
    for o in outcomes:
        detail = o.golden_first or o.reference_first or o.message or o.golden_change
        t.add_row(Text(printable(o.name)), Text(printable(o.pipeline)), Text(o.status, style=_STYLE.get(o.status, "red")),
                  o.golden_status or "-", o.reference_status or "-", Text(printable(detail or "")))
    console.print(t)
    console.print(", ".join(f"{sum(o.status == s for o in outcomes)} {s}" for s in _ORDER
                            if any(o.status == s for o in outcomes)))
    for o in outcomes:
        if o.golden_change and o.status in ("updated", "refused"):
            console.print(printable_lines(o.golden_change), markup=False)
    failed = [o for o in outcomes if o.failed]
    if failed:  # the first failing case in full; the table names the others
        o = failed[0]
        console.print(Text(printable(f"{o.status.upper()} {o.name}"), style="bold red"))
        if table and o.report is not None:
            from pyparity.render.table import render_diff

            render_diff(o.report, console, max_rows=max_rows)
        text = (o.golden_summary if o.status == "regression"
                else o.reference_summary if o.status == "diverged" or o.reference_status == "nothing-compared"
                else o.golden_summary if o.status == "nothing-compared" else o.reference_summary or o.message)
        for s in printable_lines(text or o.message).splitlines():
            console.print("  " + s, markup=False)
    console.print(Text(f"GATE FAILED: {len(failed)} of {len(outcomes)} case(s)", style="bold red") if failed
                  else Text(f"GATE PASSED: {len(outcomes)} case(s)", style="bold green"))
