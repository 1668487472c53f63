"""Box arithmetic of FaceDetectorMTCNN.cpp. Boxes are (N, 4) float32 xywh in image pixels.

Each function reproduces the reference's mix of int, float and double arithmetic; the comments name
the C++ expression they follow.
"""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.mtcnn.crops import crop_patches

F32 = np.float32
_STRIDE = 2
FACE_SUPPORT = 12


def cv_round(v: np.ndarray) -> np.ndarray:
    """float -> int as cv::Rect_<float> -> cv::Rect (saturate_cast<int>: round half to even)."""
    return np.rint(np.asarray(v, np.float32)).astype(np.int64)


def generate_bounding_boxes(prob: np.ndarray, corrections: np.ndarray, scale: float, threshold: float):
    """generate_bounding_boxes: every heat-map cell ``>= threshold``, visited column by column.

    prob: (h, w) float32; corrections: (4, h, w) float32. Returns boxes (N, 4) float32 xywh in image
    pixels ``int((2*x + 1) / scale)`` .. ``int((2*x + 12) / scale)``, scores (N,), corrections (N, 4).
    """
    mask = prob >= F32(threshold)
    xs, ys = np.nonzero(mask.T)                 # x outer, y inner, as the C++ loops
    x = xs.astype(np.float64)
    y = ys.astype(np.float64)
    # int((stride * x + 1) / scale): int / double, truncated
    min_x = np.trunc((_STRIDE * x + 1) / scale).astype(np.float32)
    max_x = np.trunc((_STRIDE * x + FACE_SUPPORT) / scale).astype(np.float32)
    min_y = np.trunc((_STRIDE * y + 1) / scale).astype(np.float32)
    max_y = np.trunc((_STRIDE * y + FACE_SUPPORT) / scale).astype(np.float32)
    boxes = np.stack([min_x, min_y, max_x - min_x, max_y - min_y], axis=1).astype(np.float32).reshape(-1, 4)
    scores = prob[ys, xs].astype(np.float32)
    corr = corrections[:, ys, xs].T.astype(np.float32).reshape(-1, 4)
    return boxes, scores, np.ascontiguousarray(corr)


def apply_correction(boxes: np.ndarray, corrections: np.ndarray, add1: bool) -> np.ndarray:
    """apply_correction: the box is first rounded to an int cv::Rect (+1 on width/height when
    ``add1``); new corners ``x + c.x*w`` and ``x + w + w*c.w`` in float32."""
    if len(boxes) == 0:
        return np.zeros((0, 4), np.float32)
    r = cv_round(boxes)
    x, y, w, h = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
    if add1:
        w = w + 1
        h = h + 1
    c = corrections.astype(np.float32)
    xf, yf, wf, hf = (v.astype(np.float32) for v in (x, y, w, h))
    new_min_x = xf + c[:, 0] * wf
    new_min_y = yf + c[:, 1] * hf
    new_max_x = (x + w).astype(np.float32) + wf * c[:, 2]
    new_max_y = (y + h).astype(np.float32) + hf * c[:, 3]
    return np.stack([new_min_x, new_min_y, new_max_x - new_min_x, new_max_y - new_min_y], axis=1).astype(np.float32)


def rectify(boxes: np.ndarray) -> np.ndarray:
    """rectify: square boxes around the centre, truncated to ints (stored as float32).

    ``new_min_x = x + 0.5 * (width - max_side)`` is a double expression stored in a float, then
    ``(int)`` truncates toward zero.
    """
    if len(boxes) == 0:
        return np.zeros((0, 4), np.float32)
    b = boxes.astype(np.float32)
    w, h = b[:, 2], b[:, 3]
    side = np.maximum(w, h)
    nx = (b[:, 0].astype(np.float64) + 0.5 * (w - side).astype(np.float64)).astype(np.float32)
    ny = (b[:, 1].astype(np.float64) + 0.5 * (h - side).astype(np.float64)).astype(np.float32)
    out = np.stack([np.trunc(nx), np.trunc(ny), np.trunc(side), np.trunc(side)], axis=1)
    return out.astype(np.float32)


def calibrate(boxes: np.ndarray) -> np.ndarray:
    """OpenFace's final box correction (DetectFaces' last loop), double expressions stored in float:
    x += -0.0075 w, y += 0.2459 h, w *= 1.0323, h *= 0.7751."""
    if len(boxes) == 0:
        return np.zeros((0, 4), np.float32)
    b = boxes.astype(np.float32)
    w = b[:, 2].astype(np.float64)
    h = b[:, 3].astype(np.float64)
    x = (w * -0.0075 + b[:, 0].astype(np.float64)).astype(np.float32)
    y = (h * 0.2459 + b[:, 1].astype(np.float64)).astype(np.float32)
    return np.stack([x, y, (1.0323 * w).astype(np.float32), (0.7751 * h).astype(np.float32)], axis=1)


def crop_patch(img_float: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The RNet/ONet input for one rectified box: the (w+1)x(h+1) region starting at (x-1, y-1)
    (zero outside the image), resized to size x size and normalised ``(v - 127.5) * 0.0078125``.

    img_float: (H, W, 3) float32 BGR; box: (4,) float32 xywh with integer values. Returns
    (size, size, 3) float32 BGR (``crops.crop_patches`` for one box).
    """
    return crop_patches(img_float, np.asarray(box, np.float32).reshape(1, 4), size)[0]
