"""PNet stage: per-scale proposals, per-scale NMS, merge (FaceDetectorMTCNN::DetectFaces, first half)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.mtcnn import pyramid
from pyparity.pipelines.mtcnn.boxes import generate_bounding_boxes
from pyparity.pipelines.mtcnn.cvmath import exp32f
from pyparity.pipelines.mtcnn.layers import forward
from pyparity.pipelines.mtcnn.nms import non_maximum_suppression
from pyparity.pipelines.mtcnn.weights import CNN
from pyparity.trace import NULL_RECORDER


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


def face_probability(logit0: np.ndarray, logit1: np.ndarray) -> np.ndarray:
    """``1 / (1 + cv::exp(out0 - out1))`` on float32 maps: OpenCV's exp32f, then float adds and a
    float reciprocal (cv::divide of a scalar by a CV_32F Mat)."""
    d = (np.asarray(logit0, np.float32) - np.asarray(logit1, np.float32)).astype(np.float32)
    e = exp32f(d)
    return (np.float32(1.0) / (np.float32(1.0) + e)).astype(np.float32)


def run_scale(pnet: CNN, img_float: np.ndarray, s: float, t1: float, rec=NULL_RECORDER) -> Candidates:
    """One pyramid level: resize + normalise, PNet, probability map, thresholded candidates."""
    inp = pyramid.level(img_float, s)
    rec.save("scale", np.float64(s))
    rec.save("input", inp)
    if inp.shape[0] < 12 or inp.shape[1] < 12:
        out = np.zeros((6, max(inp.shape[0] - 11, 0) // 2, max(inp.shape[1] - 11, 0) // 2), np.float32)
    else:
        out = forward(pnet, inp)
    prob = face_probability(out[0], out[1])
    rec.save("out", out)
    rec.save("prob", prob)
    boxes, scores, corr = generate_bounding_boxes(prob, out[2:6], s, t1)
    rec.save("boxes", boxes)
    rec.save("scores", scores)
    rec.save("corrections", corr)
    return Candidates(boxes, scores, corr)


def run_pnet(pnet: CNN, img_float: np.ndarray, min_face_size: int, t1: float, rec=NULL_RECORDER) -> Candidates:
    """All scales, then per-scale NMS (IoU 0.5) and concatenation in scale order.

    Records ``pnet/sNN/*`` and ``pnet/merged/*`` (``rec`` scoped at ``mtcnn``). Returns the merged
    candidates (before the cross-scale NMS).
    """
    n = pyramid.num_scales(img_float.shape[0], img_float.shape[1], min_face_size)
    per_scale = []
    for i in range(n):
        with rec.scope(f"pnet/s{i:02d}"):
            per_scale.append(run_scale(pnet, img_float, pyramid.scale(i, min_face_size), t1, rec))
    kept = []
    for i, c in enumerate(per_scale):
        keep = non_maximum_suppression(c.boxes, c.scores, 0.5, False)
        rec.save(f"pnet/s{i:02d}/nms_keep", keep)
        kept.append(c.subset(keep))
    merged = Candidates(
        np.concatenate([c.boxes for c in kept]).astype(np.float32) if kept else np.zeros((0, 4), np.float32),
        np.concatenate([c.scores for c in kept]).astype(np.float32) if kept else np.zeros(0, np.float32),
        np.concatenate([c.corrections for c in kept]).astype(np.float32) if kept else np.zeros((0, 4), np.float32),
    )
    with rec.scope("pnet/merged"):
        rec.save("boxes", merged.boxes)
        rec.save("scores", merged.scores)
        rec.save("corrections", merged.corrections)
    return merged
