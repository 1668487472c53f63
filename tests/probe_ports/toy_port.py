"""A small third-party 'port' for the probe tests: PNet's face-probability maps, written the way
ports are written (a class with helpers, hidden state), with bugs that can be switched on."""

from __future__ import annotations

import numpy as np


def probability(out: np.ndarray) -> np.ndarray:
    """(6, h, w) PNet maps -> (h, w) face probability, float32 as C++ computes it."""
    return (np.float32(1) / (np.float32(1) + np.exp(out[0] - out[1]))).astype(np.float32)


class ToyDetector:
    def __init__(self, bug: str = ""):
        self.bug = bug
        self.last_prob = None

    def _prob(self, out: np.ndarray) -> np.ndarray:
        if self.bug == "hw_swap":  # an im2col that walks W before H, then reshapes back
            out = np.ascontiguousarray(out.transpose(0, 2, 1)).reshape(out.shape)
        p = probability(out)
        self.last_prob = p
        return p

    def detect(self, maps: list) -> list:
        return [self._prob(np.asarray(m)) for m in maps]

    def detect_one(self, out):
        return self._prob(np.asarray(out))

    def raises(self, out):
        raise RuntimeError("port exploded")


def build(bug: str = "") -> ToyDetector:
    return ToyDetector(bug)
