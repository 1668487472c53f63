"""`pyparity record PROBE INPUT`: a third-party port run under capture, its stages recorded (`hunt` compares)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pyparity.cli.common import guarded
from pyparity.cli.run_options import ModelDir

PROBE_HELP = "Probe file, or the name of a shipped probe (e.g. pymtcnn-1.2)."
SharedDir = Annotated[Optional[Path], typer.Option("--shared", help=(
    "The shared data folder, $shared in probe files (default: $PYPARITY_SHARED)."))]


def _probe_spec(probe: str):
    from pyparity.app.specs.probe import probe_spec

    return probe_spec(probe)


@guarded
def record(
    probe: str = typer.Argument(..., help=PROBE_HELP),
    input_path: Path = typer.Argument(..., help="The input the port runs on (an image)."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Reference dump, for $ref: inputs."),
    model_dir: ModelDir = None,
    shared: SharedDir = None,
) -> None:
    """Run a third-party port under capture and record its stages under the reference's names."""
    from pyparity.cli.output import console_for, say
    from pyparity.app import record as record_run
    from pyparity.app.specs.probe import ProbeOptions

    spec = _probe_spec(probe)
    trace, _, _ = record_run(spec, input_path, ProbeOptions(model_dir, shared), out=out, reference=reference)
    say(console_for(), f"{out}: {len(trace)} stages recorded by {spec.name}")
