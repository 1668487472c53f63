"""Pieces every command shares: the console, error exits, and 'report a run' for `run` commands."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from pyparity.errors import PyparityError

EXIT_OK, EXIT_DIVERGED, EXIT_USAGE = 0, 1, 2


def fail(message: str) -> "typer.Exit":
    """Print one line to stderr and exit 2 (bad usage or unreadable input)."""
    from pyparity.render.table import print_error

    print_error(message)
    raise typer.Exit(EXIT_USAGE)


_started: float | None = None


def mark_command_start() -> None:
    """Where a command's time starts (the summary block and the reports print the time since)."""
    global _started
    _started = time.perf_counter()


def command_seconds() -> float | None:
    return None if _started is None else time.perf_counter() - _started


def diff_and_report(
    a, b, policy=None, mapping=None, stages=None, json_out: Path | None = None, junit_out: Path | None = None,
    html_out: Path | None = None, max_rows: int = 40, quiet: bool = False, diagnose_all: bool = False,
    table: bool | None = None, github: bool = False,
) -> int:
    """Diff trace ``b`` against reference ``a``, print the result, write reports; returns the exit code."""
    from pyparity.diff import diff_traces

    report = diff_traces(a, b, policy=policy, mapping=mapping, stages=stages, diagnose_all=diagnose_all)
    report.require_every_stage_glob()  # a --stage typo beside globs that match: refused, not ignored
    return present_report(report, a, b, json_out=json_out, junit_out=junit_out, html_out=html_out,
                          max_rows=max_rows, quiet=quiet, table=table, github=github)


def present_report(report, a, b, json_out: Path | None = None, junit_out: Path | None = None,
                   html_out: Path | None = None, max_rows: int = 40, quiet: bool = False,
                   table: bool | None = None, github: bool = False) -> int:
    """Print a diff report (``table``: None = the stage table only when it failed), write the asked
    reports (``github``: annotations and the step summary); returns the exit code."""
    from pyparity.render.table import make_console, render_diff

    elapsed = command_seconds()
    if not quiet:
        render_diff(report, make_console(), max_rows=max_rows, table=table, elapsed=elapsed)
    if json_out:
        from pyparity.render.json_report import write_json

        write_json(report, json_out)
    if junit_out:
        from pyparity.render.junit import write_junit

        write_junit([(Path(str(b.source)).name or "run", report)], junit_out)
    if html_out:
        from pyparity.render.html import write_html

        write_html(report, html_out, reference=a, candidate=b)
    if github:
        from pyparity.render.github import write_github

        write_github(report, elapsed=elapsed)
    return EXIT_OK if report.ok else EXIT_DIVERGED


def finish_run(
    trace, out: Path | None = None, diff_against: Path | None = None, policy: Path | str | None = None,
    json_out: Path | None = None, junit_out: Path | None = None, html_out: Path | None = None,
    max_rows: int = 40, stages: list[str] | None = None,
) -> int:
    """What a `pyparity run <pipeline>` does after the pipeline ran: report and optionally diff.

    ``policy`` is a built-in policy name or a path (`pyparity.diff.policy_names`).
    Returns the exit code (0 parity or no diff asked, 1 divergence or nothing compared).
    """
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.render.table import make_console
    from pyparity.trace import read_trace

    console = make_console()
    if out is not None:
        console.print(f"trace: {out} ({len(trace)} stages)", markup=False, highlight=False)
    if diff_against is None:
        if out is None:
            console.print(f"{len(trace)} stages recorded (use --out to keep them, --diff to compare)")
        return EXIT_OK
    ref = read_trace(diff_against)
    return diff_and_report(ref, trace, policy=resolve_policy(policy), stages=stages or recorded_prefixes(trace),
                           json_out=json_out, junit_out=junit_out, html_out=html_out, max_rows=max_rows)


def recorded_prefixes(trace) -> list[str]:
    """Globs for the top-level groups a run recorded: compare only those (a reference dump holds
    later pipelines' stages too)."""
    return [p + "/**" for p in sorted({n.split("/")[0] for n in trace.names})]


def start_from_reference(from_reference: Path | None, start: str | None):
    """``--from-reference DUMP --start STAGE`` (given together or not at all) as ``(trace, stage)``, or None."""
    from pyparity.trace import read_trace

    if (from_reference is None) != (start is None):
        raise PyparityError("--from-reference and --start go together")
    return (read_trace(from_reference), start) if from_reference is not None else None


def checked_model_dir(model_dir: Path | None, group: str = "openface") -> Path | None:
    """``--model-dir`` (``--au-dir``: group ``openface_au``), its files checked against the model manifest
    exactly as ``$PYPARITY_MODEL_DIR``'s (``$PYPARITY_AU_DIR``'s) are, size and sha256; None stays None
    (the pipeline asks the model manager, which checks too)."""
    if model_dir is None:
        return None
    from pyparity.models.manager import verified_group_dir

    return verified_group_dir(group, model_dir)


def run_guarded(fn, *args, **kwargs):
    """Call ``fn``; a PyparityError becomes one line on stderr and exit 2."""
    try:
        return fn(*args, **kwargs)
    except PyparityError as exc:
        fail(str(exc))
