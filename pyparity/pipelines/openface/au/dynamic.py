"""The video-only AU stages of FaceAnalyser (FeatureExtraction), as pure functions of arrays:

    med = running_median_update(med, descriptor, update, num_bins, min_val, max_val)  # UpdateRunningMedian
    scores = dynamic_scores(features, medians, predictors)        # SVR/SVM_dynamic_lin::Predict (before threshold)
    track, corrected = correct_online(track, predictions, update) # UpdatePredictionTrack + CorrectOnlineAUs
    values = offline_intensities(history, successes, cutoff)       # ExtractAllPredictionsOfflineReg
    values = offline_presences(history)                            # ExtractAllPredictionsOfflineClass

Arithmetic as C++ (FaceAnalyser.cpp): the histogram bin of a value is `(int)` of the MatExpr
`(d - min)·bins/length`, which OpenCV folds into one `convertTo(alpha = bins·(1/length), beta =
-min·bins·(1/length))` (a fused multiply-add in its SIMD loop); medians are bin centres
`min + j·(length/bins) + 0.5·length/bins`; the dynamic scores subtract the means, then the medians,
before one double sum per AU in feature order (as the static ones, predict.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

# FaceAnalyser's constructor: HOG medians over [-0.005, 1] in 1000 bins, geometry over [-60, 60] in 10000
HOG_BINS = (1000, -0.005, 1.0)
GEOM_BINS = (10000, -60.0, 60.0)
# CorrectOnlineAUs -> UpdatePredictionTrack(..., ratio 0.10, 200 bins, [-3, 5], min_frames 10)
TRACK = (0.10, 200, -3.0, 5.0, 10)


@dataclass
class RunningMedian:
    """UpdateRunningMedian's state: a histogram per descriptor element, the update count, the median."""

    histogram: np.ndarray      # (D, bins) int32
    count: int
    median: np.ndarray         # (D,) float64


@numba.njit(cache=True, fastmath={"contract"})
def _bin_and_count(hist, d, alpha, beta, nb):
    # convertTo(alpha, beta) (fused in OpenCV's SIMD loop), clamped to [0, nb - 1], truncated
    for i in range(d.shape[0]):
        v = d[i] * alpha + beta
        if v > nb - 1:
            v = nb - 1.0
        if v < 0:
            v = 0.0
        hist[i, int(v)] += 1


@numba.njit(cache=True)
def _median_from(hist, cutoff, min_val, length, nb, median):
    step = length / nb
    half = 0.5 * length / nb
    for i in range(hist.shape[0]):
        c = 0
        for j in range(hist.shape[1]):
            c += hist[i, j]
            if c >= cutoff:
                median[i] = (min_val + j * step) + half
                break


def running_median_update(state: RunningMedian | None, descriptor: np.ndarray, update: bool, num_bins: int,
                          min_val: float, max_val: float) -> RunningMedian:
    """FaceAnalyser::UpdateRunningMedian: add `descriptor` ((1, D) or (D,) float64) to the histograms if
    `update`, then the median of what was added (the descriptor itself after the first update). The
    state is updated in place and returned (None: a fresh one, as C++'s empty histogram)."""
    d = np.ascontiguousarray(descriptor, dtype=np.float64).reshape(-1)
    length = abs(max_val - min_val)
    if state is None:
        state = RunningMedian(np.zeros((d.shape[0], num_bins), dtype=np.int32), 0, d.copy())
    if update:
        alpha = float(num_bins) * (1.0 / length)
        beta = (-min_val * float(num_bins)) * (1.0 / length)
        _bin_and_count(state.histogram, d, alpha, beta, num_bins)
        state.count += 1
    if state.count == 1:
        state.median = d.copy()
    else:
        _median_from(state.histogram, (state.count + 1) // 2, float(min_val), float(length), float(num_bins),
                     state.median)
    return state


@numba.njit(cache=True)
def _dynamic_scores(x, means, med, w, biases):
    f, k = w.shape
    out = np.empty(k)
    for j in range(k):
        s = 0.0
        for i in range(f):
            s = s + ((x[i] - means[i]) - med[i]) * w[i, j]
        out[j] = s + biases[j]
    return out


def dynamic_scores(features: np.ndarray, medians: np.ndarray, predictors) -> np.ndarray:
    """`(input - means - running_median) · support_vectors + biases` (SVR_dynamic_lin_regressors /
    SVM_dynamic_lin::Predict): (K,) float64. features and medians: hconcat(HOG, geometry), (1, F)."""
    x = np.ascontiguousarray(features, dtype=np.float64).reshape(-1)
    m = np.ascontiguousarray(medians, dtype=np.float64).reshape(-1)
    return _dynamic_scores(x, predictors.means, m, predictors.weights, predictors.biases)


@dataclass(frozen=True)
class PredictionTrack:
    """UpdatePredictionTrack's state for one view: a histogram of each AU's online predictions."""

    histogram: np.ndarray      # (K, 200) int32
    count: int


