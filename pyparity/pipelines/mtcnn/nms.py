"""Non-maximum suppression as FaceDetectorMTCNN.cpp's non_maximum_supression."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.mtcnn.boxes import cv_round


def non_maximum_suppression(boxes: np.ndarray, scores: np.ndarray, threshold: float, minimum: bool) -> np.ndarray:
    """Indices kept, in the order they are picked (highest score first).

    As the reference: boxes are compared as int cv::Rect (rounded half to even), the overlap is
    ``float(int_area) / float(union)`` (``min(area1, area2)`` when ``minimum``) and a box is removed
    when ``overlap > threshold``. Candidates sit in a std::multimap keyed by score, so among equal
    scores the one inserted last (highest index) is picked first.

    boxes: (N, 4) float32 xywh; scores: (N,) float32. Returns (K,) int32.
    """
    n = len(boxes)
    if n == 0:
        return np.zeros(0, np.int32)
    r = cv_round(boxes)
    x1, y1 = r[:, 0], r[:, 1]
    x2, y2 = x1 + r[:, 2], y1 + r[:, 3]
    area = r[:, 2] * r[:, 3]
    # ascending by score, ties in insertion order; picking from the end
    order = list(np.lexsort((np.arange(n), scores.astype(np.float32))))
    thr = np.float32(threshold)
    keep: list[int] = []
    while order:
        i = order.pop()
        keep.append(i)
        if not order:
            break
        rest = np.asarray(order)
        iw = np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest])
        ih = np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest])
        empty = (iw <= 0) | (ih <= 0) | (r[i, 2] <= 0) | (r[i, 3] <= 0) | (r[rest, 2] <= 0) | (r[rest, 3] <= 0)
        inter = np.where(empty, 0, iw * ih).astype(np.float32)
        if minimum:
            union = np.minimum(area[i], area[rest]).astype(np.float32)
        else:
            union = (area[i] + area[rest]).astype(np.float32) - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            overlap = inter / union
        order = [o for o, drop in zip(order, overlap > thr) if not drop]
    return np.asarray(keep, np.int32)
