"""`pyparity golden save|list|show`: blessed traces (goldens) that the gate compares runs against."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

from pyparity.cli.common import guarded

golden_app = typer.Typer(help="Blessed traces (goldens) that the gate compares runs against.", no_args_is_help=True)

_ROOT_HELP = "Golden root folder (default: $PYPARITY_GOLDENS or ./goldens)."


def _root(root: Optional[Path]) -> Path:
    return root or Path(os.environ.get("PYPARITY_GOLDENS", "goldens"))


@golden_app.command("save")
@guarded
def golden_save(
    trace: Path = typer.Argument(..., help="Trace directory to bless."),
    name: str = typer.Option(..., "--name", help="Golden name, e.g. mtcnn/sample1."),
    stages: Optional[List[str]] = typer.Option(None, "--stages", help="Keep only stages matching this glob (repeatable)."),
    update: bool = typer.Option(False, "--update", help="Replace an existing golden (prints what changed)."),
    root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP),
) -> None:
    """Store TRACE (or its selected stages) as golden NAME, with its producer metadata; atomic."""
    from pyparity.gate.goldens import save_golden
    from pyparity.trace import read_trace

    change = save_golden(read_trace(trace), name, _root(root), stages=stages, update=update)
    typer.echo(change.describe())
    raise typer.Exit(1 if change.action == "refused" else 0)


@golden_app.command("list")
def golden_list(root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP)) -> None:
    """List goldens with their producer and size."""
    from pyparity.gate.goldens import describe_goldens

    for line in describe_goldens(_root(root)):
        typer.echo(line)


@golden_app.command("show")
@guarded
def golden_show(
    name: str = typer.Argument(..., help="Golden name."),
    root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP),
) -> None:
    """Show a golden's metadata and stages."""
    from pyparity.cli.output import console_for, say
    from pyparity.gate.goldens import load_golden
    from pyparity.render.table import render_trace

    tr = load_golden(_root(root), name, False)
    console = console_for()
    g = tr.meta.get("golden", {})
    say(console, f"golden {name}: stages {g.get('stages') or ['*']}, from {g.get('source', '?')}, "
                 f"blessed {g.get('blessed_at', '?')}, score vs reference {g.get('ref_score')}")
    render_trace(tr, console)
