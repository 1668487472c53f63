"""Read image files the way OpenFace's ImageCapture does, within a documented size limit.

OpenFace loads images with ``cv::imread(file, cv::IMREAD_COLOR)``: always 8-bit, 3-channel BGR.
Grayscale files come back with the gray value in all three channels and 16-bit files are scaled to
8 bits by dropping the low byte (``v >> 8``), as OpenCV's decoders do without IMREAD_ANYDEPTH.

Every image pyparity decodes (MTCNN, OpenFace, img2pose, probes, sequences, HTML overlays) goes
through `decode_image`, which checks first:

- the size the file's header declares (read with ``imagesize``, before any decoding) against
  ``MAX_IMAGE_PIXELS`` (100 million pixels; ``$PYPARITY_MAX_IMAGE_PIXELS`` changes it): a small file
  that declares 40000 x 30000 pixels is refused instead of exhausting the machine;
- that a JPEG is complete (an end-of-image marker after its first scan): a truncated JPEG is refused
  by every pipeline alike, whereas libjpeg would fill the missing rows with gray and only warn.

Problems are `InputError`s: one line naming the file, exit code 2.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from pyparity.errors import InputError

MAX_IMAGE_PIXELS = 100_000_000

#: Files pyparity takes for videos, by their suffix (the hunt, the C++ recorder, the sequence runs).
VIDEO_SUFFIXES = frozenset({".avi", ".mp4", ".mov", ".mkv", ".wmv", ".mpg", ".mpeg", ".m4v", ".webm"})


def max_image_pixels() -> int:
    """The limit in force: ``$PYPARITY_MAX_IMAGE_PIXELS`` if set (a positive integer), else MAX_IMAGE_PIXELS."""
    env = os.environ.get("PYPARITY_MAX_IMAGE_PIXELS", "").strip()
    if not env:
        return MAX_IMAGE_PIXELS
    try:
        v = int(env)
    except ValueError:
        v = 0
    if v <= 0:
        raise InputError(f"PYPARITY_MAX_IMAGE_PIXELS={env!r}: expected a positive integer")
    return v


def check_image_size(width: int, height: int, source) -> None:
    """One line if ``width`` x ``height`` is over the limit."""
    limit = max_image_pixels()
    if width * height > limit:
        raise InputError(f"{source}: {width}x{height} pixels ({width * height:,}) is over the limit of "
                         f"{limit:,} pixels (set PYPARITY_MAX_IMAGE_PIXELS to raise it)")


def _header_size(data: np.ndarray) -> tuple[int, int] | None:
    """(width, height) from the header, or None when the format or header is not recognised."""
    import imagesize

    try:
        w, h = imagesize.get(io.BytesIO(data.tobytes()[:1 << 20]))
    except Exception:  # noqa: BLE001 - a header it cannot parse is one it does not know
        return None
    return (int(w), int(h)) if w >= 0 and h >= 0 else None


def _jpeg_complete(data: bytes) -> bool:
    """A JPEG's marker segments walked to its first scan (SOS); complete if an EOI marker follows it
    (entropy-coded data cannot hold FF D9, so a file cut inside the image has none)."""
    i, n = 2, len(data)
    while i + 4 <= n:
        if data[i] != 0xFF:
            return False
        marker = data[i + 1]
        if marker == 0xFF:          # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        if marker == 0xD9:
            return False            # EOI before any scan: no image data
        seglen = int.from_bytes(data[i + 2:i + 4], "big")
        if marker == 0xDA:
            return data.find(b"\xff\xd9", i + 2 + seglen) != -1
        i += 2 + seglen
    return False


def read_image_data(path: str | os.PathLike) -> np.ndarray:
    """The file's bytes, checked (exists, not empty, declared size within the limit, JPEG complete)."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such image file")
    try:
        data = np.fromfile(str(p), dtype=np.uint8)
    except OSError as e:
        raise InputError(f"{p}: cannot read image ({e.strerror or e})") from None
    if data.size == 0:
        raise InputError(f"{p}: empty file, not an image")
    size = _header_size(data)
    if size is not None:
        check_image_size(size[0], size[1], p)
    if data.size >= 2 and data[0] == 0xFF and data[1] == 0xD8 and not _jpeg_complete(data.tobytes()):
        raise InputError(f"{p}: truncated or corrupt JPEG (no end of image after its data)")
    return data


def decode_image(path: str | os.PathLike, flags: int) -> np.ndarray:
    """``cv2.imdecode`` of a checked file (see the module docstring) with OpenCV's ``IMREAD_*`` flags."""
    import cv2

    p = Path(path)
    data = read_image_data(p)
    try:
        img = cv2.imdecode(data, flags)
    except cv2.error as e:  # OpenCV's own limits and decoder failures
        raise InputError(f"{p}: not a readable image ({str(e).strip().splitlines()[-1]})") from None
    if img is None or img.size == 0:
        raise InputError(f"{p}: not a readable image (corrupt or unsupported format)")
    check_image_size(img.shape[1], img.shape[0], p)  # formats whose header was not recognised
    return img


def read_image_bgr(path: str | os.PathLike) -> np.ndarray:
    """(H, W, 3) uint8 BGR, as OpenFace sees the file. Raises InputError (one line naming the file)
    if it is missing, unreadable, over the size limit or not a decodable image."""
    import cv2

    # the very call OpenFace makes (ImageCapture::GetNextImage): EXIF orientation applied, gray
    # replicated to 3 channels, alpha dropped, 16-bit reduced to its high byte
    return np.ascontiguousarray(decode_image(path, cv2.IMREAD_COLOR))
