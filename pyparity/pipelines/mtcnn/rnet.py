"""RNet stage (24x24 crops) of FaceDetectorMTCNN::DetectFaces. Records ``mtcnn/rnet/**``."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.mtcnn.boxes import apply_correction, rectify
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.pnet import Candidates
from pyparity.pipelines.mtcnn.refine import probability, run_on_boxes
from pyparity.pipelines.mtcnn.scopes import SCOPES
from pyparity.pipelines.mtcnn.weights import CNN
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


_DETECT_FACES = "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces"

STAGES = declare(
    __name__,
    Stage("mtcnn/rnet/input_boxes", "record_input_boxes", "FaceDetectorMTCNN.cpp: rectify",
          "PNet's boxes made square: the RNet crop boxes"),
    Stage("mtcnn/rnet/out", "run_rnet", "FaceDetectorMTCNN.cpp: CNN::Inference", "RNet's six outputs per box"),
    Stage("mtcnn/rnet/crops", "run_rnet", _DETECT_FACES, "the normalised 24×24 crops (level 2)"),
    Stage("mtcnn/rnet/scores", "run_rnet", _DETECT_FACES, "face probabilities"),
    Stage("mtcnn/rnet/thresh_keep", "run_rnet", _DETECT_FACES, "boxes above t2"),
    Stage("mtcnn/rnet/nms_keep", "run_rnet", "FaceDetectorMTCNN.cpp: non_maximum_supression", "NMS at IoU 0.7"),
    Stage("mtcnn/rnet/corrected_boxes", "run_rnet", "FaceDetectorMTCNN.cpp: apply_correction",
          "the kept boxes with RNet's corrections applied"),
    prefixes=SCOPES,
)


def rnet_input_boxes(pnet_corrected: np.ndarray, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """PNet's corrected boxes made square (``rectify``). Records ``rnet/input_boxes``; returns them
    (N, 4) float32 xywh."""
    return record_input_boxes(rectify(pnet_corrected), rec)


def record_input_boxes(boxes: np.ndarray, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """Record RNet's input boxes (computed, or a reference's when starting from it); returns them."""
    rec.save("rnet/input_boxes", boxes)
    return boxes


def run_rnet(rnet: CNN, img_float: np.ndarray, boxes: np.ndarray, t2: float, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """RNet on each box, threshold t2, NMS 0.7, correction (no +1).

    Records ``rnet/out, crops, scores, thresh_keep, nms_keep, corrected_boxes``. Returns the
    corrected boxes (N, 4) float32 xywh (ONet's input boxes once rectified)."""
    crops, out = run_on_boxes(rnet, img_float, boxes, 24, 6)
    scores = probability(out)
    rec.save("rnet/out", out)
    rec.save("rnet/crops", crops)
    rec.save("rnet/scores", scores)
    thresh_keep = np.nonzero(scores >= np.float32(t2))[0].astype(np.int32)
    rec.save("rnet/thresh_keep", thresh_keep)
    cand = Candidates(boxes, scores, np.ascontiguousarray(out[:, 2:6])).subset(thresh_keep)
    keep = non_maximum_suppression(cand.boxes, cand.scores, 0.7, False)
    rec.save("rnet/nms_keep", keep)
    cand = cand.subset(keep)
    corrected = apply_correction(cand.boxes, cand.corrections, add1=False)
    rec.save("rnet/corrected_boxes", corrected)
    return corrected
