"""Non-maximum suppression as OpenFace decides it (FaceDetectorMTCNN.cpp's ``non_maximum_supression``),
in NumPy: the definition the MTCNN port's compiled NMS (`pyparity.pipelines.mtcnn.nms`) is held to
(tests/conventions/test_nms.py), and the one the diagnosis re-runs on the reference's boxes
(`diff.hypotheses.nms`: tie-breaks, NMS on stale scores).

- Boxes ``(N, 4)`` xywh are compared as integer ``cv::Rect`` (each coordinate rounded half to even).
- Overlap = ``float(intersection) / float(union)``, or ``/ float(min(area_i, area_j))`` with
  ``minimum`` (ONet's last NMS), in float32; a box is removed when ``overlap > threshold``.
- Candidates sit in a ``std::multimap`` keyed by score and are picked from the highest, so among equal
  scores the one inserted last (highest index) is picked first (``ties="last"``); ``ties="first"`` is the
  other rule, which a port that sorts stably, or unstably, may follow.
"""

from __future__ import annotations

import numpy as np


def openface_nms(boxes_xywh, scores, threshold: float, minimum: bool = False, ties: str = "last") -> np.ndarray:
    """Indices kept, in the order they are picked: ``(K,)`` int64."""
    if ties not in ("last", "first"):
        from pyparity.errors import UsageError

        raise UsageError("must be 'last' or 'first'", param="ties", value=ties)
    rects = np.rint(np.asarray(boxes_xywh, np.float32)).astype(np.int64).reshape(-1, 4)
    n = len(rects)
    s = np.asarray(scores, np.float32).reshape(-1)
    idx = np.arange(n)
    # ascending by score; among equals by index (picked from the end: the last inserted first) or reversed
    order = np.lexsort((idx, s)) if ties == "last" else np.lexsort((-idx, s))
    x1, y1, w, h = (rects[order, k] for k in range(4))
    x2, y2, area = x1 + w, y1 + h, w * h
    alive = np.ones(n, bool)
    thr = np.float32(threshold)
    keep = []
    for pos in range(n - 1, -1, -1):
        if not alive[pos]:
            continue
        keep.append(int(order[pos]))
        q = np.nonzero(alive[:pos])[0]
        if not len(q):
            continue
        iw = np.minimum(x2[pos], x2[q]) - np.maximum(x1[pos], x1[q])
        ih = np.minimum(y2[pos], y2[q]) - np.maximum(y1[pos], y1[q])
        valid = (iw > 0) & (ih > 0) & (w[pos] > 0) & (h[pos] > 0) & (w[q] > 0) & (h[q] > 0)
        inter = np.where(valid, iw * ih, 0).astype(np.float32)
        if minimum:
            union = np.minimum(area[pos], area[q]).astype(np.float32)
        else:
            union = (area[pos] + area[q]).astype(np.float32) - inter
        with np.errstate(divide="ignore", invalid="ignore"):
            alive[q[inter / union > thr]] = False
    return np.asarray(keep, np.int64)
