"""OpenFace's programs as pipelines: FaceLandmarkImg (``openface-image``), a CLNF fit from a given box
(``clnf``) and FeatureExtraction's tracking (``openface-sequence``), all under the ``openface`` policy."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyparity.app.spec import PipelineSpec, RunContext
from pyparity.errors import InputError, UsageError

POLICY = "openface"
KEY_OUTPUTS = ("face00/output/landmarks_stacked",)
START_POINTS = ("box", "mtcnn/pnet/merged", "mtcnn/rnet/input_boxes", "mtcnn/onet/input_boxes",
                "faceNN/clnf/hNN/...", "hNN/...", "au")


class LandmarkModel(str, Enum):
    """ccnf: main_clnf_general.txt (CCNF patch experts); ceclm: main_ceclm_general.txt (CEN experts)."""

    ccnf = "ccnf"
    ceclm = "ceclm"


@dataclass(frozen=True)
class OpenFaceImageOptions:
    """FaceLandmarkImg's settings. level 1 leaves out Jacobians, Hessians and the gray image. aus:
    FaceAnalyser's static action units (models from ``au_dir``, else the model manager's)."""

    model: str = "ccnf"
    cen_dir: Path | None = None
    early_term: Path | None = None
    multi_view: bool = False
    level: int = 2
    model_dir: Path | None = None
    aus: bool = True
    au_dir: Path | None = None


@dataclass(frozen=True)
class ClnfOptions:
    """bbox_xywh: the face box to fit from (pixels); the rest as `OpenFaceImageOptions`."""

    bbox_xywh: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    multi_view: bool = False
    level: int = 2
    model_dir: Path | None = None


@dataclass(frozen=True)
class SequenceOptions:
    """max_frames: stop after this many; isolate: start every tracked frame from the reference frame's
    own ``face00/init`` parameters (errors do not carry over; needs the reference); aus: action units per
    frame and their end-of-video post-processing (AU predictors from ``au_dir``, default the manager's)."""

    max_frames: int | None = None
    isolate: bool = False
    level: int = 1
    model_dir: Path | None = None
    aus: bool = True
    au_dir: Path | None = None


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``"x,y,w,h"`` -> four finite numbers with a positive size."""
    try:
        vals = [float(v) for v in text.replace(" ", "").split(",")]
    except ValueError:
        raise InputError("expected four numbers x,y,w,h", param="bbox", value=text) from None
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise InputError("expected four finite numbers x,y,w,h", param="bbox", value=text)
    if vals[2] <= 0 or vals[3] <= 0:
        raise InputError("the box has zero or negative size", param="bbox", value=text)
    return tuple(vals)


def load_models(model_dir=None, model: str = "ccnf", cen_dir=None, early_term=None, aus: bool = False, au_dir=None,
                au_dynamic: bool = False):
    """The OpenFace models: for images once per process and settings (a gate's worker runs many images);
    with ``au_dynamic`` (FeatureExtraction on a sequence: the dynamic AU predictors too) afresh, so that a
    sequence's models do not push the images' out of the cache."""
    load = _load_models if au_dynamic else _load_models_cached
    return load(model_dir, model, cen_dir, early_term, aus, au_dir, au_dynamic)


def _load_models(model_dir, model, cen_dir, early_term, aus, au_dir, au_dynamic):
    from pyparity.app.specs.common import checked_model_dir
    from pyparity.pipelines.openface import load_openface_models

    return load_openface_models(checked_model_dir(model_dir), backend=str(getattr(model, "value", model)),
                                cen_dir=cen_dir, early_term=early_term, aus=aus, au_dynamic=au_dynamic,
                                au_dir=checked_model_dir(au_dir, group="openface_au", param="au_dir"))


_load_models_cached = functools.lru_cache(maxsize=2)(_load_models)


def _meta(models) -> dict:
    meta = {"parameters": {"model": models.backend}}
    if models.au is not None:
        # as the AU reference dumps' meta.json (the CSV adapter and the report read the names here)
        meta["parameters"].update({"au_models": "AU_predictors/AU_all_static.txt (images: static models only)",
                                   "au_reg_names": list(models.au.intensity.names),
                                   "au_class_names": list(models.au.presence.names)})
        meta["models"] = models.au.sha256
    return meta


def _run_image(ctx: RunContext, models_of, **kwargs):
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.openface import run_image

    image = read_image_bgr(ctx.input)  # a bad image is refused before the models load
    models = models_of()
    ctx.models = models
    ctx.rec.update_meta(**_meta(models))
    return run_image(image, models, rec=ctx.rec, level=ctx.options.level, **kwargs)


def run_openface_image(ctx: RunContext):
    o = ctx.options
    return _run_image(ctx, lambda: load_models(o.model_dir, o.model, o.cen_dir, o.early_term, o.aus, o.au_dir),
                      start=ctx.start, multi_view=o.multi_view)


def run_clnf(ctx: RunContext):
    o = ctx.options
    return _run_image(ctx, lambda: load_models(o.model_dir), boxes_xywh=[list(o.bbox_xywh)], multi_view=o.multi_view)


def describe_faces(faces, trace=None, ctx=None) -> list[str]:
    """One line per face: success, certainty, likelihood, and the AUs present."""
    if not faces:
        return ["no face detected"]
    lines = []
    for i, f in enumerate(faces):
        line = (f"face{i:02d}: success {int(f.detection_success)}, certainty {float(f.detection_certainty):.4f}, "
                f"model likelihood {float(f.model_likelihood):.4f}" if f.fitted else
                f"face{i:02d}: landmarks from the reference")
        if f.aus is not None:
            name, margin = f.aus.smallest_margin()
            present = [n for n, v in zip(f.aus.presence_names, f.aus.presence) if v == 1]
            line += f"; AUs present {' '.join(present) or '-'}, smallest presence margin {margin:+.3g} ({name})"
        lines.append(line)
    return lines


def run_openface_sequence(ctx: RunContext):
    from pyparity.pipelines.openface import sequence
    from pyparity.trace import read_trace

    o = ctx.options
    if o.max_frames is not None and o.max_frames <= 0:
        raise UsageError("must be positive", param="max_frames", value=o.max_frames)
    if o.isolate and ctx.reference is None:
        raise UsageError("needs a reference to compare with (its frames are where tracked frames start)",
                         param="isolate")

    def reference_for(i: int):
        d = Path(ctx.reference) / f"frame{i:04d}"
        return read_trace(d) if d.is_dir() else None

    models = load_models(o.model_dir, aus=o.aus, au_dir=o.au_dir, au_dynamic=True)
    return sequence.run_sequence(sequence.frames_of(ctx.input), models, ctx.rec, o.level, o.max_frames,
                                 reference_for if o.isolate else None)


def _level(options) -> dict:
    return {"dump_level": options.level}


OPENFACE_IMAGE = PipelineSpec(
    name="openface-image", about="FaceLandmarkImg: MTCNN, then CLNF landmarks, validator, pose, gaze and action "
    "units for every face", policy=POLICY, run=run_openface_image, options=OpenFaceImageOptions,
    start_points=START_POINTS, producer=_level, describe=describe_faces, key_outputs=KEY_OUTPUTS,
)
CLNF = PipelineSpec(
    name="clnf", about="CLNF landmarks from a given face box (DetectLandmarksInImage), with validator and "
    "outputs, as face00", policy=POLICY, run=run_clnf, options=ClnfOptions, producer=_level,
    describe=describe_faces, key_outputs=KEY_OUTPUTS,
)
OPENFACE_SEQUENCE = PipelineSpec(
    name="openface-sequence", about="FeatureExtraction's tracking: detect on the first frame, then fit each "
    "frame from the previous one", policy=POLICY, run=run_openface_sequence, options=SequenceOptions,
    producer=_level, key_outputs=KEY_OUTPUTS, frames=True,
)
