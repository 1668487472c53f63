"""`pyparity hunt PROBE INPUT --reference R [--isolate] [--isolate-all]` and `hunt PROBE --corpus SPEC|DIR
[--executor local|dask] [--scheduler ADDRESS] [--jobs N]`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyparity.cli.options import report_options
from pyparity.cli.probe_cmd import SharedDir
from pyparity.cli.run_options import ModelDir
from pyparity.executors import ExecutorKind


@report_options(what="the hunt", html_help="Write an HTML report of the hunt here.")
def hunt(
    probe: str = typer.Argument(..., help="Probe file, or the name of a shipped probe (e.g. pymtcnn-1.2)."),
    input_path: Optional[Path] = typer.Argument(None, help="An image, an image folder or a video (a sequence: "
                                                "the port is called frame after frame)."),
    reference: Optional[str] = typer.Option(None, "--reference", help="A reference dump (a folder of frame dumps "
                                            "for a sequence), or pyparity:mtcnn|openface-image|clnf|openface-sequence "
                                            "(pyparity's port run on the same input)."),
    isolate: bool = typer.Option(False, "--isolate", help="Re-run the port with the reference injected where it "
                                 "diverged, until the output matches: every introducing stage, with its diagnosis."),
    isolate_all: bool = typer.Option(False, "--isolate-all", help="Also feed every injectable stage the reference's "
                                     "inputs in one run (each stage tested on its own)."),
    max_runs: int = typer.Option(20, "--max-runs", min=1, help="Runs of the port per input, at most."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="A corpus spec or a folder of images: hunt each "
                                          "input and sum up."),
    executor: ExecutorKind = typer.Option(ExecutorKind.local, "--executor", help="--corpus: where inputs are hunted: "
                                          "local processes, or dask (a LocalCluster, or the cluster at --scheduler)."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", min=1, help="--corpus: workers (default: CPU count)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", help="With --executor dask: an existing cluster's "
                                            "scheduler address (tcp://HOST:8786); inputs at the same paths there."),
    shared: SharedDir = None,
    out: Optional[Path] = typer.Option(None, "--out", help="Keep the port's (first) trace here."),
    model_dir: ModelDir = None,
    model: str = typer.Option("ccnf", "--model", help="pyparity: reference's landmark model: ccnf or ceclm."),
    cen_dir: Optional[Path] = typer.Option(None, "--cen-dir", help="pyparity: reference, CE-CLM: CEN experts folder."),
    early_term: Optional[Path] = typer.Option(None, "--early-term", help="pyparity: reference, CE-CLM: "
                                              "early-termination file."),
    multi_view: bool = typer.Option(False, "--multi-view", help="pyparity: reference: try 11 rotation hypotheses."),
    bbox: Optional[str] = typer.Option(None, "--bbox", help="pyparity:clnf reference: the face box x,y,w,h."),
    min_face_size: int = typer.Option(60, "--min-face-size", min=1, help="pyparity:mtcnn reference: smallest face."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="A sequence: stop after this many."),
    *, reports,
) -> None:
    """Hunt every place a port differs from its reference, and which of them cause the rest.

    Without --isolate: the port's first divergence (exit codes as `diff`). With --isolate: the chain of
    stages where the port introduces a difference, each diagnosed, and how it ends (the output matches,
    or the difference that remains). Exit 0: parity; 1: a difference (or nothing compared); 2: bad input.
    """
    from pyparity.cli.output import console_for, say
    from pyparity.app.hunt import corpus_executor, hunt_options, write_hunt_reports
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.app.specs.openface import parse_bbox
    from pyparity.hunt.references import ReferenceOptions
    from pyparity.hunt.session import run_hunt

    ref_opts = ReferenceOptions(model=model, cen_dir=cen_dir, early_term=early_term, multi_view=multi_view,
                                bbox=parse_bbox(bbox) if bbox else None, min_face_size=min_face_size,
                                model_dir=checked_model_dir(model_dir))
    opts = hunt_options(reports, isolate=isolate, isolate_all=isolate_all, max_runs=max_runs,
                        model_dir=ref_opts.model_dir, out=out, max_frames=max_frames, reference=ref_opts,
                        shared_dir=shared)
    console = console_for(reports)
    spread = corpus_executor(executor.value, jobs, scheduler, corpus)
    outcome = run_hunt(probe, input_path, reference, opts, corpus=corpus, executor=spread,
                       on_item=(lambda line: say(console, line)) if corpus is not None else None)
    if not reports.quiet:
        from pyparity.render.hunt_table import render_hunt

        render_hunt(outcome, console, max_rows=reports.max_rows)
    write_hunt_reports(outcome, reports)
    raise typer.Exit(outcome.exit_code)
