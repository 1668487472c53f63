"""Colour order. OpenCV images are BGR; the MTCNN CNNs and PyTorch code take RGB."""

from __future__ import annotations

import numpy as np


def swap_bgr_rgb(image: np.ndarray, channel_axis: int = -1) -> np.ndarray:
    """Reverse the 3 colour channels along ``channel_axis`` (BGR <-> RGB)."""
    return np.flip(np.asarray(image), axis=channel_axis)
