"""`pyparity run mtcnn IMAGE`: OpenFace's MTCNN face detector."""

from __future__ import annotations

from pathlib import Path

import typer

from pyparity.cli.options import report_options
from pyparity.cli.run_options import ModelDir, run_options


def register(run_app: typer.Typer) -> None:
    run_app.command("mtcnn")(mtcnn)


@report_options()
@run_options(start_help="Stage to start at: mtcnn/pnet/merged, mtcnn/rnet/input_boxes or mtcnn/onet/input_boxes.")
def mtcnn(
    image: Path = typer.Argument(..., help="Image file (read as OpenFace does: 8-bit BGR)."),
    min_face_size: int = typer.Option(60, "--min-face-size", min=1, help="Smallest face in pixels."),
    model_dir: ModelDir = None,
    *, target, reports,
) -> None:
    """FaceDetectorMTCNN::DetectFaces: PNet over the image pyramid, RNet, ONet, OpenFace's box calibration."""
    from pyparity.cli.output import run_command
    from pyparity.app.specs.mtcnn import MtcnnOptions

    run_command("mtcnn", image, MtcnnOptions(min_face_size, model_dir), target, reports)
