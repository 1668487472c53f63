"""`pyparity record PROBE INPUT --out TRACE` (`hunt` is in hunt_cmd.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from cli.common import checked_model_dir


def record(
    probe: str = typer.Argument(..., help="Probe file, or the name of a shipped probe (e.g. pymtcnn-1.2)."),
    input_path: Path = typer.Argument(..., help="The input the port runs on (an image)."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Reference dump, for $ref: inputs."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder ($models)."),
) -> None:
    """Run a third-party port under capture and record its stages under the reference's names."""
    from pyparity.probe import load_probe, record_probe
    from pyparity.render.table import make_console
    from pyparity.trace import read_trace

    p = load_probe(probe)
    ref = read_trace(reference) if reference else None
    trace, _ = record_probe(p, input_path, out=out, reference=ref, model_dir=checked_model_dir(model_dir))
    make_console().print(f"{out}: {len(trace)} stages recorded by probe {p.name}", markup=False, highlight=False)
