"""OpenFace's MTCNN face detector (`pyparity.pipelines.mtcnn`) as a pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyparity.app.spec import PipelineSpec, RunContext

START_POINTS = ("mtcnn/pnet/merged", "mtcnn/rnet/input_boxes", "mtcnn/onet/input_boxes")


@dataclass(frozen=True)
class MtcnnOptions:
    """min_face_size: the smallest face in pixels; model_dir: an OpenFace model folder (None: the model
    manager's)."""

    min_face_size: int = 60
    model_dir: Path | None = None


def run(ctx: RunContext):
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.mtcnn import detect

    image = read_image_bgr(ctx.input)
    o = ctx.options
    return detect(image, min_face_size=o.min_face_size, model_dir=checked_model_dir(o.model_dir), rec=ctx.rec,
                  start=ctx.start)


MTCNN = PipelineSpec(
    name="mtcnn", about="OpenFace 2.0.2's MTCNN face detector (FaceDetectorMTCNN::DetectFaces)",
    policy="mtcnn", run=run, options=MtcnnOptions, start_points=START_POINTS, key_outputs=("mtcnn/output/boxes",),
)
