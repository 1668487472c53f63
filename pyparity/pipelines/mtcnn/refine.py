"""What RNet and ONet share: crop every box, run the network, score and threshold."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.mtcnn.crops import crop_patches
from pyparity.pipelines.mtcnn.layers import rgb_maps, run_layers, split_at_dense
from pyparity.pipelines.mtcnn.libm import expf
from pyparity.pipelines.mtcnn.parallel import map_in_threads, threads
from pyparity.pipelines.mtcnn.weights import CNN


def run_on_boxes(net: CNN, img_float: np.ndarray, boxes: np.ndarray, size: int, n_out: int):
    """Crops (N, size, size, 3) float32 and network outputs (N, n_out) float32 for rectified boxes.

    The crops and the convolutional trunk run in contiguous chunks of boxes, one per thread (each
    image is computed alone either way); the fully connected head runs once on the whole batch."""
    if len(boxes) == 0:
        return np.zeros((0, size, size, 3), np.float32), np.zeros((0, n_out), np.float32)
    trunk, head = split_at_dense(net)

    def crop_and_trunk(chunk: np.ndarray):
        crops = crop_patches(img_float, chunk, size)
        return crops, run_layers(trunk, rgb_maps(crops))

    chunks = np.array_split(np.asarray(boxes, np.float32).reshape(-1, 4), min(threads(), len(boxes)))
    parts = map_in_threads(crop_and_trunk, chunks)
    crops = parts[0][0] if len(parts) == 1 else np.concatenate([p[0] for p in parts])
    features = parts[0][1] if len(parts) == 1 else np.concatenate([p[1] for p in parts])
    outs = run_layers(head, features).reshape(len(boxes), -1)[:, :n_out]
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
