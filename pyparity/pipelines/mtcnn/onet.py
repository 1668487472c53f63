"""ONet stage (48x48 crops) and its NMS. Records ``mtcnn/onet/**``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.mtcnn.boxes import apply_correction, rectify
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.refine import probability, run_on_boxes
from pyparity.pipelines.mtcnn.scopes import SCOPES
from pyparity.pipelines.mtcnn.weights import CNN
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


_DETECT_FACES = "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces"

STAGES = declare(
    __name__,
    Stage("mtcnn/onet/input_boxes", "record_input_boxes", "FaceDetectorMTCNN.cpp: rectify",
          "RNet's boxes made square: the ONet crop boxes"),
    Stage("mtcnn/onet/out", "run_onet", "FaceDetectorMTCNN.cpp: CNN::Inference", "ONet's sixteen outputs per box"),
    Stage("mtcnn/onet/crops", "run_onet", _DETECT_FACES, "the normalised 48×48 crops (level 2)"),
    Stage("mtcnn/onet/scores", "run_onet", _DETECT_FACES, "face probabilities"),
    Stage("mtcnn/onet/thresh_keep", "run_onet", _DETECT_FACES, "boxes above t3"),
    Stage("mtcnn/onet/corrected_boxes", "run_onet", "FaceDetectorMTCNN.cpp: apply_correction",
          "ONet's corrections applied, with OpenFace's +1"),
    Stage("mtcnn/onet/nms_keep", "run_onet", "FaceDetectorMTCNN.cpp: non_maximum_supression",
          "NMS at 0.7 by the minimum-area overlap"),
    prefixes=SCOPES,
)


@dataclass
class OnetResult:
    """Survivors of the ONet stage, in NMS order.

    corrected_boxes: (N, 4) float32 xywh (OpenFace's boxes before its calibration); scores: (N,)
    float32; input_boxes: (N, 4) float32 the rectified ONet crop boxes they came from; out: (N, 16)
    float32 ONet outputs (2 logits, 4 corrections, 5 landmark x's, 5 landmark y's, normalised to
    the crop).
    """

    corrected_boxes: np.ndarray
    scores: np.ndarray
    input_boxes: np.ndarray
    out: np.ndarray


def onet_input_boxes(rnet_corrected: np.ndarray, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """RNet's corrected boxes made square (``rectify``). Records ``onet/input_boxes``; returns them
    (N, 4) float32 xywh."""
    return record_input_boxes(rectify(rnet_corrected), rec)


def record_input_boxes(boxes: np.ndarray, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """Record ONet's input boxes (computed, or a reference's when starting from it); returns them."""
    rec.save("onet/input_boxes", boxes)
    return boxes


def landmarks_from_onet(out: np.ndarray, input_boxes: np.ndarray) -> np.ndarray:
    """5-point landmarks (N, 5, 2) float64 (x, y) in image pixels, OpenCV pixel centres.

    ONet's outputs 6..10 are x and 11..15 y, as fractions of the crop it saw. That crop is the
    (w+1) x (h+1) region starting at (x-1, y-1) of the rectified ONet input box (x, y, w, h), so a
    point is ``(x - 1) + (w + 1) * fx``, ``(y - 1) + (h + 1) * fy`` (the original MTCNN mapping,
    ``x1 + w * fx - 1`` with 1-based x1 and w = x2 - x1 + 1). OpenFace itself does not use them.
    """
    if len(out) == 0:
        return np.zeros((0, 5, 2), np.float64)
    b = input_boxes.astype(np.float64)
    o = out.astype(np.float64)
    xs = (b[:, 0:1] - 1.0) + (b[:, 2:3] + 1.0) * o[:, 6:11]
    ys = (b[:, 1:2] - 1.0) + (b[:, 3:4] + 1.0) * o[:, 11:16]
    return np.stack([xs, ys], axis=2)


def run_onet(onet: CNN, img_float: np.ndarray, boxes: np.ndarray, t3: float, rec: StageRecorder = NULL_RECORDER) -> OnetResult:
    """ONet on each box, threshold t3, correction with +1, NMS with the "minimum" overlap (0.7).
    Records ``onet/out, crops, scores, thresh_keep, corrected_boxes, nms_keep``."""
    crops, out = run_on_boxes(onet, img_float, boxes, 48, 16)
    scores = probability(out)
    rec.save("onet/out", out)
    rec.save("onet/crops", crops)
    rec.save("onet/scores", scores)
    thresh_keep = np.nonzero(scores >= np.float32(t3))[0].astype(np.int32)
    rec.save("onet/thresh_keep", thresh_keep)
    corrected = apply_correction(boxes[thresh_keep].reshape(-1, 4), out[thresh_keep, 2:6].reshape(-1, 4), add1=True)
    rec.save("onet/corrected_boxes", corrected)
    keep = non_maximum_suppression(corrected, scores[thresh_keep], 0.7, True)
    rec.save("onet/nms_keep", keep)
    src = thresh_keep[keep]
    return OnetResult(corrected[keep].reshape(-1, 4), scores[src].astype(np.float32), boxes[src].reshape(-1, 4),
                      out[src].reshape(-1, 16))
