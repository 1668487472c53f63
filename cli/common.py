"""What every command shares: exit codes, one-line errors with the command's own flags, and printing
what the application layer returns (a run's lines, its trace, the stage table, notes)."""

from __future__ import annotations

import typer

EXIT_OK, EXIT_DIVERGED, EXIT_USAGE = 0, 1, 2


def flag_for(param: str) -> str:
    """The command-line spelling of a library parameter (``model_dir`` -> ``--model-dir``)."""
    return "--" + param.replace("_", "-")


def error_text(exc: Exception) -> str:
    """A library error as the command line says it (its parameter as a flag)."""
    return exc.for_flags(flag_for) if hasattr(exc, "for_flags") else str(exc)


def flags_of(fn) -> dict[str, str]:
    """A command's options as ``{parameter name: its first long flag}`` (from its typer declarations)."""
    import inspect

    flags = {}
    for p in inspect.signature(fn).parameters.values():
        infos = [p.default] + list(getattr(p.annotation, "__metadata__", ()))
        for info in infos:
            decls = [d for d in (getattr(info, "param_decls", None) or ()) if str(d).startswith("--")]
            if decls:
                flags[p.name] = decls[0]
    return flags


def guarded(fn):
    """A command whose library errors become one line on stderr naming its own flag, and exit 2."""
    import functools

    from pyparity.errors import PyparityError

    flags = flags_of(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PyparityError as exc:
            fail(exc.for_flags(lambda p: flags.get(p) or flag_for(p)))
    return wrapper


def fail(message: str) -> "typer.Exit":
    """Print one line to stderr and exit 2 (bad usage or unreadable input)."""
    from pyparity.render.table import print_error

    print_error(message)
    raise typer.Exit(EXIT_USAGE)


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
