"""`pyparity record PROBE INPUT` and `pyparity hunt PROBE INPUT --reference DUMP`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cli.common import checked_model_dir, diff_and_report


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


def hunt(
    probe: str = typer.Argument(..., help="Probe file, or the name of a shipped probe."),
    input_path: Path = typer.Argument(..., help="The input the port runs on (an image)."),
    reference: Path = typer.Option(..., "--reference", help="The reference dump to compare with."),
    policy: Optional[str] = typer.Option(None, "--policy", help="Tolerance policy: a built-in name or a TOML path "
                                         "(default: the probe's own policy = ..., else the built-in one)."),
    stage: Optional[List[str]] = typer.Option(None, "--stage", help="Only stages matching this glob."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also keep the recorded trace here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the diff report as JSON."),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write an HTML report."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder ($models)."),
    max_rows: int = typer.Option(40, "--max-rows", min=1),
) -> None:
    """Record a port with a probe and diff it against a reference dump (exit codes as `diff`).

    Only the stages the probe can record are compared (the reference holds many more); a reference stage
    the probe declares but the port never reached is reported as only in A.
    """
    from pyparity.diff.policy_names import resolve_policy
    from pyparity.probe import load_probe, record_probe
    from pyparity.trace import read_trace

    p = load_probe(probe)
    ref = read_trace(reference)
    pol = resolve_policy(policy if policy is not None else p.policy)  # the probe's: honest about its port
    trace, _ = record_probe(p, input_path, out=out, reference=ref, model_dir=checked_model_dir(model_dir))
    sel = stage or None
    sub = ref.select(sorted(set(trace.names)) + p.stage_globs()) if not sel else ref
    code = diff_and_report(sub, trace, policy=pol, stages=sel,
                           json_out=json_out, junit_out=junit_out, html_out=html_out, max_rows=max_rows)
    raise typer.Exit(code)
