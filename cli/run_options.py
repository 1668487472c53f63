"""The options every `pyparity run <pipeline>` shares: where the trace goes, what it is compared with,
where it starts (`RunTarget`), and the OpenFace model folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from pyparity.cli.options import keyword_option, option_group


@dataclass(frozen=True)
class RunTarget:
    """Where a run's trace goes, what it is compared with, and where it starts."""

    out: Path | None
    diff: Path | None
    from_reference: Path | None
    start: str | None

    def stage_ref(self):
        """``--from-reference DUMP --start STAGE`` (together or not at all) as a `StageRef`, or None."""
        from pyparity.errors import UsageError
        from pyparity.trace import StageRef, read_trace

        if (self.from_reference is None) != (self.start is None):
            raise UsageError("--from-reference and --start go together")
        return StageRef(read_trace(self.from_reference), self.start) if self.from_reference is not None else None


def run_options(start_help: str, out_help: str = "Write the trace here.",
                diff_help: str = "Reference dump to diff against.", start_type=str):
    """``--out --diff --from-reference --start`` -> ``target`` (a `RunTarget`)."""
    params = [
        keyword_option("out", Annotated[Optional[Path], typer.Option("--out", help=out_help)]),
        keyword_option("reference", Annotated[Optional[Path], typer.Option("--diff", help=diff_help)]),
        keyword_option("from_reference", Annotated[Optional[Path], typer.Option("--from-reference", help=(
            "Reference dump to take the stages before --start from."))]),
        keyword_option("start", Annotated[Optional[start_type], typer.Option("--start", help=start_help)]),
    ]

    def build(out, reference, from_reference, start):
        return RunTarget(out, reference, from_reference, None if start is None else str(getattr(start, "value", start)))

    return option_group("target", params, build)


ModelDir = Annotated[Optional[Path], typer.Option("--model-dir", help=(
    "OpenFace model folder (checked against the model manifest; default: the model manager's)."))]
