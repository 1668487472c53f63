"""Pieces the HTML report's sections share: the A/B colours, images as data URIs, heat maps, stage lookup."""

from __future__ import annotations

import base64

import numpy as np

A_COLOUR, B_COLOUR = "#19c419", "#ff2bd6"


def b64_image(img: np.ndarray, ext: str = ".png") -> str:
    """An image (uint8, BGR or gray) as a data URI (".png" or ".jpg", encoded by OpenCV)."""
    import cv2

    ok, buf = cv2.imencode(ext, img, [cv2.IMWRITE_JPEG_QUALITY, 88] if ext == ".jpg" else [])
    if not ok:
        return ""
    mime = "image/jpeg" if ext == ".jpg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def get_stage(trace, name):
    """A stage as an array, or None when the trace is absent, lacks it or cannot read it."""
    try:
        return np.asarray(trace[name]) if trace is not None and name in trace else None
    except Exception:
        return None


def heat_png(m: np.ndarray, max_px: int = 360) -> tuple[str, float, float]:
    """Colour-mapped PNG (data URI) of a 2-D map, NaN white; returns (uri, min, max)."""
    import cv2

    finite = np.isfinite(m)
    lo = float(np.min(m[finite])) if finite.any() else 0.0
    hi = float(np.max(m[finite])) if finite.any() else 0.0
    span = hi - lo if hi > lo else 1.0
    u8 = np.zeros(m.shape, np.uint8)
    u8[finite] = np.clip((m[finite] - lo) / span * 255.0, 0, 255).astype(np.uint8)
    col = cv2.applyColorMap(u8, cv2.COLORMAP_INFERNO)
    col[~finite] = 255
    scale = max(1, int(max_px // max(m.shape)))
    if scale > 1:
        col = cv2.resize(col, (m.shape[1] * scale, m.shape[0] * scale), interpolation=cv2.INTER_NEAREST)
    return b64_image(col, ".png"), lo, hi
