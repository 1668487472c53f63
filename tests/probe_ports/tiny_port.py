"""A small third-party 'port' of a face-detector-like pipeline, for the hunt tests: one method per stage,
written the way ports are (a class, hidden state, float64 where the reference is float32), with bugs
that can be switched on one by one or several at once. With no bug it *is* the reference: the tests
record it clean as the reference trace, then hunt the buggy versions against it.

Stages (each a method; the probe in the tests captures their return values under ``tiny/...``):

    normalised  (H, W, 3) float32   (image - 127.5) / 128, BGR
    gray        (H, W) float32      BT.601 weights on B, G, R
    pooled      (H/2, W/2) float32  2 x 2 mean
    scale       ()                  the pyramid scale, 12 / min_size
    peaks       (K, 2) float64      the K strongest cells (row, col), strongest first, ties by position
    boxes       (K, 4) float64      xywh boxes around the peaks, in image pixels
    output      (K, 4) float32      boxes after a calibration (x, y shifted by 10 % of w, h)
"""

from __future__ import annotations

import numpy as np

BUGS = {
    "rgb": "normalised: channels in RGB order",
    "offset": "normalised: (image - 127) / 128 (half a grey level off)",
    "gray_weights": "gray: the R and B weights swapped",
    "pool_hw": "pooled: rows and columns swapped",
    "scale": "scale: 12 / 50 instead of 12 / min_size",
    "xyxy": "boxes: x1, y1, x2, y2 instead of x, y, w, h",
    "calibration": "output: 12 % instead of 10 % of the size",
}


class TinyPort:
    def __init__(self, bugs: str = "", min_size: int = 60, k: int = 5):
        self.bugs = {b for b in bugs.split(",") if b}
        unknown = self.bugs - set(BUGS)
        if unknown:
            raise ValueError(f"unknown bug(s) {sorted(unknown)}")
        self.min_size, self.k = min_size, k
        self.calls = 0

    def normalised(self, image: np.ndarray) -> np.ndarray:
        x = image.astype(np.float32)
        if "rgb" in self.bugs:
            x = x[..., ::-1]
        centre = np.float32(127.0 if "offset" in self.bugs else 127.5)
        return ((x - centre) * np.float32(1 / 128)).astype(np.float32)

    def gray(self, x: np.ndarray) -> np.ndarray:
        w = np.array([0.114, 0.587, 0.299], np.float32)
        if "gray_weights" in self.bugs:
            w = w[::-1]
        return (x @ w).astype(np.float32)

    def pooled(self, g: np.ndarray) -> np.ndarray:
        h, w = g.shape[0] // 2 * 2, g.shape[1] // 2 * 2
        p = g[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)).astype(np.float32)
        if "pool_hw" in self.bugs:
            p = np.ascontiguousarray(p.T).reshape(p.shape)
        return p

    def scale(self) -> float:
        return 12.0 / (50 if "scale" in self.bugs else self.min_size)

    def peaks(self, p: np.ndarray) -> np.ndarray:
        flat = p.reshape(-1)
        order = np.lexsort((np.arange(flat.size), -flat))[: self.k]
        return np.stack([order // p.shape[1], order % p.shape[1]], axis=1).astype(np.float64)

    def boxes(self, peaks: np.ndarray, scale: float) -> np.ndarray:
        side = 12.0 / scale
        x = peaks[:, 1] * 2.0 / scale * 0.1
        y = peaks[:, 0] * 2.0 / scale * 0.1
        b = np.stack([x, y, np.full_like(x, side), np.full_like(x, side)], axis=1)
        if "xyxy" in self.bugs:
            b[:, 2:] += b[:, :2]
        return b

    def output(self, boxes: np.ndarray) -> np.ndarray:
        f = 0.12 if "calibration" in self.bugs else 0.1
        out = boxes.copy()
        out[:, 0] += f * boxes[:, 2]
        out[:, 1] += f * boxes[:, 3]
        return out.astype(np.float32)

    def detect(self, image: np.ndarray) -> np.ndarray:
        self.calls += 1
        g = self.gray(self.normalised(image))
        p = self.pooled(g)
        s = self.scale()
        return self.output(self.boxes(self.peaks(p), s))


def build(bugs: str = "", min_size: int = 60) -> TinyPort:
    return TinyPort(bugs, min_size)


def image(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """A test image with distinct values (no ties among the pooled cells)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
