"""Printing what the application layer returns: a run's lines, where its trace went, the stage table,
the checks' notes; and `run_command`, what every `pyparity run <pipeline>` does once its flags are parsed."""

from __future__ import annotations

import typer


def console_for(reports=None):
    """The console for tables and messages: standard error when JSON goes to standard output."""
    from pyparity.render.table import make_console

    return make_console(stderr=bool(reports is not None and reports.json_to_stdout))


def say(console, text: str) -> None:
    """One message, control characters escaped (names come from files), never wrapped."""
    from pyparity.render.escape import printable_lines

    console.print(printable_lines(text), markup=False, highlight=False, soft_wrap=True)


def print_report(report, reports, console) -> None:
    """The stage table of a `DiffReport` (nothing with ``--quiet``)."""
    if reports.quiet:
        return
    from pyparity.render.table import render_diff

    render_diff(report, console, max_rows=reports.max_rows, table=reports.table, elapsed=reports.elapsed())


def print_outcome(outcome, reports) -> int:
    """Print a `RunOutcome` (the run's lines, where its trace went, the table, the checks' notes);
    returns its exit code."""
    console = console_for(reports)
    for line in outcome.lines:
        say(console, line)
    if outcome.trace is None and outcome.out is not None:
        say(console, f"traces: {outcome.out} ({outcome.frames} frames)")
    elif outcome.out is not None:
        say(console, f"trace: {outcome.out} ({len(outcome.trace)} stages)")
    elif outcome.report is None and outcome.trace is not None:
        say(console, f"{len(outcome.trace)} stages recorded (use --out to keep them, --diff to compare)")
    if outcome.report is not None and hasattr(outcome.report, "stages"):
        print_report(outcome.report, reports, console)
    for note in outcome.notes:
        say(console, note)
    return outcome.exit_code


def run_command(spec_name: str, input, options, target, reports) -> None:
    """What every ``pyparity run <pipeline>`` does once its flags are parsed: run, compare, print, exit."""
    from pyparity.app import run_and_diff, spec

    s = spec(spec_name)
    console = console_for(reports)
    outcome = run_and_diff(s, input, options, reference=target.diff, start=target.stage_ref(), out=target.out,
                           reports=reports, on_frame=(lambda line: say(console, line)) if s.frames else None)
    raise typer.Exit(print_outcome(outcome, reports))
