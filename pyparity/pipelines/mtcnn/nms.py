"""Non-maximum suppression as FaceDetectorMTCNN.cpp's non_maximum_supression."""

from __future__ import annotations

import numba
import numpy as np

from pyparity.pipelines.mtcnn.boxes import cv_round


@numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
def _suppress(rects, order, threshold, minimum):
    n = order.shape[0]
    alive = np.ones(n, np.bool_)
    keep = np.empty(n, np.int32)
    n_keep = 0
    for pos in range(n - 1, -1, -1):
        if not alive[pos]:
            continue
        i = order[pos]
        keep[n_keep] = i
        n_keep += 1
        xi, yi, wi, hi = rects[i, 0], rects[i, 1], rects[i, 2], rects[i, 3]
        area_i = wi * hi
        for q in range(pos):
            if not alive[q]:
                continue
            o = order[q]
            xo, yo, wo, ho = rects[o, 0], rects[o, 1], rects[o, 2], rects[o, 3]
            iw = min(xi + wi, xo + wo) - max(xi, xo)
            ih = min(yi + hi, yo + ho) - max(yi, yo)
            inter = np.float32(0.0)
            if iw > 0 and ih > 0 and wi > 0 and hi > 0 and wo > 0 and ho > 0:
                inter = np.float32(iw * ih)
            area_o = wo * ho
            if minimum:
                union = np.float32(min(area_i, area_o))
            else:
                union = np.float32(area_i + area_o) - inter
            if inter / union > threshold:
                alive[q] = False
    return keep[:n_keep].copy()


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
    rects = np.ascontiguousarray(cv_round(boxes).reshape(-1, 4))
    # ascending by score, ties in insertion order; picked from the end
    order = np.lexsort((np.arange(n), np.asarray(scores, np.float32))).astype(np.int64)
    return _suppress(rects, order, np.float32(threshold), bool(minimum))
