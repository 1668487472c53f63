"""What DetectFaces returns: ONet's survivors with OpenFace's calibration. Records ``mtcnn/output/**``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.mtcnn.boxes import calibrate
from pyparity.pipelines.mtcnn.onet import OnetResult, landmarks_from_onet
from pyparity.pipelines.mtcnn.scopes import SCOPES
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


_DETECT_FACES = "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces"

STAGES = declare(
    __name__,
    Stage("mtcnn/output/raw_boxes", "detections", _DETECT_FACES, "the final boxes before OpenFace's calibration"),
    Stage("mtcnn/output/scores", "detections", _DETECT_FACES, "their probabilities"),
    Stage("mtcnn/output/boxes", "detections", _DETECT_FACES, "after the calibration: the boxes CLNF is given, xywh"),
    prefixes=SCOPES,
)


@dataclass
class Detections:
    """MTCNN faces, in the order OpenFace reports them (final NMS order).

    boxes_xywh: (N, 4) float32, after OpenFace's calibration (what CLNF is given);
    raw_boxes_xywh: (N, 4) float32, before calibration; scores: (N,) float32 ONet probabilities;
    landmarks: (N, 5, 2) float64 (x, y) image pixels — left eye, right eye, nose, left and right
    mouth corner — from ONet outputs 6..15 denormalised with the rectified ONet input box
    ``onet_boxes_xywh`` (see ``onet.landmarks_from_onet``); onet_boxes_xywh: (N, 4) float32.
    """

    boxes_xywh: np.ndarray
    raw_boxes_xywh: np.ndarray
    scores: np.ndarray
    landmarks: np.ndarray
    onet_boxes_xywh: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)


def detections(onet: OnetResult, rec: StageRecorder = NULL_RECORDER) -> Detections:
    """Calibrate ONet's corrected boxes (``boxes.calibrate``) and map its landmarks to the image.
    Records ``output/raw_boxes``, ``output/scores``, ``output/boxes``."""
    calibrated = calibrate(onet.corrected_boxes)
    rec.save("output/raw_boxes", onet.corrected_boxes)
    rec.save("output/scores", onet.scores)
    rec.save("output/boxes", calibrated)
    return Detections(calibrated, onet.corrected_boxes, onet.scores,
                      landmarks_from_onet(onet.out, onet.input_boxes), onet.input_boxes)
