"""Region proposal network: upstream's rpn.py (torchvision 0.8's RPN, eval path), float32.

Scores stay raw objectness *logits* (no sigmoid, no score threshold), top-k per level, then clip,
remove-small and batched NMS over levels. Boxes are xyxy in the resized image frame.
"""

from __future__ import annotations

import math

import numpy as np

from pyparity.pipelines.img2pose import anchors as A
from pyparity.pipelines.img2pose import boxops, ops, winograd
from pyparity.trace import NULL_RECORDER
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("rpn/head/level*/*", "rpn_head", "img2pose rpn.py: RPNHead.forward", "objectness and box deltas per level"),
    Stage("rpn/anchor_generator/cell_anchors/*", "rpn", "img2pose rpn.py: AnchorGenerator.generate_anchors",
          "base anchors per size"),
    Stage("rpn/anchors", "rpn", "img2pose rpn.py: AnchorGenerator.forward", "every anchor, levels concatenated"),
    Stage("rpn/objectness_flat", "rpn", "img2pose rpn.py: concat_box_prediction_layers",
          "objectness, levels concatenated"),
    Stage("rpn/bbox_deltas_flat", "rpn", "img2pose rpn.py: concat_box_prediction_layers",
          "box deltas, levels concatenated"),
    Stage("rpn/proposals_pre_nms", "rpn", "torchvision BoxCoder.decode", "decoded proposals"),
    Stage("rpn/num_anchors_per_level", "rpn", "img2pose rpn.py: RegionProposalNetwork.forward", "anchors per level"),
    Stage("rpn/topk/level*/idx", "filter_proposals", "img2pose rpn.py: RegionProposalNetwork._get_top_n_idx",
          "each level's top-k indices"),
    Stage("rpn/topk_idx", "filter_proposals", "img2pose rpn.py: RegionProposalNetwork._get_top_n_idx",
          "the same with level offsets"),
    Stage("rpn/topk/scores", "filter_proposals", "img2pose rpn.py: RegionProposalNetwork.filter_proposals",
          "objectness logits at those indices"),
    Stage("rpn/filter/*/*", "filter_proposals", "img2pose rpn.py: RegionProposalNetwork.filter_proposals",
          "clip to the image, remove small boxes, batched NMS (IoU 0.4)"),
    Stage("rpn/post_nms/*", "filter_proposals", "img2pose rpn.py: RegionProposalNetwork.filter_proposals",
          "the proposals kept, in keep order"),
)

_F32 = np.float32


def rpn_head(feats: list[np.ndarray], p: dict, rec=NULL_RECORDER):
    """Per level: shared 3x3 conv + ReLU, 1x1 cls (A) and 1x1 bbox (4A). Returns lists of (C, H, W).

    The 3x3 convolution has the same weights on every level: all levels' tiles go through one set
    of Winograd GEMMs (`winograd.conv3x3_shared`)."""
    logits, deltas = [], []
    hidden = winograd.conv3x3_shared(feats, p["rpn.head.conv.weight"], p["rpn.head.conv.bias"], relu=True)
    for i, t in enumerate(hidden):
        o = ops.conv2d(t, p["rpn.head.cls_logits.weight"], p["rpn.head.cls_logits.bias"])
        d = ops.conv2d(t, p["rpn.head.bbox_pred.weight"], p["rpn.head.bbox_pred.bias"])
        rec.save(f"head/level{i:02d}/objectness", o[None])
        rec.save(f"head/level{i:02d}/bbox_deltas", d[None])
        logits.append(o)
        deltas.append(d)
    return logits, deltas


def concat_box_prediction_layers(logits, deltas):
    """Each level (A*C, H, W) -> (H, W, A, C) flattened; levels concatenated: (sum, 1), (sum, 4)."""
    cls, reg = [], []
    for o, d in zip(logits, deltas):
        AC, H, W = o.shape
        A = d.shape[0] // 4
        C = AC // A
        cls.append(o.reshape(A, C, H, W).transpose(2, 3, 0, 1).reshape(-1, C))
        reg.append(d.reshape(A, 4, H, W).transpose(2, 3, 0, 1).reshape(-1, 4))
    return np.concatenate(cls, 0), np.concatenate(reg, 0)


