"""`pyparity diff A B`: compare two traces / reference dumps stage by stage."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cli.common import diff_and_report


def diff(
    a: Path = typer.Argument(..., help="Reference trace or dump directory (A)."),
    b: Path = typer.Argument(..., help="Candidate trace or dump directory (B)."),
    policy: Optional[str] = typer.Option(None, "--policy", help="Tolerance policy: a built-in name (mtcnn, "
                                         "openface, ...) or a TOML path (./NAME for a file here); default: built-in."),
    map_file: Optional[Path] = typer.Option(None, "--map", help="Mapping TOML: renames / ignores stages."),
    stage: Optional[List[str]] = typer.Option(None, "--stage", help="Only stages matching this glob (repeatable)."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the report as JSON here."),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report here."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write a self-contained HTML report here."),
    table: bool = typer.Option(False, "--table", help="Print the stage table even when every stage matches "
                               "(a failing diff always prints it)."),
    max_rows: Optional[int] = typer.Option(None, "--max-rows", min=1, help="Rows of the stage table to print "
                                           "(default 40; implies --table)."),
    github: bool = typer.Option(False, "--github", help="GitHub Actions: print ::error annotations for the "
                                "divergences and append a summary to $GITHUB_STEP_SUMMARY."),
    diagnose_all: bool = typer.Option(False, "--diagnose-all", help="Diagnose every diverged stage."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table; exit code and reports only."),
) -> None:
    """Compare B against A stage by stage; name the first divergence and its likely cause.

    Exit code: 0 all aligned stages match, 1 divergence, 2 bad usage or unreadable input.
    """
    from pyparity.diff import load_mapping
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.trace import read_trace

    ta, tb = read_trace(a), read_trace(b)
    pol = resolve_policy(policy)
    mapping = load_mapping(map_file) if map_file else None
    code = diff_and_report(ta, tb, policy=pol, mapping=mapping, stages=stage or None, json_out=json_out,
                           junit_out=junit_out, html_out=html_out, max_rows=max_rows or 40, quiet=quiet,
                           diagnose_all=diagnose_all, table=True if table or max_rows else None, github=github)
    raise typer.Exit(code)
