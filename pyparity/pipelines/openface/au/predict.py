"""Stages `faceNN/au/view`, `reg/*` and `class/*`: the static linear AU predictions
(FaceAnalyser::GetViewId, PredictCurrentAUs, PredictCurrentAUsClass; SVR_static_lin_regressors::Predict,
SVM_static_lin::Predict).

    view = view_id(head_orientations, params_global)        # int, 0 with OpenFace's single frontal view
    scores = linear_scores(features, predictors)             # (K,) float64: (x - means) · W + biases
    raw, clipped = intensities(features, models.intensity)  # reg/raw, reg/output (clipped to [0, 5])
    margin, present = presences(features, models.presence)  # class/margin, class/output

`features` is hconcat(hog descriptor, geometry descriptor) (1, F) float64. The C++ product is
`(input - means) * support_vectors + biases`, a cv::Mat gemm of one row: OpenCV's own gemm (below its
BLAS threshold), each output a double sum in feature order without FMA, then + the bias. Ported
as such (bit-identical on every recorded face; a BLAS dot product differs in the last bits).

class/margin is not in the reference dumps: it is the SVM score each presence decision thresholds
(`score > 0` -> pos_class, else neg_class), recorded so that a report can say how far a decision
was from flipping.
"""

from __future__ import annotations

import math

import numba
import numpy as np

INTENSITY_RANGE = (0.0, 5.0)


def view_id(head_orientations, params_global) -> int:
    """GetViewId: the nearest head orientation (cv::norm of the Euler difference), the first on ties."""
    rot = np.asarray(params_global, dtype=np.float32).reshape(6)[1:4].astype(np.float64)
    best, best_d = 0, -1.0
    for i, o in enumerate(head_orientations):
        d = math.sqrt(sum((float(r) - float(v)) ** 2 for r, v in zip(rot, o)))
        if i == 0 or d < best_d:
            best, best_d = i, d
    return best


@numba.njit(cache=True)
def _scores(x, means, w, biases):
    f, k = w.shape
    out = np.empty(k)
    for j in range(k):
        s = 0.0
        for i in range(f):
            s = s + (x[i] - means[i]) * w[i, j]
        out[j] = s + biases[j]
    return out


def linear_scores(features: np.ndarray, predictors) -> np.ndarray:
    """(x - means) · weights + biases -> (K,) float64, summed as OpenCV's single-row gemm."""
    x = np.ascontiguousarray(features, dtype=np.float64).reshape(-1)
    if x.shape[0] != predictors.n_features:
        from pyparity.errors import InputError

        raise InputError(f"AU features have {x.shape[0]} values, the models expect {predictors.n_features}")
    return _scores(x, predictors.means, predictors.weights, predictors.biases)


def intensities(features: np.ndarray, predictors) -> tuple[np.ndarray, np.ndarray]:
    """SVR intensities: (raw (K,), clipped to [0, 5] (K,)) float64 (PredictStaticAUsAndComputeFeatures)."""
    raw = linear_scores(features, predictors)
    lo, hi = INTENSITY_RANGE
    # `if (v < 0) v = 0; if (v > 5) v = 5;` (a -0.0 or a NaN stays as it is)
    return raw, np.where(raw < lo, lo, np.where(raw > hi, hi, raw))


def presences(features: np.ndarray, predictors) -> tuple[np.ndarray, np.ndarray]:
    """SVM presences: (margin: the score (K,) float64, output: pos_class where score > 0 else neg_class)."""
    margin = linear_scores(features, predictors)
    return margin, np.where(margin > 0, predictors.pos_class, predictors.neg_class).astype(np.float64)
