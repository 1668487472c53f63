"""`pyparity show TRACE [STAGE]`: what a trace holds."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def show(
    trace: Path = typer.Argument(..., help="Trace or reference dump directory."),
    stage: Optional[str] = typer.Argument(None, help="A stage name: print its values."),
    max_rows: Optional[int] = typer.Option(None, "--max-rows", min=1, help="Stages to list at most."),
) -> None:
    """The tree of stages with shape, dtype and summary statistics; with STAGE, its values."""
    from pyparity.errors import TraceError
    from pyparity.render.table import make_console, render_trace
    from pyparity.trace import read_trace

    t = read_trace(trace)
    if stage is not None and stage not in t:
        raise TraceError(f"{trace}: no stage named {stage!r} (try `pyparity show {trace}` for the list)")
    render_trace(t, make_console(), stage=stage, max_rows=max_rows)