def update_prediction_track(track: PredictionTrack | None, predictions: np.ndarray, ratio: float = TRACK[0],
                            num_bins: int = TRACK[1], min_val: float = TRACK[2], max_val: float = TRACK[3],
                            min_frames: int = TRACK[4]) -> tuple[PredictionTrack, np.ndarray]:
    """FaceAnalyser::UpdatePredictionTrack -> (new track, correction (K,)): once `min_frames` predictions
    are in, each AU's correction is the lower edge of the bin where its histogram passes `ratio` of them."""
    p = np.asarray(predictions, dtype=np.float64).reshape(-1)
    length = abs(max_val - min_val)
    hist = np.zeros((p.shape[0], num_bins), np.int32) if track is None else track.histogram.copy()
    count = 0 if track is None else track.count
    for i in range(hist.shape[0]):
        index = int((p[i] - min_val) * float(num_bins) / length)    # (int) truncates toward zero
        hist[i, min(max(index, 0), num_bins - 1)] += 1
    count += 1
    correction = np.zeros(p.shape[0])
    if count >= min_frames:
        cutoff = int(ratio * count)
        for i in range(hist.shape[0]):
            over = np.flatnonzero(np.cumsum(hist[i]) > cutoff)
            if over.size:
                correction[i] = min_val + int(over[0]) * (length / num_bins)
    return PredictionTrack(hist, count), correction


def correct_online(track: PredictionTrack | None, predictions: np.ndarray, update_track: bool,
                   dyn_shift: bool = True, clip: bool = True) -> tuple[PredictionTrack | None, np.ndarray]:
    """FaceAnalyser::CorrectOnlineAUs(predictions, view, dyn_shift, dyn_scale=false, update_track, clip)
    as AddNextFrame calls it for webcams: subtract the track's correction (zero when the frame failed),
    clip to [0, 5]. Returns (track, corrected (K,))."""
    out = np.asarray(predictions, dtype=np.float64).reshape(-1).copy()
    correction = np.zeros_like(out)
    if update_track:
        track, correction = update_prediction_track(track, out)
    if dyn_shift:
        out = out - correction
    if clip:
        out = np.where(out < 0, 0.0, np.where(out > 5, 5.0, out))
    return track, out


def offline_offset(history: np.ndarray, successes: np.ndarray, cutoff: float | None) -> float:
    """ExtractAllPredictionsOfflineReg's person-specific offset of one AU: the `cutoff` quantile of the
    successful frames' values (sorted, index (int)(n·cutoff)); 0 without a cutoff (None or -1) or
    without a successful frame."""
    vals = np.asarray(history, dtype=np.float64).reshape(-1)
    good = np.sort(vals[np.asarray(successes, dtype=bool).reshape(-1)])
    if cutoff is None or cutoff == -1 or not good.size:
        return 0.0
    return float(good[int(float(good.size) * float(cutoff))])


def offline_intensities(history: np.ndarray, successes: np.ndarray, cutoff: float | None,
                        offset: float | None = None) -> np.ndarray:
    """ExtractAllPredictionsOfflineReg for one AU: `history` (n,) its per-frame intensities, `cutoff` the
    AU's dynamic cutoff (None or -1: no offset), or the `offset` itself. Successful frames are shifted
    by the offset (offline_offset) and clipped to [0, 5], failed ones 0; then a 3-frame moving mean (the
    first and last frames kept)."""
    vals = np.asarray(history, dtype=np.float64).reshape(-1).copy()
    ok = np.asarray(successes, dtype=bool).reshape(-1)
    if offset is None:
        offset = offline_offset(vals, ok, cutoff)
    shifted = (vals - offset) * 1.0
    vals = np.where(ok, np.where(shifted < 0.0, 0.0, np.where(shifted > 5, 5.0, shifted)), 0.0)
    out = vals.copy()
    for i in range(1, vals.shape[0] - 1):
        out[i] = ((vals[i - 1] + vals[i]) + vals[i + 1]) / 3
    return out


def offline_presences(history: np.ndarray) -> np.ndarray:
    """ExtractAllPredictionsOfflineClass for one AU: a 7-frame majority (mean >= 0.5 -> 1) for the frames
    with 3 neighbours on each side; the first and last 3 frames kept as they are."""
    vals = np.asarray(history, dtype=np.float64).reshape(-1)
    out = vals.copy()
    n = vals.shape[0]
    if n > 3:
        for i in range(3, n - 3):
            s = 0.0
            for w in range(-3, 4):
                s += vals[i + w]
            out[i] = 0.0 if s / 7 < 0.5 else 1.0
    return out


def dynamic_cutoff(predictors, name: str) -> float | None:
    """The cutoff C++ uses for AU `name`: the dynamic SVR's, if that family lists the AU (else None)."""
    if predictors is None or predictors.cutoffs is None or name not in predictors.names:
        return None
    return float(predictors.cutoffs[predictors.names.index(name)])


__all__ = ["RunningMedian", "PredictionTrack", "running_median_update", "dynamic_scores", "update_prediction_track",
           "correct_online", "offline_offset", "offline_intensities", "offline_presences", "dynamic_cutoff"]
