"""What a hunt compares with: a reference dump (a trace folder; for a sequence, a folder of frame dumps),
or ``pyparity:PIPELINE`` — pyparity's own bit-exact port run on the same input, so that any image,
video or folder can be hunted, not only the inputs someone recorded.

Pipelines: ``mtcnn`` (FaceDetectorMTCNN), ``openface-image`` (FaceLandmarkImg: MTCNN, CLNF or CE-CLM
with ``--model ceclm --cen-dir DIR``, validator, outputs), ``clnf`` (a CLNF fit from ``--bbox``),
``openface-sequence`` (FeatureExtraction's tracking over a folder or a video). Each is pyparity's
port of C++ OpenFace 2.0.2, bit-exact with its dumps; the report says so.

The pipelines run through `pipeline_trace`, the one place that knows how to call them (the
application layer's spec registry, once it exists, replaces its body).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from pyparity.errors import InputError, UsageError

PREFIX = "pyparity:"
CPP = "C++ OpenFace 2.0.2"
#: pyparity's pipelines a hunt can use as its reference, and what each one is a port of.
PIPELINES = {
    "mtcnn": f"{CPP} FaceDetectorMTCNN::DetectFaces",
    "openface-image": f"{CPP} FaceLandmarkImg",
    "clnf": f"{CPP} LandmarkDetector::DetectLandmarksInImage from a box",
    "openface-sequence": f"{CPP} FeatureExtraction (tracking)",
}
MODELS = ("ccnf", "ceclm")


@dataclass(frozen=True)
class ReferenceOptions:
    """Options of a ``pyparity:`` reference (as ``pyparity run`` takes them)."""

    model: str = "ccnf"
    cen_dir: Path | None = None
    early_term: Path | None = None
    multi_view: bool = False
    bbox: tuple | None = None
    min_face_size: int = 60
    level: int = 1
    model_dir: Path | None = None

    def describe(self, pipeline: str) -> str:
        bits = []
        if pipeline in ("openface-image", "openface-sequence", "clnf") and self.model != "ccnf":
            bits.append(f"model {self.model}")
        if self.cen_dir is not None:
            bits.append(f"CEN experts {self.cen_dir}")
        if self.early_term is not None:
            bits.append(f"early termination {self.early_term}")
        if self.multi_view:
            bits.append("multi-view")
        if self.bbox is not None:
            bits.append("box " + ",".join(f"{v:g}" for v in self.bbox))
        if pipeline == "mtcnn" and self.min_face_size != 60:
            bits.append(f"min face {self.min_face_size}")
        return ", ".join(bits)


@dataclass
class Reference:
    """``--reference`` resolved: a dump (``path``) or one of pyparity's pipelines (``pipeline``)."""

    text: str
    path: Path | None = None
    pipeline: str | None = None
    options: ReferenceOptions = field(default_factory=ReferenceOptions)

    @property
    def label(self) -> str:
        if self.path is not None:
            return str(self.path)
        import pyparity

        opts = self.options.describe(self.pipeline)
        return (f"pyparity {pyparity.__version__}'s port of {PIPELINES[self.pipeline]} "
                f"(pyparity:{self.pipeline}{'; ' + opts if opts else ''})")

    def for_image(self, path: Path, image=None):
        """The reference trace of one image (``image``: already read, e.g. a video frame)."""
        if self.path is not None:
            from pyparity.trace import read_trace

            return read_trace(self.path)
        if self.pipeline == "openface-sequence":
            raise UsageError("pyparity:openface-sequence tracks a sequence: give a folder or a video as the input")
        return pipeline_trace(self.pipeline, path, self.options, image=image)

    def for_frames(self, frames: list[tuple[str, Path, object]]) -> list:
        """One reference trace (or None: no reference for that frame) per ``(frame, file, image)``."""
        if self.path is not None:
            return [frame_dump(self.path, i, name, file) for i, (name, file, _) in enumerate(frames)]
        if self.pipeline == "openface-sequence":
            return sequence_traces(frames, self.options)
        return [pipeline_trace(self.pipeline, file, self.options, image=img) for _, file, img in frames]


