"""`pyparity hunt PROBE INPUT --reference R [--isolate] [--isolate-all]` and `hunt PROBE --corpus SPEC|DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


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
    policy: Optional[str] = typer.Option(None, "--policy", help="Tolerance policy: a built-in name or a TOML path "
                                         "(default: the probe's own policy = ..., else the built-in one)."),
    stage: Optional[List[str]] = typer.Option(None, "--stage", help="Only stages matching this glob."),
    out: Optional[Path] = typer.Option(None, "--out", help="Keep the port's (first) trace here."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Write the hunt as JSON."),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="Write the first run's diff as JUnit XML."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Write an HTML report."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder ($models, and the "
                                             "pyparity: reference's)."),
    model: str = typer.Option("ccnf", "--model", help="pyparity: reference's landmark model: ccnf or ceclm."),
    cen_dir: Optional[Path] = typer.Option(None, "--cen-dir", help="pyparity: reference, CE-CLM: CEN experts folder."),
    early_term: Optional[Path] = typer.Option(None, "--early-term", help="pyparity: reference, CE-CLM: "
                                              "early-termination file."),
    multi_view: bool = typer.Option(False, "--multi-view", help="pyparity: reference: try 11 rotation hypotheses."),
    bbox: Optional[str] = typer.Option(None, "--bbox", help="pyparity:clnf reference: the face box x,y,w,h."),
    min_face_size: int = typer.Option(60, "--min-face-size", min=1, help="pyparity:mtcnn reference: smallest face."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="A sequence: stop after this many."),
    max_rows: int = typer.Option(40, "--max-rows", min=1),
) -> None:
    """Hunt every place a port differs from its reference, and which of them cause the rest.

    Without --isolate: the port's first divergence (exit codes as `diff`). With --isolate: the chain of
    stages where the port introduces a difference, each diagnosed, and how it ends (the output matches,
    or the difference that remains). Exit 0: parity; 1: a difference (or nothing compared); 2: bad input.
    """
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.hunt.references import ReferenceOptions
    from pyparity.hunt.session import HuntOptions, run_hunt
    from pyparity.render.table import make_console

    ref_opts = ReferenceOptions(model=model, cen_dir=cen_dir, early_term=early_term, multi_view=multi_view,
                                bbox=_bbox(bbox) if bbox else None, min_face_size=min_face_size,
                                model_dir=checked_model_dir(model_dir))
    opts = HuntOptions(isolate=isolate, isolate_all=isolate_all, max_runs=max_runs, policy=policy,
                       stages=tuple(stage) if stage else None, model_dir=ref_opts.model_dir, out=out,
                       max_frames=max_frames, reference=ref_opts)
    console = make_console()
    outcome = run_hunt(probe, input_path, reference, opts, corpus=corpus,
                       on_item=lambda line: console.print(line, markup=False, highlight=False)
                       if corpus is not None else None)
    _present(outcome, console, json_out, junit_out, html_out, max_rows)
    raise typer.Exit(outcome.exit_code)


def _bbox(text: str):
    from pyparity.app.specs.openface import parse_bbox

    return parse_bbox(text)


def _present(outcome, console, json_out, junit_out, html_out, max_rows) -> None:
    from pyparity.render.hunt_table import render_hunt

    render_hunt(outcome, console, max_rows=max_rows)
    if json_out:
        from pyparity.render.hunt_json import write_hunt_json

        write_hunt_json(outcome, json_out)
    if html_out:
        from pyparity.render.hunt_html import write_hunt_html

        write_hunt_html(outcome, html_out)
    if junit_out:
        from pyparity.render.junit import write_junit

        items = ([(name, r.first.report) for name, r in outcome.results] if outcome.kind == "corpus"
                 else [(Path(outcome.result.input).name, outcome.result.first.report)])
        write_junit(items, junit_out)
