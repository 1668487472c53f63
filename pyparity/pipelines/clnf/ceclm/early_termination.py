"""Early termination of the rotation hypotheses in CE-CLM (OpenFace 2.0.2: the `EarlyTermination` file
read by Patch_experts::Read, used by DetectLandmarksInImageMultiHypEarlyTerm in LandmarkDetectorFunc.cpp).

API:
    et = read_early_termination(path, n_views) -> EarlyTermination   # weights, biases, cutoffs (n_views,) float64
    d = et.decide(model_likelihood, view_used) -> EarlyTermDecision  # after a hypothesis's first-scale fit
    d.likelihood (np.float32), d.passes (bool); d.record(rec)         # hNN/early_term/* (reference names)
    completion_order(likelihoods, max_completed=3) -> list[int]        # which stored hypotheses are completed

The file is whitespace-separated text: n_views weights, then n_views biases, then n_views cutoffs
(n_views = the number of views of the first patch-expert scale), read with `>> double`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from pyparity.errors import ModelError
from pyparity.trace.recorder import StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/clnf/h*/early_term/*", "EarlyTermDecision.record",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypEarlyTerm",
          "the early-termination test of a hypothesis"),
)


@dataclass(frozen=True)
class EarlyTermDecision:
    """One hypothesis's test: `lhood = (float)(model_likelihood·weight + bias)` (product and sum in
    double), continue when `lhood > cutoff` (the float promoted to double)."""

    view_used: int
    model_likelihood: np.float32
    weight: float
    bias: float
    cutoff: float
    likelihood: np.float32
    passes: bool

    def record(self, rec: StageRecorder) -> None:
        """Inside the caller's `hNN/early_term` scope, in the reference's order and dtypes."""
        rec.save("view_used", np.int32(self.view_used))
        rec.save("model_likelihood", np.float32(self.model_likelihood))
        rec.save("weight", np.float64(self.weight))
        rec.save("bias", np.float64(self.bias))
        rec.save("cutoff", np.float64(self.cutoff))
        rec.save("likelihood", np.float32(self.likelihood))
        rec.save("continue", np.int32(self.passes))


@dataclass(frozen=True)
class EarlyTermination:
    """Per-view weights, biases and cutoffs, (n_views,) float64 each."""

    path: Path
    weights: np.ndarray
    biases: np.ndarray
    cutoffs: np.ndarray

    @property
    def n_views(self) -> int:
        return self.weights.shape[0]

    def likelihood(self, model_likelihood, view_used: int) -> np.float32:
        """DetectLandmarksInImageMultiHypEarlyTerm: `float lhood = model_likelihood * w[view] + b[view]`
        with the float model likelihood promoted to double."""
        ml = np.float64(np.float32(model_likelihood))
        return np.float32(ml * self.weights[view_used] + self.biases[view_used])

    def decide(self, model_likelihood, view_used: int) -> EarlyTermDecision:
        if not 0 <= view_used < self.n_views:
            raise ModelError(f"{self.path}: view {view_used} out of range ({self.n_views} views)")
        lh = self.likelihood(model_likelihood, view_used)
        cut = float(self.cutoffs[view_used])
        return EarlyTermDecision(int(view_used), np.float32(model_likelihood), float(self.weights[view_used]),
                                 float(self.biases[view_used]), cut, lh, bool(np.float64(lh) > cut))


def read_early_termination(path: str | Path, n_views: int) -> EarlyTermination:
    """Patch_experts::Read's early-termination part. C++ silently reads 0 for missing numbers; here a
    file with fewer than 3·n_views numbers, or a non-number among them, is a ModelError naming it
    (numbers after the first 3·n_views are ignored, as C++ ignores them)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii", errors="replace")
    except OSError as e:
        raise ModelError(f"{path}: cannot read the early-termination file ({e.strerror})") from None
    need = 3 * int(n_views)
    toks = text.split()
    if len(toks) < need:
        raise ModelError(f"{path}: early-termination file has {len(toks)} numbers, expected {need} "
                         f"(weights, biases and cutoffs for {n_views} views)")
    vals = []
    for i, t in enumerate(toks[:need]):
        try:
            v = float(t)
        except ValueError:
            raise ModelError(f"{path}: early-termination value {i + 1} is not a number: {t[:40]!r}") from None
        vals.append(v)
    a = np.array(vals, dtype=np.float64).reshape(3, n_views)
    return EarlyTermination(path, a[0].copy(), a[1].copy(), a[2].copy())


def completion_order(likelihoods: Sequence[float], max_completed: int = 3) -> list[int]:
    """sort_indexes + "pick the 3 best": indices of the stored hypotheses by descending likelihood,
    at most `max_completed`. libstdc++'s std::sort is an insertion sort for <= 16 elements (OpenFace
    has 11 hypotheses), which keeps equal likelihoods in their original order: a stable sort."""
    v = [float(np.float32(x)) for x in likelihoods]
    order = sorted(range(len(v)), key=lambda i: -v[i])   # Python's sort is stable
    return order[:max_completed]
