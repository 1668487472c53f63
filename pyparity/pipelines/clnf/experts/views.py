"""What the CCNF and CEN patch-expert sets share (C++ Patch_experts holds either kind): one scale holds
experts [view][landmark] with a view-visibility table; a model holds one such scale per patch scaling,
and picks a scale's view by the nearest view centre (Patch_experts::GetViewIdx)."""

from __future__ import annotations

import numba
import numpy as np


class ViewedScale:
    """Mixin for one scale's experts: needs ``experts`` ([view][landmark]) and ``visibilities``
    (n_views, n_landmarks)."""

    @property
    def n_views(self) -> int:
        return len(self.experts)

    @property
    def n_landmarks(self) -> int:
        return self.visibilities.shape[1]


class ScaledExperts:
    """Mixin for a model's experts: needs ``scales`` (each with ``patch_scaling``, ``centers`` and
    ``visibilities``)."""

    @property
    def n_scales(self) -> int:
        return len(self.scales)

    @property
    def patch_scaling(self) -> list[float]:
        return [s.patch_scaling for s in self.scales]

    @property
    def n_landmarks(self) -> int:
        return self.scales[0].n_landmarks

    def visibility(self, scale: int, view_id: int) -> np.ndarray:
        return self.scales[scale].visibilities[view_id]

    def view_index(self, params_global: np.ndarray, scale: int) -> int:
        """Patch_experts::GetViewIdx (see nearest_view)."""
        return nearest_view(self.scales[scale].centers, params_global)


def nearest_view(centers: np.ndarray, params_global: np.ndarray) -> int:
    """Patch_experts::GetViewIdx: the index of the view centre nearest to (rx, ry, rz).
    centers (V, 3) float64 radians; params_global (6,) float32. As C++: `float v = params_global[i] -
    centre` (the double difference stored as float), `float d = v1*v1 + v2*v2 + v3*v3` in float, the
    first minimum wins."""
    pg = np.asarray(params_global, dtype=np.float32).reshape(-1)
    return int(_nearest_view(np.ascontiguousarray(centers, dtype=np.float64), pg))


@numba.njit(cache=True)
def _nearest_view(centers, pg):
    """nearest_view's loop, compiled (the same float32 operations, no contraction: ~1 us instead of
    ~25 us of NumPy scalar arithmetic per call)."""
    best = 0
    dbest = np.float32(0.0)
    for i in range(centers.shape[0]):
        v1 = np.float32(np.float64(pg[1]) - centers[i, 0])
        v2 = np.float32(np.float64(pg[2]) - centers[i, 1])
        v3 = np.float32(np.float64(pg[3]) - centers[i, 2])
        d = np.float32(np.float32(v1 * v1) + np.float32(v2 * v2)) + np.float32(v3 * v3)
        if i == 0 or d < dbest:
            dbest = d
            best = i
    return best
