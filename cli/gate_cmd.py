"""`pyparity golden save|list|show` and `pyparity gate CORPUS`: goldens and the regression gate."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer

golden_app = typer.Typer(help="Blessed traces (goldens) that the gate compares runs against.", no_args_is_help=True)

_ROOT_HELP = "golden root folder (default: $PYPARITY_GOLDENS or ./goldens)"


def _root(root: Optional[Path]) -> Path:
    return root or Path(os.environ.get("PYPARITY_GOLDENS", "goldens"))


@golden_app.command("save")
def golden_save(
    trace: Path = typer.Argument(..., help="trace directory to bless"),
    name: str = typer.Option(..., "--name", help="golden name, e.g. mtcnn/sample1"),
    stages: Optional[List[str]] = typer.Option(None, "--stages", help="keep only stages matching this glob (repeatable)"),
    update: bool = typer.Option(False, "--update", help="replace an existing golden (prints what changed)"),
    root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP),
) -> None:
    """Store TRACE (or its selected stages) as golden NAME, with its producer metadata; atomic."""
    from cli.common import run_guarded
    from pyparity.gate.goldens import save_golden
    from pyparity.trace import read_trace

    change = run_guarded(lambda: save_golden(read_trace(trace), name, _root(root), stages=stages, update=update))
    typer.echo(change.describe())
    raise typer.Exit(1 if change.action == "refused" else 0)


@golden_app.command("list")
def golden_list(root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP)) -> None:
    """List goldens with their producer and size."""
    from pyparity.gate.goldens import list_goldens, read_golden_meta

    items = list_goldens(_root(root))
    if not items:
        typer.echo(f"no goldens under {_root(root)}")
        return
    for name, path in items:
        try:
            meta = read_golden_meta(path)
            prod = meta.get("producer", {})
            n = sum(1 for _ in (path / "index.tsv").open()) - 1
            typer.echo(f"{name}\t{n} stages\t{prod.get('name', '?')} {prod.get('version', '?')} "
                       f"{prod.get('pipeline', '')}\t{meta['golden'].get('blessed_at', '')}")
        except Exception as exc:  # a damaged entry is listed, not fatal
            typer.echo(f"{name}\tUNUSABLE: {exc}")


@golden_app.command("show")
def golden_show(
    name: str = typer.Argument(..., help="golden name"),
    root: Optional[Path] = typer.Option(None, "--root", help=_ROOT_HELP),
) -> None:
    """Show a golden's metadata and stages."""
    from cli.common import run_guarded
    from pyparity.gate.goldens import load_golden
    from pyparity.render.table import make_console, render_trace

    tr = run_guarded(load_golden, _root(root), name, False)
    console = make_console()
    g = tr.meta.get("golden", {})
    console.print(f"golden {name}: stages {g.get('stages') or ['*']}, from {g.get('source', '?')}, "
                  f"blessed {g.get('blessed_at', '?')}, score vs reference {g.get('ref_score')}", markup=False)
    render_trace(tr, console)


def gate(
    corpus: Path = typer.Argument(..., help="corpus spec (TOML)"),
    update: bool = typer.Option(False, "--update", help="bless this run's results as the goldens (prints what changed)"),
    force: bool = typer.Option(False, "--force", help="with --update: bless even runs that got worse against the reference"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the gate results as JSON"),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="write JUnit XML (one test case per input x stage group)"),
    html_dir: Optional[Path] = typer.Option(None, "--html", help="write one HTML report per case and an index.html here"),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="worker processes (default: CPU count)"),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", envvar="PYPARITY_MODEL_DIR",
                                             help="OpenFace model folder (default: $PYPARITY_MODEL_DIR or the model manager's)"),
    goldens: Optional[Path] = typer.Option(None, "--goldens", help="golden root (default: the spec's)"),
    inject: Optional[List[str]] = typer.Option(None, "--inject-regression", hidden=True,
                                               help="self-test: perturb STAGE_GLOB[=DELTA] in every run"),
    no_progress: bool = typer.Option(False, "--no-progress", help="no progress bar"),
) -> None:
    """Run the corpus's pipelines on its inputs, diff against goldens (and references); exit 1 on any regression.

    Exit code: 0 all cases pass, 1 a regression / divergence / failed case, 2 bad spec or goldens.
    """
    from cli.common import checked_model_dir, run_guarded
    from pyparity.gate.corpus import load_corpus
    from pyparity.gate.runner import (GateOptions, render_summary, run_gate, write_gate_index, write_gate_json,
                                      write_gate_junit)
    from pyparity.render.table import make_console

    spec = run_guarded(load_corpus, corpus)
    model_dir = run_guarded(checked_model_dir, model_dir)  # from --model-dir or $PYPARITY_MODEL_DIR
    opts = GateOptions(goldens=goldens or spec.goldens, model_dir=model_dir, update=update, force=force,
                       html_dir=html_dir, inject=list(inject or []))
    console = make_console()
    outcomes = run_guarded(run_gate, spec, opts, jobs=jobs, console=make_console(stderr=True),
                           progress=not no_progress)
    render_summary(outcomes, console)
    if json_out:
        write_gate_json(outcomes, spec, json_out)
    if junit_out:
        write_gate_junit(outcomes, junit_out)
    if html_dir:
        console.print(f"html: {write_gate_index(outcomes, spec, html_dir)}", markup=False, highlight=False)
    raise typer.Exit(1 if any(o.failed for o in outcomes) else 0)
