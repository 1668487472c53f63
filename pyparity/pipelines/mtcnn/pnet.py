"""PNet stage: per-scale proposals, per-scale NMS, merge, cross-scale NMS and correction
(FaceDetectorMTCNN::DetectFaces, first half). Records ``mtcnn/pnet/**``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.mtcnn import pyramid
from pyparity.pipelines.mtcnn.boxes import apply_correction, generate_bounding_boxes
from pyparity.pipelines.mtcnn.cvmath import exp32f
from pyparity.pipelines.mtcnn.layers import forward
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.parallel import map_in_threads
from pyparity.pipelines.mtcnn.scopes import SCOPES
from pyparity.pipelines.mtcnn.weights import CNN
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


_DETECT_FACES = "FaceDetectorMTCNN.cpp: FaceDetectorMTCNN::DetectFaces"

STAGES = declare(
    __name__,
    Stage("mtcnn/pnet/s*/scale", "run_pnet", _DETECT_FACES, "pyramid scale (12/min_face_size)·0.709^k"),
    Stage("mtcnn/pnet/s*/input", "run_pnet", _DETECT_FACES, "the resized image, (v − 127.5)·0.0078125, BGR"),
    Stage("mtcnn/pnet/s*/out", "run_pnet", "FaceDetectorMTCNN.cpp: CNN::Inference",
          "PNet's six output maps (two logits, four box corrections)"),
    Stage("mtcnn/pnet/s*/prob", "run_pnet", _DETECT_FACES, "face probability per cell, 1/(1 + exp(out0 − out1))"),
    Stage("mtcnn/pnet/s*/boxes", "run_pnet", "FaceDetectorMTCNN.cpp: generate_bounding_boxes",
          "candidates above t1, xywh"),
    Stage("mtcnn/pnet/s*/scores", "run_pnet", "FaceDetectorMTCNN.cpp: generate_bounding_boxes", "their probabilities"),
    Stage("mtcnn/pnet/s*/corrections", "run_pnet", "FaceDetectorMTCNN.cpp: generate_bounding_boxes",
          "their box corrections"),
    Stage("mtcnn/pnet/s*/nms_keep", "run_pnet", "FaceDetectorMTCNN.cpp: non_maximum_supression",
          "candidates kept by the per-scale NMS (IoU 0.5)"),
    Stage("mtcnn/pnet/merged/*", "record_merged", _DETECT_FACES, "every scale's survivors in scale order"),
    Stage("mtcnn/pnet/nms_keep", "select_across_scales", "FaceDetectorMTCNN.cpp: non_maximum_supression",
          "the cross-scale NMS (IoU 0.7)"),
    Stage("mtcnn/pnet/corrected_boxes", "select_across_scales", "FaceDetectorMTCNN.cpp: apply_correction",
          "the kept boxes with PNet's corrections applied"),
    prefixes=SCOPES,
)


@dataclass
class Candidates:
    """Boxes (N, 4) float32 xywh, scores (N,) float32, corrections (N, 4) float32."""

    boxes: np.ndarray
    scores: np.ndarray
    corrections: np.ndarray

    def subset(self, idx: np.ndarray) -> "Candidates":
        idx = np.asarray(idx, np.int64)
        return Candidates(self.boxes[idx].reshape(-1, 4), self.scores[idx].reshape(-1),
                          self.corrections[idx].reshape(-1, 4))

    @staticmethod
    def empty() -> "Candidates":
        return Candidates(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 4), np.float32))


@dataclass
class Level:
    """One pyramid level's work: its scale (double), normalised input (h, w, 3) float32 BGR, PNet
    output maps (6, h', w') float32, probability map (h', w') float32, thresholded candidates and
    the indices the per-scale NMS keeps."""

    scale: float
    input: np.ndarray
    out: np.ndarray
    prob: np.ndarray
    candidates: Candidates
    nms_keep: np.ndarray


def face_probability(logit0: np.ndarray, logit1: np.ndarray) -> np.ndarray:
    """``1 / (1 + cv::exp(out0 - out1))`` on float32 maps: OpenCV's exp32f, then float adds and a
    float reciprocal (cv::divide of a scalar by a CV_32F Mat)."""
    d = (np.asarray(logit0, np.float32) - np.asarray(logit1, np.float32)).astype(np.float32)
    e = exp32f(d)
    return (np.float32(1.0) / (np.float32(1.0) + e)).astype(np.float32)


def compute_level(pnet: CNN, img_float: np.ndarray, s: float, t1: float) -> Level:
    """One pyramid level: resize + normalise, PNet, probability map, thresholded candidates, NMS
    (IoU 0.5). Records nothing, so that levels can run on any thread."""
    inp = pyramid.level(img_float, s)
    if inp.shape[0] < 12 or inp.shape[1] < 12:
        out = np.zeros((6, max(inp.shape[0] - 11, 0) // 2, max(inp.shape[1] - 11, 0) // 2), np.float32)
    else:
        out = forward(pnet, inp)
    prob = face_probability(out[0], out[1])
    cand = Candidates(*generate_bounding_boxes(prob, out[2:6], s, t1))
    keep = non_maximum_suppression(cand.boxes, cand.scores, 0.5, False)
    return Level(s, inp, out, prob, cand, keep)


def record_merged(merged: Candidates, rec: StageRecorder = NULL_RECORDER) -> None:
    with rec.scope("pnet/merged"):
        rec.save("boxes", merged.boxes)
        rec.save("scores", merged.scores)
        rec.save("corrections", merged.corrections)


def run_pnet(pnet: CNN, img_float: np.ndarray, min_face_size: int, t1: float, rec: StageRecorder = NULL_RECORDER) -> Candidates:
    """All scales (spread over threads, largest first), then per-scale NMS and concatenation in
    scale order.

    Records ``pnet/sNN/*`` and ``pnet/merged/*`` (``rec`` scoped at ``mtcnn``) in the reference's
    order. Returns the merged candidates (before the cross-scale NMS).
    """
    n = pyramid.num_scales(img_float.shape[0], img_float.shape[1], min_face_size)
    scales = [pyramid.scale(i, min_face_size) for i in range(n)]
    levels = map_in_threads(lambda s: compute_level(pnet, img_float, s, t1), scales)
    for i, lv in enumerate(levels):
        with rec.scope(f"pnet/s{i:02d}"):
            rec.save("scale", np.float64(lv.scale))
            rec.save("input", lv.input)
            rec.save("out", lv.out)
            rec.save("prob", lv.prob)
            rec.save("boxes", lv.candidates.boxes)
            rec.save("scores", lv.candidates.scores)
            rec.save("corrections", lv.candidates.corrections)
    kept = []
    for i, lv in enumerate(levels):
        rec.save(f"pnet/s{i:02d}/nms_keep", lv.nms_keep)
        kept.append(lv.candidates.subset(lv.nms_keep))
    merged = Candidates(
        np.concatenate([c.boxes for c in kept]).astype(np.float32) if kept else np.zeros((0, 4), np.float32),
        np.concatenate([c.scores for c in kept]).astype(np.float32) if kept else np.zeros(0, np.float32),
        np.concatenate([c.corrections for c in kept]).astype(np.float32) if kept else np.zeros((0, 4), np.float32),
    )
    record_merged(merged, rec)
    return merged


def select_across_scales(merged: Candidates, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    """Cross-scale NMS (IoU 0.7) on the merged candidates, then their correction (no +1).

    Records ``pnet/nms_keep`` and ``pnet/corrected_boxes``; returns the corrected boxes (N, 4)
    float32 xywh (RNet's input boxes once rectified)."""
    keep = non_maximum_suppression(merged.boxes, merged.scores, 0.7, False)
    rec.save("pnet/nms_keep", keep)
    sel = merged.subset(keep)
    corrected = apply_correction(sel.boxes, sel.corrections, add1=False)
    rec.save("pnet/corrected_boxes", corrected)
    return corrected