def decode(deltas: np.ndarray, anchors: np.ndarray, clip: float = math.log(1000.0 / 16)) -> np.ndarray:
    """BoxCoder(weights=(1,1,1,1)).decode_single in float32: (N, 4) deltas, (N, 4) anchors -> (N, 4).

    dw, dh clamped at ``clip`` from above only; ``x1 = cx - 0.5 w``, ``x2 = cx + 0.5 w`` (no +-1).
    """
    a = anchors.astype(_F32)
    widths = a[:, 2] - a[:, 0]
    heights = a[:, 3] - a[:, 1]
    ctr_x = a[:, 0] + _F32(0.5) * widths
    ctr_y = a[:, 1] + _F32(0.5) * heights
    dx, dy = deltas[:, 0], deltas[:, 1]
    dw = np.minimum(deltas[:, 2], _F32(clip))
    dh = np.minimum(deltas[:, 3], _F32(clip))
    pcx = dx * widths + ctr_x
    pcy = dy * heights + ctr_y
    pw = np.exp(dw) * widths
    ph = np.exp(dh) * heights
    cw = _F32(0.5) * pw
    ch = _F32(0.5) * ph
    return np.stack([pcx - cw, pcy - ch, pcx + cw, pcy + ch], axis=1).astype(_F32)


def topk_desc(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k largest values, descending (torch.topk; ties: lower index first)."""
    if k >= len(x):
        return np.lexsort((np.arange(len(x)), -x.astype(np.float64))).astype(np.int64)
    part = np.argpartition(-x, k - 1)[:k]
    order = np.lexsort((part, -x[part].astype(np.float64)))
    return part[order].astype(np.int64)


def rpn(feats: list[np.ndarray], padded_hw: tuple[int, int], image_hw: tuple[int, int], p: dict, cfg, rec=NULL_RECORDER,
        head=None):
    """FPN maps [P2..P6] -> (proposals (K, 4) float32, scores (K,) float32 logits).

    ``head(feats, rec) -> (logits, deltas)``: the RPN head of a network backend (network.py);
    default the NumPy one."""
    with rec.scope("rpn"):
        logits, deltas = head(feats, rec) if head is not None else rpn_head(feats, p, rec)
        # all configured sizes are generated (and recorded); zip with the feature maps uses the first len(feats)
        bases = [A.cell_anchors(s, r) for s, r in zip(cfg.anchor_sizes, cfg.anchor_aspect_ratios)]
        for i, b in enumerate(bases):
            rec.save(f"anchor_generator/cell_anchors/size{i:02d}", b)
        grids = [f.shape[-2:] for f in feats]
        strides = A.level_strides(padded_hw, grids)
        per_level = [A.grid_anchors(g, s, b) for g, s, b in zip(grids, strides, bases)]
        anchors = np.concatenate(per_level, 0)
        rec.save("anchors", anchors)
        num_per_level = [o.shape[0] * o.shape[1] * o.shape[2] for o in logits]
        obj, reg = concat_box_prediction_layers(logits, deltas)
        rec.save("objectness_flat", obj)
        rec.save("bbox_deltas_flat", reg)
        proposals = decode(reg, anchors, cfg.rpn_bbox_xform_clip)
        rec.save("proposals_pre_nms", proposals[:, None, :])
        rec.save("num_anchors_per_level", np.asarray(num_per_level, dtype=np.int64))
        return filter_proposals(proposals, obj.reshape(-1), num_per_level, image_hw, cfg, rec)


def filter_proposals(proposals, objectness, num_per_level, image_hw, cfg, rec=NULL_RECORDER):
    """Top-k per level, clip, remove small, batched NMS by level, first post_nms_top_n."""
    levels = np.concatenate([np.full(n, i, dtype=np.int64) for i, n in enumerate(num_per_level)])
    idx_all, off = [], 0
    for i, n in enumerate(num_per_level):
        k = min(cfg.rpn_pre_nms_top_n_test, n)
        top = topk_desc(objectness[off:off + n], k)
        rec.save(f"topk/level{i:02d}/idx", top)
        idx_all.append(top + off)
        off += n
    top_idx = np.concatenate(idx_all)
    rec.save("topk_idx", top_idx[None])
    scores = objectness[top_idx]
    rec.save("topk/scores", scores)
    lvl = levels[top_idx]
    boxes = proposals[top_idx]
    with rec.scope("filter"):
        rec.save("clip/in_boxes", boxes)
        boxes = boxops.clip_boxes_to_image(boxes, image_hw)
        rec.save("clip/boxes", boxes)
        keep = boxops.remove_small_boxes(boxes, cfg.rpn_min_size)
        rec.save("remove_small/keep", keep)
        boxes, scores, lvl = boxes[keep], scores[keep], lvl[keep]
        rec.save("nms/in_boxes", boxes)
        rec.save("nms/in_scores", scores)
        rec.save("nms/in_idxs", lvl)
        keep = boxops.batched_nms(boxes, scores, lvl, cfg.rpn_nms_thresh, cfg.batched_nms_vanilla_above)
        rec.save("nms/keep", keep)
    keep = keep[: cfg.rpn_post_nms_top_n_test]
    boxes, scores = boxes[keep], scores[keep]
    rec.save("post_nms/boxes", boxes)
    rec.save("post_nms/scores", scores)
    return boxes, scores
