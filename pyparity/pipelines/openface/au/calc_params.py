"""Stage `faceNN/au/calc_params/*`: the AU PDM's parameters for the landmarks the face was fitted with.

FaceAnalyser::PredictStaticAUsAndComputeFeatures starts with `pdm.CalcParams(params_global,
params_local, detected_landmarks)` (PDM.cpp, the overload from landmarks, rotation 0) on its own PDM
(`AU_predictors/In-the-wild_aligned_PDM_68.txt`, the same file as the CLNF model's). This is the CLNF
port's PDM::CalcParams (clnf.pdm.PDM.calc_params_from_landmarks), bit for bit.
"""

from __future__ import annotations

import numpy as np


def calc_params(pdm, landmarks_stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """PDM::CalcParams(params_global, params_local, landmarks) -> ((6,) float32 [scale, rx, ry, rz, tx, ty],
    (m,) float32). landmarks_stacked: (2n,) float32 [x0..xn-1, y0..yn-1]."""
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    return pdm.calc_params_from_landmarks(lm)
