"""`pyparity run openface-image IMAGE`, `run clnf IMAGE --bbox x,y,w,h` and `run openface-sequence DIR_OR_VIDEO`:
OpenFace's FaceLandmarkImg and FeatureExtraction flows and a CLNF fit from a given box."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyparity.cli.options import report_options
from pyparity.cli.run_options import ModelDir, run_options
from pyparity.app.specs.openface import LandmarkModel

IMAGE_HELP = "Image file (read as OpenFace does: 8-bit BGR)."
LEVEL_HELP = "1: leave out Jacobians, Hessians and the gray image; 2: record all."
START_HELP = ("Stage to start at: box (the reference's face boxes), an MTCNN stage (mtcnn/pnet/merged, "
              "mtcnn/rnet/input_boxes, mtcnn/onet/input_boxes), a faceNN/clnf/... stage, or au (only the AUs, "
              "from the reference's landmarks).")


def register(run_app: typer.Typer) -> None:
    run_app.command("openface-image")(openface_image)
    run_app.command("clnf")(clnf)
    run_app.command("openface-sequence")(openface_sequence)


@report_options(html_help="Write an HTML report here (aligned faces, HOG difference, AU intensities).")
@run_options(start_help=START_HELP)
def openface_image(
    image: Path = typer.Argument(..., help=IMAGE_HELP),
    model: LandmarkModel = typer.Option(LandmarkModel.ccnf, "--model", help="Landmark model: ccnf "
                                        "(main_clnf_general) or ceclm (main_ceclm_general)."),
    cen_dir: Optional[Path] = typer.Option(None, "--cen-dir", help="CE-CLM: folder of the CEN patch experts."),
    early_term: Optional[Path] = typer.Option(None, "--early-term", help="CE-CLM: early-termination file."),
    multi_view: bool = typer.Option(False, "--multi-view", help="Try the 11 rotation hypotheses "
                                    "(FaceLandmarkImg -multi_view 1)."),
    level: int = typer.Option(2, "--level", min=1, max=2, help=LEVEL_HELP),
    model_dir: ModelDir = None,
    no_aus: bool = typer.Option(False, "--no-aus", help="Skip the action units (FaceAnalyser's faceNN/au/... stages)."),
    au_dir: Optional[Path] = typer.Option(None, "--au-dir", help="OpenFace's AU_predictors folder (default: the "
                                          "model manager's)."),
    *, target, reports,
) -> None:
    """FaceLandmarkImg: MTCNN, then CLNF landmarks, validator, pose, 3D landmarks, gaze and action units for
    every face."""
    from pyparity.cli.output import run_command
    from pyparity.app.specs.openface import OpenFaceImageOptions

    options = OpenFaceImageOptions(model.value, cen_dir, early_term, multi_view, level, model_dir, not no_aus, au_dir)
    run_command("openface-image", image, options, target, reports)


@report_options()
def clnf(
    image: Path = typer.Argument(..., help=IMAGE_HELP),
    bbox: str = typer.Option(..., "--bbox", help="Face box x,y,w,h in pixels."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the trace here."),
    reference: Optional[Path] = typer.Option(None, "--diff", help="Reference dump to diff against (its face00 stages)."),
    multi_view: bool = typer.Option(False, "--multi-view", help="Try the 11 rotation hypotheses."),
    level: int = typer.Option(2, "--level", min=1, max=2, help=LEVEL_HELP),
    model_dir: ModelDir = None,
    *, reports,
) -> None:
    """CLNF landmarks from a given face box (DetectLandmarksInImage), with validator and outputs, as face00."""
    from pyparity.cli.output import run_command
    from pyparity.cli.run_options import RunTarget
    from pyparity.app.specs.openface import ClnfOptions, parse_bbox

    options = ClnfOptions(parse_bbox(bbox), multi_view, level, model_dir)
    run_command("clnf", image, options, RunTarget(out, reference, None, None), reports)


@report_options()
def openface_sequence(
    source: Path = typer.Argument(..., help="Image folder (sorted by name) or video file."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write one trace per frame here (frame0000/, ...)."),
    reference: Optional[Path] = typer.Option(None, "--diff", help="Folder of reference frame dumps (frame0000/, ...)."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", min=1, help="Stop after this many frames."),
    isolate: bool = typer.Option(False, "--isolate", help="With --diff: start every tracked frame from the "
                                 "reference frame's own face00/init parameters (errors do not carry over)."),
    level: int = typer.Option(1, "--level", min=1, max=2, help="1: leave out Jacobians and Hessians; 2: record all."),
    model_dir: ModelDir = None,
    no_aus: bool = typer.Option(False, "--no-aus", help="Skip the action units (face00/au/... per frame, video/au/... "
                                "at the end)."),
    au_dir: Optional[Path] = typer.Option(None, "--au-dir", help="OpenFace's AU_predictors folder (default: the "
                                          "model manager's)."),
    *, reports,
) -> None:
    """FeatureExtraction's tracking: detect on the first frame, then fit each frame from the previous one;
    action units per frame and, after the last frame, their post-processing (a `video` trace)."""
    from pyparity.cli.output import run_command
    from pyparity.cli.run_options import RunTarget
    from pyparity.app.specs.openface import SequenceOptions

    options = SequenceOptions(max_frames, isolate, level, model_dir, aus=not no_aus, au_dir=au_dir)
    run_command("openface-sequence", source, options, RunTarget(out, reference, None, None), reports)
