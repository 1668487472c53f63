"""Box operations as torchvision.ops.boxes computes them on CPU (float32, xyxy)."""

from __future__ import annotations

import numpy as np

_F32 = np.float32


def clip_boxes_to_image(boxes: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    """Clamp x to [0, w] and y to [0, h] ((h, w) = un-padded resized size)."""
    h, w = hw
    out = boxes.copy()
    out[..., 0::2] = np.clip(boxes[..., 0::2], _F32(0), _F32(w))
    out[..., 1::2] = np.clip(boxes[..., 1::2], _F32(0), _F32(h))
    return out


def remove_small_boxes(boxes: np.ndarray, min_size: float) -> np.ndarray:
    """int64 indices of boxes with ``w >= min_size and h >= min_size`` (float32 widths)."""
    ws = boxes[:, 2] - boxes[:, 0]
    hs = boxes[:, 3] - boxes[:, 1]
    ms = _F32(min_size)
    return np.nonzero((ws >= ms) & (hs >= ms))[0].astype(np.int64)


def _stable_desc(scores: np.ndarray) -> np.ndarray:
    # scores.sort(stable=True, descending=True): equal scores keep index order
    return np.lexsort((np.arange(len(scores)), -scores.astype(np.float64)))


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """torchvision nms_kernel.cpp: greedy, float32 IoU ``inter / (area_i + area_j - inter)``, ``> thr``.

    Returns int64 indices of kept boxes in descending score order (ties: lower index first, as the
    kernel's stable sort).
    """
    n = len(boxes)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    b = np.ascontiguousarray(boxes, dtype=_F32)
    order = _stable_desc(scores).astype(np.int64)
    return _nms_kernel(b, order, float(iou_threshold))


def _nms_python(b: np.ndarray, order: np.ndarray, thr: float) -> np.ndarray:
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    suppressed = np.zeros(len(b), dtype=bool)
    keep = []
    for _i in range(len(b)):
        i = order[_i]
        if suppressed[i]:
            continue
        keep.append(i)
        rest = order[_i + 1:]
        rest = rest[~suppressed[rest]]
        if len(rest) == 0:
            continue
        w = np.maximum(_F32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(_F32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        suppressed[rest[ovr.astype(np.float64) > thr]] = True
    return np.asarray(keep, dtype=np.int64)


try:  # numba: the same float32 loop as the C++ kernel (no fastmath, so no FMA contraction)
    import numba

    @numba.njit(cache=True)
    def _nms_numba(b, order, thr):  # pragma: no cover - compiled
        n = b.shape[0]
        areas = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
        suppressed = np.zeros(n, dtype=np.bool_)
        keep = np.empty(n, dtype=np.int64)
        nk = 0
        zero = np.float32(0)
        for _i in range(n):
            i = order[_i]
            if suppressed[i]:
                continue
            keep[nk] = i
            nk += 1
            ix1, iy1, ix2, iy2, ia = b[i, 0], b[i, 1], b[i, 2], b[i, 3], areas[i]
            for _j in range(_i + 1, n):
                j = order[_j]
                if suppressed[j]:
                    continue
                w = max(zero, min(ix2, b[j, 2]) - max(ix1, b[j, 0]))
                h = max(zero, min(iy2, b[j, 3]) - max(iy1, b[j, 1]))
                inter = w * h
                ovr = inter / (ia + areas[j] - inter)
                if ovr > thr:
                    suppressed[j] = True
        return keep[:nk]

    _nms_kernel = _nms_numba
except ImportError:  # pragma: no cover
    _nms_kernel = _nms_python


def iou_margins(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> float:
    """Smallest |IoU - thr| over the pairs greedy NMS compares (a decision margin; diagnostic)."""
    b = boxes.astype(_F32)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    order = _stable_desc(scores)
    sup = np.zeros(len(b), bool)
    m = np.inf
    for _i in range(len(b)):
        i = order[_i]
        if sup[i]:
            continue
        rest = order[_i + 1:]
        rest = rest[~sup[rest]]
        if not len(rest):
            continue
        w = np.maximum(_F32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(_F32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        ovr = (inter / (areas[i] + areas[rest] - inter)).astype(np.float64)
        m = min(m, float(np.min(np.abs(ovr - iou_threshold))))
        sup[rest[ovr > iou_threshold]] = True
    return m


def batched_nms(
    boxes: np.ndarray, scores: np.ndarray, idxs: np.ndarray, iou_threshold: float, vanilla_above: int = 4000
) -> np.ndarray:
    """torchvision batched_nms (CPU): per-class NMS + re-sort above ``vanilla_above`` coordinates,
    else the coordinate-offset trick (``boxes + label * (max_coord + 1)``, one NMS)."""
    if boxes.size == 0:
        return np.zeros(0, dtype=np.int64)
    if boxes.size > vanilla_above:
        keep_mask = np.zeros(len(scores), dtype=bool)
        for c in np.unique(idxs):
            cur = np.nonzero(idxs == c)[0]
            keep_mask[cur[nms(boxes[cur], scores[cur], iou_threshold)]] = True
        keep = np.nonzero(keep_mask)[0]
        return keep[_stable_desc(scores[keep])].astype(np.int64)
    max_coord = boxes.max()
    offsets = idxs.astype(_F32) * (max_coord + _F32(1))
    return nms(boxes + offsets[:, None], scores, iou_threshold)
