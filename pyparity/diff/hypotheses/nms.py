"""NMS tie-breaks: a port keeps another set of boxes because, among candidates with exactly equal
scores, its non-maximum suppression starts from another one.

`openface_nms` is FaceDetectorMTCNN.cpp's ``non_maximum_supression`` in NumPy (boxes compared as
integer ``cv::Rect`` rounded half to even, float overlaps, a box removed when ``overlap >
threshold``, candidates ranked in a ``std::multimap`` keyed by score, so among equal scores the one
inserted *last* is picked first); ``ties="first"`` picks the first instead (what a stable ascending
sort read from the front, or an unstable sort, may do). The hypothesis re-runs each NMS the
reference recorded (a ``*/nms_keep`` stage and the candidates beside it) both ways; where the tie
rule changes the survivors and B's rows differ from A's at those boxes, it names the tie.
"""

from __future__ import annotations

import numpy as np

from pyparity.diff.hypothesis import Hypothesis

_SETTINGS = ((0.5, False), (0.7, False), (0.7, True), (0.5, True), (0.3, False))


def openface_nms(boxes_xywh: np.ndarray, scores: np.ndarray, threshold: float, minimum: bool,
                 ties: str = "last") -> np.ndarray:
    """Indices kept, in the order they are picked (as OpenFace's MTCNN; see the module docstring)."""
    n = len(boxes_xywh)
    if n == 0:
        return np.zeros(0, np.int64)
    rects = np.rint(np.asarray(boxes_xywh, np.float64)).astype(np.int64).reshape(-1, 4)
    idx = np.arange(n)
    s = np.asarray(scores, np.float32)
    order = np.lexsort((idx, s)) if ties == "last" else np.lexsort((-idx, s))
    alive = np.ones(n, bool)
    keep = []
    thr = np.float32(threshold)
    for pos in range(n - 1, -1, -1):
        if not alive[pos]:
            continue
        i = order[pos]
        keep.append(i)
        xi, yi, wi, hi = rects[i]
        for q in range(pos):
            if not alive[q]:
                continue
            xo, yo, wo, ho = rects[order[q]]
            iw = min(xi + wi, xo + wo) - max(xi, xo)
            ih = min(yi + hi, yo + ho) - max(yi, yo)
            inter = np.float32(iw * ih) if (iw > 0 and ih > 0 and wi > 0 and hi > 0 and wo > 0 and ho > 0) \
                else np.float32(0)
            union = np.float32(min(wi * hi, wo * ho)) if minimum else np.float32(wi * hi + wo * ho) - inter
            if union > 0 and np.float32(inter / union) > thr:
                alive[q] = False
    return np.array(keep, np.int64)


def _candidates(ref, keep_name: str):
    """(boxes, scores) that the NMS recorded as ``keep_name`` chose from, if the reference holds them."""
    scope = keep_name.rsplit("/", 1)[0]
    for bname, sname, index in ((f"{scope}/boxes", f"{scope}/scores", None),
                                (f"{scope}/merged/boxes", f"{scope}/merged/scores", None),
                                (f"{scope}/input_boxes", f"{scope}/scores", f"{scope}/thresh_keep")):
        if bname in ref and sname in ref:
            boxes, scores = np.asarray(ref[bname]), np.asarray(ref[sname]).reshape(-1)
            if index is not None and index in ref:
                sel = np.asarray(ref[index]).reshape(-1).astype(np.int64)
                if sel.size and sel.max() < len(boxes) and sel.max() < len(scores):
                    boxes, scores = boxes[sel], scores[sel]
            if boxes.ndim == 2 and boxes.shape[1] == 4 and len(boxes) == len(scores):
                return boxes, scores
    return None


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax2, bx2) - max(a[0], b[0]))
    ih = max(0.0, min(ay2, by2) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _unmatched(a: np.ndarray, b: np.ndarray, limit: float) -> tuple[list[int], list[int]]:
    """Rows of A with no row of B within ``limit`` (each column), and rows of B with none of A."""
    from scipy.optimize import linear_sum_assignment

    ok = (np.abs(a[:, None, :] - b[None, :, :]) <= limit).all(axis=2)
    rows, cols = linear_sum_assignment(-ok.astype(np.float64))
    shared = ok[rows, cols]
    return (sorted(set(range(len(a))) - set(rows[shared].tolist())),
            sorted(set(range(len(b))) - set(cols[shared].tolist())))


def _fmt(box) -> str:
    return "(" + ", ".join(f"{v:g}" for v in np.asarray(box, np.float64)[:4]) + ")"


def nms_tie_break(a, b, tol, ctx):
    ref = ctx.reference
    if ref is None or a.ndim != 2 or b.ndim != 2 or a.shape[1] != 4 or b.shape[1] != 4:
        return
    if not (min(len(a), len(b)) and a.dtype.kind == "f" and len(a) * len(b) <= 250_000):
        return
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    missing, extra = _unmatched(fa, fb, max(tol.atol * 20, 0.01))
    if not (missing or extra):
        return
    for keep_name in reversed(ctx.earlier):
        if not keep_name.endswith("nms_keep") or not ref.info(keep_name).dtype.startswith(("int", "uint")):
            continue
        cand = _candidates(ref, keep_name)
        if cand is None:
            continue
        boxes, scores = cand
        values, counts = np.unique(np.asarray(scores, np.float32), return_counts=True)
        tied = values[counts > 1]
        if tied.size == 0 or len(boxes) > 3000:
            continue
        want = np.asarray(ref[keep_name]).reshape(-1).astype(np.int64)
        for thr, minimum in _SETTINGS:
            if not np.array_equal(np.sort(openface_nms(boxes, scores, thr, minimum)), np.sort(want)):
                continue
            other = openface_nms(boxes, scores, thr, minimum, ties="first")
            dropped = sorted(set(want.tolist()) - set(other.tolist()))
            added = sorted(set(other.tolist()) - set(want.tolist()))
            if not (dropped or added):
                break
            # B's differences must be where that choice leads: near the boxes the tie rule swapped
            near_missing = all(any(_iou(fa[m], boxes[d]) > 0.3 for d in dropped) for m in missing)
            near_extra = all(any(_iou(fb[e], boxes[d]) > 0.3 for d in added) for e in extra)
            if not (near_missing and near_extra):
                break
            swapped = dropped + added
            score = next((float(t) for t in tied if np.any(np.asarray(scores, np.float32)[swapped] == t)),
                         float(tied[0]))
            n_tied = int(np.sum(np.asarray(scores, np.float32) == np.float32(score)))
            detail = (f"{n_tied} candidates of {keep_name} have exactly the score {score:.9g}; the reference's NMS "
                      f"(IoU {thr}, {'minimum' if minimum else 'union'}) keeps "
                      f"{', '.join(_fmt(boxes[i]) for i in dropped) or 'the same'} — of equal scores it picks the "
                      f"one inserted last (OpenFace's std::multimap) in its enumeration order — where picking the "
                      f"first keeps {', '.join(_fmt(boxes[i]) for i in added) or 'fewer'}; this stage then differs: "
                      f"{len(missing)} of the reference's rows missing {missing[:6]}, {len(extra)} new {extra[:6]}")
            yield Hypothesis("nms-tie-break", f"NMS tie-break: equal scores resolved the other way at {keep_name}",
                             detail, "# rank equal scores as the reference does: a stable sort in the reference's "
                             "candidate order, the last of equal scores first", 0.0)
            return
