"""`pyparity gate CORPUS`: run a corpus's pipelines, diff against goldens and references."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from cli.options import report_options


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
    *, reports,
) -> None:
    """Run the corpus's pipelines on its inputs, diff against goldens (and references); exit 1 on any regression.

    Exit code: 0 all cases pass, 1 a regression / divergence / failed case, 2 bad spec or goldens.
    """
    from cli.output import console_for, say
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.gate.corpus import load_corpus
    from pyparity.gate.runner import GateOptions, run_gate, write_gate_reports
    from pyparity.render.gate import render_summary
    from pyparity.render.table import make_console

    spec = load_corpus(corpus)
    opts = GateOptions(goldens=goldens or spec.goldens, model_dir=checked_model_dir(model_dir), update=update,
                       force=force, html_dir=reports.html, inject=list(inject or []), reports=reports)
    outcomes = run_gate(spec, opts, jobs=jobs, console=make_console(stderr=True), progress=not no_progress)
    console = console_for(reports)
    render_summary(outcomes, console, max_rows=reports.max_rows, table=not reports.quiet)
    index = write_gate_reports(outcomes, spec, reports)
    if index is not None:
        say(console, f"html: {index}")
    raise typer.Exit(1 if any(o.failed for o in outcomes) else 0)
