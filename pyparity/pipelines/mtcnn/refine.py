"""What RNet and ONet share: crop every box, run the network, score and threshold."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.mtcnn.boxes import crop_patch
from pyparity.pipelines.mtcnn.layers import forward_batch
from pyparity.pipelines.mtcnn.libm import expf
from pyparity.pipelines.mtcnn.weights import CNN


def run_on_boxes(net: CNN, img_float: np.ndarray, boxes: np.ndarray, size: int, n_out: int):
    """Crops (N, size, size, 3) float32 and network outputs (N, n_out) float32 for rectified boxes."""
    crops = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, b in enumerate(boxes):
        crops[k] = crop_patch(img_float, b, size)
    if len(boxes) == 0:
        return crops, np.zeros((0, n_out), np.float32)
    outs = forward_batch(net, crops).reshape(len(boxes), -1)[:, :n_out]
    return crops, np.ascontiguousarray(outs)


def probability(out: np.ndarray) -> np.ndarray:
    """``1.0 / (1.0 + exp(out0 - out1))``: float difference, expf, then double arithmetic stored in
    a float (``float prob = 1.0 / (1.0 + cv::exp(...))``, cv::exp being std::exp on a float: glibc's
    expf, emulated in ``libm.py``)."""
    if len(out) == 0:
        return np.zeros(0, np.float32)
    d = (out[:, 0] - out[:, 1]).astype(np.float32)
    e = expf(d).astype(np.float64)
    return (1.0 / (1.0 + e)).astype(np.float32)