def parse_reference(text: str, options: ReferenceOptions | None = None) -> Reference:
    options = options or ReferenceOptions()
    if text.startswith(PREFIX):
        name = text[len(PREFIX):]
        if name not in PIPELINES:
            raise UsageError(f"--reference {text!r}: unknown pipeline (known: "
                             f"{', '.join(PREFIX + p for p in PIPELINES)})")
        if options.model not in MODELS:
            raise UsageError(f"--model {options.model!r}: one of {', '.join(MODELS)}")
        if options.model == "ceclm" and options.cen_dir is None:
            raise UsageError("--model ceclm needs --cen-dir DIR (the CEN patch experts)")
        if name == "clnf" and options.bbox is None:
            raise UsageError("--reference pyparity:clnf needs --bbox x,y,w,h")
        return Reference(text, pipeline=name, options=options)
    p = Path(text)
    if not p.exists():
        raise InputError(f"{p}: no such reference dump (or give pyparity:{'|'.join(PIPELINES)})")
    used = [k for k, v in vars(options).items()
            if k not in ("model_dir", "level") and v != getattr(ReferenceOptions(), k)]
    if used:
        raise UsageError(f"--{used[0].replace('_', '-')} is an option of a pyparity: reference, not of a dump")
    return Reference(text, path=p, options=options)


def frame_dump(folder: Path, index: int, name: str, file: Path | None):
    """A sequence's reference frame: ``frameNNNN/`` (OpenFace's sequence dumps), else a dump named after
    the frame's file (``images/018.jpg/`` for ``image_sequence/018.jpg``); None when there is none."""
    from pyparity.trace import read_trace

    if (Path(folder) / "index.tsv").is_file():
        raise UsageError(f"{folder}: one dump, but the input is a sequence: give a folder of frame dumps")
    for cand in (Path(folder) / f"frame{index:04d}", Path(folder) / (file.name if file is not None else name)):
        if (cand / "index.tsv").is_file():
            return read_trace(cand)
    return None


def _models(options: ReferenceOptions):
    from pyparity.models.manager import verified_group_dir
    from pyparity.pipelines.openface import load_openface_models

    model_dir = verified_group_dir("openface", options.model_dir) if options.model_dir is not None else None
    key = (str(model_dir), options.model, str(options.cen_dir), str(options.early_term))
    if key not in _MODELS:
        _MODELS.clear()
        _MODELS[key] = load_openface_models(model_dir, backend=options.model, cen_dir=options.cen_dir,
                                            early_term=options.early_term, aus=False)
    return _MODELS[key]


_MODELS: dict = {}


def _recorder(pipeline: str, path: Path, options: ReferenceOptions):
    import pyparity
    from pyparity.trace import Recorder

    return Recorder(meta={"producer": {"name": "pyparity", "version": pyparity.__version__, "command": pipeline,
                                       "port_of": PIPELINES[pipeline], "dump_level": options.level},
                          "parameters": {"model": options.model}, "input": {"file": Path(path).name}})


def pipeline_trace(pipeline: str, path: Path, options: ReferenceOptions, image=None):
    """pyparity's ``pipeline`` run on one image, its trace in memory."""
    from pyparity.imageio import read_image_bgr

    img = image if image is not None else read_image_bgr(path)
    rec = _recorder(pipeline, path, options)
    try:
        if pipeline == "mtcnn":
            from pyparity.models.manager import verified_group_dir
            from pyparity.pipelines.mtcnn import detect

            model_dir = verified_group_dir("openface", options.model_dir) if options.model_dir is not None else None
            detect(img, min_face_size=options.min_face_size, model_dir=model_dir, rec=rec)
        else:
            from pyparity.pipelines.openface import run_image

            kwargs = {"boxes_xywh": [list(options.bbox)]} if pipeline == "clnf" else {}
            run_image(img, _models(options), rec=rec, level=options.level, multi_view=options.multi_view, **kwargs)
    except BaseException:
        rec.abort()
        raise
    return rec.finish()


def sequence_traces(frames: list[tuple[str, Path, object]], options: ReferenceOptions) -> list:
    """FeatureExtraction's tracking over the frames, one trace each (``face00/...`` as in the dumps)."""
    from pyparity.pipelines.openface.sequence import run_sequence

    models = _models(replace(options, model="ccnf") if options.model not in MODELS else options)
    recs = []

    def recorder_for(i, name):
        recs.append(_recorder("openface-sequence", Path(name), options))
        return recs[-1]

    return [trace for _, _, trace in run_sequence(((n, img) for n, _, img in frames), models, recorder_for,
                                                  options.level)]


def is_frame_name(name: str) -> bool:
    return re.fullmatch(r"frame\d{4,}", name) is not None
