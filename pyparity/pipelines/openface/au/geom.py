"""Stage `faceNN/au/geom/descriptor`: FaceAnalyser's geometry features (PredictStaticAUsAndComputeFeatures).

`locs = princ_comp_d · params_local_d` (the PDM's 3n×m principal components and the local parameters,
both widened to double), then `hconcat(locs.t(), params_local)`: (1, 3n + m) float64. The products of
two widened floats are exact in double, so only the order of the sums matters: each row's sum runs in
k order (checked bit for bit on every recorded face).
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(cache=True)
def _rows_times(a, x):
    # one double sum per row, k ascending, no FMA (the products are exact anyway)
    rows, k = a.shape
    out = np.empty(rows)
    for r in range(rows):
        s = 0.0
        for j in range(k):
            s = s + a[r, j] * x[j]
        out[r] = s
    return out


def geometry_descriptor(princ_comp: np.ndarray, params_local: np.ndarray) -> np.ndarray:
    """(1, 3n + m) float64: the non-rigid shape offsets (x, y, z per landmark, PDM order) then the params."""
    loc = np.asarray(params_local, dtype=np.float32).reshape(-1).astype(np.float64)
    pc = np.ascontiguousarray(princ_comp, dtype=np.float32).astype(np.float64)
    return np.concatenate([_rows_times(pc, loc), loc]).reshape(1, -1)
