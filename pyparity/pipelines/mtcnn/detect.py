"""Public API: ``detect(image) -> Detections``, OpenFace 2.0.2's FaceDetectorMTCNN::DetectFaces."""

from __future__ import annotations

import os

import numpy as np

from pyparity.errors import InputError, ModelError, TraceError
from pyparity.pipelines import blas
from pyparity.pipelines.mtcnn import onet, output, pnet, rnet
from pyparity.pipelines.mtcnn.output import Detections
from pyparity.pipelines.mtcnn.pyramid import num_scales
from pyparity.pipelines.mtcnn.scopes import SCOPES
from pyparity.pipelines.mtcnn.weights import load_mtcnn
from pyparity.trace import NULL_RECORDER, StageRecorder, StageRef
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("mtcnn/config/*", "detect", "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces",
          "the call's settings: min_face_size, t1, t2, t3 and the number of pyramid scales"),
    prefixes=SCOPES,
)

#: Stages ``detect(start=StageRef(ref, stage))`` can start from.
START_STAGES = ("mtcnn/pnet/merged", "mtcnn/rnet/input_boxes", "mtcnn/onet/input_boxes")


def _as_bgr_float(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise InputError(f"detect: expected an 8-bit image, got dtype {a.dtype} (read files with pyparity.imageio.read_image_bgr)")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)  # cvtColor GRAY2RGB copies the channel
    if a.ndim != 3 or a.shape[2] != 3:
        raise InputError(f"detect: expected an (H, W) or (H, W, 3) image, got shape {a.shape}")
    return a.astype(np.float32)


def _copy_reference(ref, upto: str, rec) -> None:
    """Record the reference's own mtcnn stages that come before ``upto`` (stage isolation)."""
    for name in ref.names:
        if not name.startswith("mtcnn/") or name.startswith("mtcnn/config/"):
            continue
        if name == upto or name.startswith(upto + "/"):
            return
        rec.save(name, ref[name])


def detect(image_bgr_uint8: np.ndarray, min_face_size: int = 60, thresholds=(0.6, 0.7, 0.7),
           model_dir: str | os.PathLike | None = None, rec: StageRecorder = NULL_RECORDER,
           start: StageRef | None = None) -> Detections:
    """Detect faces with OpenFace's MTCNN cascade, recording every stage under ``mtcnn/...``.

    image_bgr_uint8: (H, W, 3) uint8 BGR or (H, W) uint8 gray. thresholds: (t1, t2, t3) for PNet,
    RNet, ONet. model_dir: an OpenFace model folder (holding ``mtcnn_detector/PNet.dat`` ...) or the
    folder of the .dat files; None -> ``pyparity.models.openface_model_dir()``.
    start: a `StageRef` whose stage is one of ``START_STAGES``: the stages before it are taken from its
    reference (and recorded as such) so that a divergence can be pinned to the
    stage that introduces it. No face is a result (empty arrays), not an error.
    """
    if model_dir is None:
        try:
            from pyparity.models import openface_model_dir
        except ImportError:
            raise ModelError("no model_dir given and the model manager (pyparity.models) is not available; "
                             "pass model_dir=<OpenFace model folder>") from None
        model_dir = openface_model_dir()
    models = load_mtcnn(model_dir)
    img = _as_bgr_float(image_bgr_uint8)
    t1, t2, t3 = (float(t) for t in thresholds)
    min_face_size = int(min_face_size)
    if min_face_size <= 0:
        raise InputError("must be positive", param="min_face_size", value=min_face_size)
    stage = None  # the stage to start at, if any
    if start is not None:
        stage = "mtcnn/pnet/merged" if start.stage.startswith("mtcnn/pnet/merged") else start.stage
        if stage not in START_STAGES:
            raise TraceError(f"choose one of {', '.join(START_STAGES)}", param="start", value=start.stage)

    with rec.scope("mtcnn"):
        rec.save("config/min_face_size", np.int32(min_face_size))
        rec.save("config/t1", np.float32(t1))
        rec.save("config/t2", np.float32(t2))
        rec.save("config/t3", np.float32(t3))
        rec.save("config/num_scales", np.int32(max(num_scales(img.shape[0], img.shape[1], min_face_size), 0)))
    if stage is not None:
        _copy_reference(start.reference, stage, rec)
    # OpenFace runs all of it on one BLAS thread (CNN::Read); the levels and crop chunks that run
    # concurrently share that setting (blas.single_thread)
    with blas.single_thread(), rec.scope("mtcnn"):
        if stage is None:
            merged = pnet.run_pnet(models.pnet, img, min_face_size, t1, rec)
        elif stage == "mtcnn/pnet/merged":
            merged = pnet.Candidates(*(start.array(f"mtcnn/pnet/merged/{k}", np.float32)
                                       for k in ("boxes", "scores", "corrections")))
            pnet.record_merged(merged, rec)
        if stage in (None, "mtcnn/pnet/merged"):
            rnet_boxes = rnet.rnet_input_boxes(pnet.select_across_scales(merged, rec), rec)
        elif stage == "mtcnn/rnet/input_boxes":
            rnet_boxes = rnet.record_input_boxes(start.array(stage, np.float32).reshape(-1, 4), rec)
        if stage != "mtcnn/onet/input_boxes":
            onet_boxes = onet.onet_input_boxes(rnet.run_rnet(models.rnet, img, rnet_boxes, t2, rec), rec)
        else:
            onet_boxes = onet.record_input_boxes(start.array(stage, np.float32).reshape(-1, 4), rec)
        return output.detections(onet.run_onet(models.onet, img, onet_boxes, t3, rec), rec)
