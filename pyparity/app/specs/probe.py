"""A probe (a third-party port run under capture, `pyparity.probe`) as a pipeline: ``probe:NAME``.

Its default policy is the probe's own (``[probe] policy``), and a run is compared on the stages the
probe records plus those it declares (a stage the port never reached is reported as only in A)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pyparity.app.spec import PipelineSpec, RunContext


@dataclass(frozen=True)
class ProbeOptions:
    """model_dir: the OpenFace model folder a probe's ``$models`` names (None: the model manager's).
    shared_dir: the shared data folder its ``$shared`` names (None: ``$PYPARITY_SHARED``)."""

    model_dir: Path | None = None
    shared_dir: Path | None = None


def probe_spec(name_or_path: str | os.PathLike) -> PipelineSpec:
    """The spec of a shipped probe (by name) or a probe file (by path)."""
    from pyparity.probe import load_probe

    probe = load_probe(name_or_path)

    def run(ctx: RunContext):
        from pyparity.app.specs.common import checked_model_dir
        from pyparity.probe import run_probe

        return run_probe(probe, ctx.input, ctx.rec, reference=ctx.reference,
                         model_dir=checked_model_dir(ctx.options.model_dir), shared_dir=ctx.options.shared_dir)

    def scope(trace, options) -> list[str]:
        from pyparity.trace.trace import glob_escape

        return sorted({glob_escape(n) for n in trace.names}) + probe.stage_globs()

    return PipelineSpec(
        name=f"probe:{probe.name}", about=probe.description or f"the port {probe.name} under capture",
        policy=probe.policy or "default", run=run, options=ProbeOptions, scope=scope,
        producer=lambda options: {"probe_file": str(probe.path)},
    )
