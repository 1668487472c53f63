"""NMS hypotheses, both re-running OpenFace's NMS (`pyparity.conventions.nms.openface_nms`:
FaceDetectorMTCNN.cpp's ``non_maximum_supression``, the one the MTCNN port is held to) on the
reference's own boxes.

- Tie-breaks (`nms_tie_break`): a port keeps another set of boxes because, among candidates with
  exactly equal scores, its NMS starts from another one. OpenFace ranks candidates in a
  ``std::multimap`` keyed by score, so among equal scores the one inserted *last* is picked first;
  ``ties="first"`` picks the first instead (what a stable ascending sort read from the front, or an
  unstable sort, may do). Each NMS the reference recorded (a ``*/nms_keep`` stage and the candidates
  beside it) is re-run both ways; where the tie rule changes the survivors and B's rows differ from
  A's at those boxes, the tie is named.
- Stale scores (`nms_scores`): B's keep-list is what the reference's NMS (its threshold and overlap
  found by reproducing A's keep-list) keeps when it ranks by another recorded score stage.
"""

from __future__ import annotations

import numpy as np

from pyparity.conventions.nms import openface_nms
from pyparity.diff.hypothesis import Hypothesis
from pyparity.diff.hypotheses.stages import rows_of

_SETTINGS = ((0.5, False), (0.7, False), (0.7, True), (0.5, True), (0.3, False))
#: (threshold, overlap) in the order the stale-scores check tries them; "min" is ONet's minimum-area overlap
_SCORE_SETTINGS = ((0.7, "union"), (0.5, "union"), (0.7, "min"), (0.5, "min"), (0.3, "union"))


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


def nms_scores(a, b, tol, ctx):
    """An NMS keep-list that a known NMS over the reference's own boxes reproduces with other scores."""
    ref = ctx.reference
    if ref is None or b.ndim != 1 or b.dtype.kind not in "iu" or not ctx.stage.endswith("keep"):
        return
    if np.array_equal(np.sort(a), np.sort(b)):
        return
    n_max = int(max(a.max(initial=-1), b.max(initial=-1))) + 1
    names = list(ctx.earlier)
    # The keep-list indexes a set of rows: a box stage, or a subset picked by an earlier keep-list.
    lengths = {ref.info(n).shape[0] for n in names if len(ref.info(n).shape) in (1, 2)
               and (len(ref.info(n).shape) == 1 and ref.info(n).dtype.startswith(("int", "uint"))
                    or ref.info(n).shape[-1] == 4)}
    for length in sorted(x for x in lengths if x >= n_max):
        if length == 0 or length > 2000:
            continue
        boxes = rows_of(ref, names, length, "boxes", max_out=6)
        if not boxes:
            continue
        scores = rows_of(ref, names, length, "scores", max_out=200)
        for bn, bx in boxes:
            # the first setting and score stage (in that order) that reproduce the reference's keep-list
            correct = next(((sn, thr, method) for thr, method in _SCORE_SETTINGS for sn, sc in scores
                            if np.array_equal(np.sort(openface_nms(bx, sc, thr, minimum=method == "min")), np.sort(a))),
                           None)
            if correct is None:
                continue
            thr, method = correct[1], correct[2]
            for sn, sc in scores:
                keep = np.sort(openface_nms(bx, sc, thr, minimum=method == "min"))
                if np.array_equal(keep, np.sort(b)):
                    yield Hypothesis(
                        "nms-inputs", f"NMS on stale scores: {sn} instead of {correct[0]}",
                        f"B's kept indices are NMS({bn}, IoU {thr}, {method}) ranked by {sn}; the reference's "
                        f"are reproduced with {correct[0]}", "# fix the port: NMS must rank by the current scores",
                        0.0)
                    return
