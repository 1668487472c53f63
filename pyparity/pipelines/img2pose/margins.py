"""Decision margins of one img2pose run: how far each discrete decision was from flipping.

A port whose float error stays below these margins makes upstream's decisions; a margin near the
float noise of the stage it is computed from (about 1e-5 in logits, 1e-6 relative in boxes) is a
near-tie to report. Computed from a recorded trace (a full `Recorder` run or an upstream dump).

- ``topk_cut``: smallest gap between the last selected and the first dropped RPN logit, over the
  levels where the per-level top-k really cuts (logit units; inf when no level is cut).
- ``rpn_nms_iou``: smallest ``|IoU - rpn_nms_thresh|`` over the pairs greedy NMS compares, per level.
- ``post_nms_cut``: gap between the last kept and the first dropped proposal at ``post_nms_top_n``.
- ``score_thresh``: smallest ``|face score - box_score_thresh|`` over all RoIs.
- ``roi_nms_iou``: smallest ``|IoU - box_nms_thresh|`` in the RoI NMS (on the projected boxes).
"""

from __future__ import annotations

import math

import numpy as np

from pyparity.pipelines.img2pose import boxops

NAMES = ("topk_cut", "rpn_nms_iou", "post_nms_cut", "score_thresh", "roi_nms_iou")


def decision_margins(trace, cfg) -> dict[str, float]:
    """{name: margin} (see module doc) for a trace recorded with every stage (dump level >= 1)."""
    out = {}
    gaps = []
    k = cfg.rpn_pre_nms_top_n_test
    i = 0
    while f"rpn/head/level{i:02d}/objectness" in trace:
        o = np.sort(np.asarray(trace[f"rpn/head/level{i:02d}/objectness"], dtype=np.float64).reshape(-1))[::-1]
        if len(o) > k:
            gaps.append(o[k - 1] - o[k])
        i += 1
    out["topk_cut"] = float(min(gaps)) if gaps else math.inf
    b, s, lv = (np.asarray(trace[f"rpn/filter/nms/{n}"]) for n in ("in_boxes", "in_scores", "in_idxs"))
    out["rpn_nms_iou"] = min((boxops.iou_margins(b[lv == c], s[lv == c], cfg.rpn_nms_thresh) for c in np.unique(lv)),
                             default=math.inf)
    kept = np.asarray(trace["rpn/filter/nms/in_scores"])[np.asarray(trace["rpn/filter/nms/keep"])]
    n = cfg.rpn_post_nms_top_n_test
    out["post_nms_cut"] = float(kept[n - 1] - kept[n]) if len(kept) > n else math.inf
    face = np.asarray(trace["roi/postprocess/softmax"], dtype=np.float64)[:, 1]
    out["score_thresh"] = float(np.min(np.abs(face - cfg.box_score_thresh))) if len(face) else math.inf
    if "roi/postprocess/nms/in_boxes" in trace and len(trace["roi/postprocess/nms/in_boxes"]):
        out["roi_nms_iou"] = boxops.iou_margins(np.asarray(trace["roi/postprocess/nms/in_boxes"]),
                                                np.asarray(trace["roi/postprocess/nms/in_scores"]), cfg.box_nms_thresh)
    else:
        out["roi_nms_iou"] = math.inf
    return out


def format_margins(m: dict[str, float]) -> str:
    return "decision margins: " + "  ".join(f"{k} {v:.2e}" for k, v in m.items())
