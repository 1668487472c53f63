"""`pyparity reference openface build|record|info`: record C++ OpenFace yourself, in pyparity's format."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

reference_app = typer.Typer(help="Make references: instrumented builds of reference implementations.",
                            no_args_is_help=True)
openface_app = typer.Typer(help="C++ OpenFace with pyparity's recording kit (docs/cpp-reference.md).",
                           no_args_is_help=True)
reference_app.add_typer(openface_app, name="openface")


def _say(msg: str) -> None:
    from pyparity.render.table import make_console

    make_console().print(msg, markup=False, highlight=False)


@openface_app.command("build")
def build_cmd(
    source: Path = typer.Option(..., "--source", help="An OpenFace source tree (never modified: the kit is applied to a copy)."),
    build_dir: Optional[Path] = typer.Option(None, "--build-dir", help="Where to build (default: the cache, keyed by source and kit hashes)."),
    jobs: int = typer.Option(2, "--jobs", "-j", min=1, help="Parallel compile jobs."),
    force: bool = typer.Option(False, "--force", help="Rebuild even when a build with the same key exists."),
) -> None:
    """Check the build dependencies, apply the recording kit to a copy of SOURCE and build it."""
    from pyparity.reference.openface import service

    b = service.build_reference(source, build_dir, jobs=jobs, force=force, log=_say)
    _say(f"built {b.dir} ({b.info.get('build_seconds', 0)} s): {', '.join(str(b.program(p)) for p in ('FaceLandmarkImg', 'FeatureExtraction'))}")


@openface_app.command("record")
def record_cmd(
    inputs: List[Path] = typer.Argument(..., help="Images, image folders (tracking) or videos."),
    out: Path = typer.Option(..., "--out", help="Output folder: <out>/<image> per image, <out>/<sequence>/frameNNNN per frame."),
    model: str = typer.Option("main_clnf_general", "--model", help="main_clnf_general, main_ceclm_general, another name in the model folder, or a .txt file."),
    model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace's model folder (default: the installed models, `pyparity models fetch`)."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="2 adds crops, the grayscale image, Jacobians, Hessians, CEN internals."),
    cen_dir: Optional[Path] = typer.Option(None, "--cen-dir", help="A folder of cen_patches_*.dat laid into model/patch_experts/."),
    early_term: Optional[Path] = typer.Option(None, "--early-term", help="Replaces model/early_term_cen_of.txt."),
    multi_view: bool = typer.Option(False, "--multi-view", help="FaceLandmarkImg -multi_view 1 (11 rotation hypotheses)."),
    aus: bool = typer.Option(False, "--aus", help="Also record the action-unit stages (faceNN/au/...)."),
    csv_dir: Optional[Path] = typer.Option(None, "--csv", help="Also keep OpenFace's own CSV output here."),
    frames_dir: Optional[Path] = typer.Option(None, "--save-frames", help="Image folders and videos: also save every frame as OpenFace decoded it (DIR/<name>/frameNNNN.png), to run a port on the same pixels."),
    build_dir: Optional[Path] = typer.Option(None, "--build-dir", help="The build to use (default: the most recent one)."),
) -> None:
    """Run the instrumented OpenFace on INPUTS: one validated dump per image or frame."""
    from pyparity.reference.openface import service

    done = []

    def progress(p: Path) -> None:
        done.append(p)
        _say(f"[{len(done)}] {p}")

    res = service.record_reference(inputs, out, model=model, model_dir=model_dir, level=level, cen_dir=cen_dir,
                                   early_term=early_term, multi_view=multi_view, aus=aus, csv_dir=csv_dir, frames_dir=frames_dir,
                                   build_dir=build_dir, progress=progress)
    _say(f"{len(res.dumps)} dump(s) in {out}" + (f"; {len(res.csv_files)} CSV file(s) in {csv_dir}" if csv_dir else ""))


@openface_app.command("info")
def info_cmd() -> None:
    """Say what is built: each cached build, its source, kit hash and programs."""
    from pyparity.reference.openface import service

    for line in service.describe_builds():
        _say(line)
