"""`pyparity gate CORPUS`: run a corpus's pipelines, diff against goldens and references."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pyparity.cli.options import report_options
from pyparity.executors import ExecutorKind


@report_options(what="the gate results", html_help="Write one HTML report per case and an index.html in this folder.")
def gate(
    corpus: Path = typer.Argument(..., help="Corpus spec (TOML)."),
    update: bool = typer.Option(False, "--update", help="Bless this run's results as the goldens (prints what changed)."),
    force: bool = typer.Option(False, "--force", help="With --update: bless even runs that got worse against the "
                               "reference."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="Worker processes (default: CPU count)."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", envvar="PYPARITY_MODEL_DIR", help="OpenFace model "
                                             "folder (default: $PYPARITY_MODEL_DIR or the model manager's)."),
    goldens: Optional[Path] = typer.Option(None, "--goldens", help="Golden root (default: the spec's)."),
    inject: Optional[List[str]] = typer.Option(None, "--inject-regression", hidden=True,
                                               help="Self-test: perturb STAGE_GLOB[=DELTA] in every run."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="Where cases run: local processes, or "
                                      "dask (a LocalCluster sized to this machine, or the cluster at --scheduler)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With --executor dask: an existing cluster's "
                                            "scheduler address (tcp://HOST:8786); inputs at the same paths there."),
    resume: bool = typer.Option(False, "--resume", help="Skip cases whose journaled result is current (same case, "
                                "input and reference files, goldens, policies, pyparity version)."),
    fail_fast: bool = typer.Option(False, "--fail-fast", help="Stop at the first failed case."),
    timeout: Optional[float] = typer.Option(None, "--timeout", min=0.001, help="Seconds a case may run; a case "
                                            "over it is an error."),
    results: Optional[Path] = typer.Option(None, "--results", help="Results journal, one JSON line per case "
                                           "(default: in ~/.cache/pyparity/gate/, one per spec)."),
    *, reports,
) -> None:
    """Run the corpus's pipelines on its inputs, diff against goldens (and references); exit 1 on any regression.

    Exit code: 0 all cases pass, 1 a regression / divergence / failed case, 2 bad spec or goldens.
    """
    from pyparity.cli.output import console_for, say
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.gate.corpus import load_corpus
    from pyparity.executors import make_executor
    from pyparity.gate.journal import Journal, default_journal
    from pyparity.gate.outcome import GateOptions
    from pyparity.gate.reports import write_gate_reports
    from pyparity.gate.runner import stream_gate
    from pyparity.render.gate import render_summary
    from pyparity.render.table import make_console

    spec = load_corpus(corpus)
    opts = GateOptions(goldens=goldens or spec.goldens, model_dir=checked_model_dir(model_dir), update=update,
                       force=force, html_dir=reports.html, inject=list(inject or []), reports=reports, timeout=timeout)
    runner = make_executor(executor.value, jobs, len(spec.cases), scheduler)
    outcomes = stream_gate(spec, opts, executor=runner, journal=Journal(results or default_journal(spec.path)),
                           resume=resume, fail_fast=fail_fast, console=make_console(stderr=True),
                           progress=not no_progress)
    console = console_for(reports)
    render_summary(outcomes, console, max_rows=reports.max_rows, table=not reports.quiet)
    index = write_gate_reports(outcomes, spec, reports)
    if index is not None:
        say(console, f"html: {index}")
    raise typer.Exit(0 if outcomes.ok else 1)
