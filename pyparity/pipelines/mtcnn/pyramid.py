"""The PNet image pyramid of FaceDetectorMTCNN::DetectFaces."""

from __future__ import annotations

import math

import numpy as np

from pyparity.pipelines.mtcnn.boxes import FACE_SUPPORT
from pyparity.pipelines.mtcnn.resize import resize_bilinear

PYRAMID_FACTOR = 0.709


def num_scales(height: int, width: int, min_face_size: int) -> int:
    """``floor(log(min_face / min_dim) / log(0.709)) + 1`` (0 or less: the image is smaller than
    the smallest face and no scale is run)."""
    min_dim = min(height, width)
    if min_dim <= 0:
        return 0
    return int(math.floor(math.log(float(min_face_size) / float(min_dim)) / math.log(PYRAMID_FACTOR))) + 1


def scale(i: int, min_face_size: int) -> float:
    """(12 / min_face_size) * 0.709^i in double, as the reference (cv::pow)."""
    return (float(FACE_SUPPORT) / float(min_face_size)) * math.pow(PYRAMID_FACTOR, i)


def level(img_float: np.ndarray, s: float) -> np.ndarray:
    """The normalised pyramid level: resize to ceil(H*s) x ceil(W*s), then (v - 127.5) * 0.0078125.

    img_float: (H, W, 3) float32 BGR. Returns (h, w, 3) float32 BGR.
    """
    h = int(math.ceil(img_float.shape[0] * s))
    w = int(math.ceil(img_float.shape[1] * s))
    r = resize_bilinear(img_float, w, h)
    return (r - np.float32(127.5)) * np.float32(0.0078125)
