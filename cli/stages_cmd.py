"""`pyparity stages [GLOB]`: where each recorded stage is computed, here and in the reference."""

from __future__ import annotations

import json
from typing import Optional

import typer


def stages(
    glob: Optional[str] = typer.Argument(None, help="Stage names to look up, as a glob (* stays in a component, ** "
                                         "crosses): mtcnn/pnet/*, 'face00/clnf/h00/fit/s0/rigid/it00/*'; none: all."),
    as_json: bool = typer.Option(False, "--json", help="Print the entries as JSON instead of a list."),
) -> None:
    """Where stages are computed: each declared pattern matching GLOB, its recording module and function, and the
    reference's function (exit 1 when none matches)."""
    from pyparity.cli.output import console_for, say
    from pyparity.app.stages import query, where

    found = [where(s, glob) for s in query(glob)]
    if as_json:
        typer.echo(json.dumps([w.to_dict() for w in found], indent=1))
    else:
        from pyparity.render.stages import render_stages

        console = console_for()
        render_stages(found, console)
        deeper = len(query(glob.rstrip("*") + "**")) - len(found) if glob and glob.endswith("/*") else 0
        say(console, f"{len(found)} stage pattern(s)" + (f" matching {glob}" if glob else "")
            + (f"; {deeper} more below it: {glob.rstrip('*')}**" if deeper > 0 else ""))
    raise typer.Exit(0 if found else 1)
