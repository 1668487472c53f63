"""Read image files the way OpenFace's ImageCapture does.

OpenFace loads images with ``cv::imread(file, cv::IMREAD_COLOR)``: always 8-bit, 3-channel BGR.
Grayscale files come back with the gray value in all three channels and 16-bit files are scaled to
8 bits by dropping the low byte (``v >> 8``), as OpenCV's decoders do without IMREAD_ANYDEPTH.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from pyparity.errors import InputError


def read_image_bgr(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) uint8 BGR, as OpenFace sees the file. Raises InputError (one line naming the file)
    if it is missing, unreadable or not a decodable image."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such image file")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise InputError(f"{p}: cannot read image ({e.strerror or e})") from None
    if data.size == 0:
        raise InputError(f"{p}: empty file, not an image")
    # the very call OpenFace makes (ImageCapture::GetNextImage): EXIF orientation applied, gray
    # replicated to 3 channels, alpha dropped, 16-bit reduced to its high byte
    img = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise InputError(f"{p}: not a readable image (corrupt or unsupported format)")
    return np.ascontiguousarray(img)
