"""`pyparity diff A B`: compare two traces / reference dumps stage by stage."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyparity.cli.options import report_options


@report_options()
def diff(
    a: Path = typer.Argument(..., help="Reference trace or dump directory (A)."),
    b: Path = typer.Argument(..., help="Candidate trace or dump directory (B)."),
    map_file: Optional[Path] = typer.Option(None, "--map", help="Mapping TOML: renames / ignores stages."),
    *, reports,
) -> None:
    """Compare B against A stage by stage; name the first divergence and its likely cause.

    Exit code: 0 all aligned stages match, 1 divergence or nothing compared, 2 bad usage or unreadable input.
    """
    from pyparity.cli.output import console_for, print_report
    from pyparity.app import compare, write_reports
    from pyparity.diff import load_mapping
    from pyparity.trace import read_trace

    ta, tb = read_trace(a), read_trace(b)
    report = compare(tb, ta, reports, mapping=load_mapping(map_file) if map_file else None)
    print_report(report, reports, console_for(reports))
    write_reports(report, reports, ta, tb)
    raise typer.Exit(0 if report.ok else 1)
