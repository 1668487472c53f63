"""Landmark layouts: stacked [x0..xN-1, y0..yN-1] (OpenFace), interleaved [x0, y0, ...], (N, 2)."""

from __future__ import annotations

import numpy as np


def stacked_to_xy(landmarks_stacked: np.ndarray) -> np.ndarray:
    """(2N,) or (2N, 1) stacked -> (N, 2) rows of (x, y)."""
    v = np.asarray(landmarks_stacked).reshape(-1)
    n = v.size // 2
    return np.stack([v[:n], v[n:]], axis=1)


def xy_to_stacked(landmarks_xy: np.ndarray) -> np.ndarray:
    """(N, 2) rows of (x, y) -> (2N,) stacked."""
    a = np.asarray(landmarks_xy)
    return np.concatenate([a[:, 0], a[:, 1]])


def stacked_to_interleaved(landmarks_stacked: np.ndarray) -> np.ndarray:
    """Stacked (2N,...) -> interleaved, same shape. Leading axis is the landmark axis; trailing axes ride along."""
    v = np.asarray(landmarks_stacked)
    n = v.shape[0] // 2
    out = np.empty_like(v)
    out[0::2] = v[:n]
    out[1::2] = v[n:]
    return out


def interleaved_to_stacked(landmarks_interleaved: np.ndarray) -> np.ndarray:
    """Interleaved (2N,...) -> stacked, same shape."""
    v = np.asarray(landmarks_interleaved)
    n = v.shape[0] // 2
    out = np.empty_like(v)
    out[:n] = v[0::2]
    out[n:] = v[1::2]
    return out
