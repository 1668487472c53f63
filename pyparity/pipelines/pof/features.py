"""2D input normalisation and limb features (upstream dataset.py normalize_pose_2d /
compute_limb_features_2d, and least_squares.py normalize_2d_for_pof: bit-identical in float32).

``pose_2d`` is (T,17,2) float32 in MediaPipe-style [0,1] image coordinates x = u/W, y = v/H
(anisotropic: one unit is W pixels in x and H pixels in y; upstream does not correct it).
"""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof.recording import LS_SCOPES, FrameSaver
from pyparity.trace.stage_index import Stage, declare


_UPSTREAM = "humanpose3d src/pof/"

STAGES = declare(
    __name__,
    Stage("frame*/features/normalize/*", "normalize_pose_2d", _UPSTREAM + "dataset.py: normalize_pose_2d",
          "pelvis-centred keypoints divided by the 2D torso length"),
    Stage("frame*/features/limbs/*", "limb_features_2d", _UPSTREAM + "dataset.py: compute_limb_features_2d",
          "per limb: the raw delta, its unit vector and length"),
    Stage("ls/normalize/*", "normalize_pose_2d", _UPSTREAM + "least_squares.py: normalize_2d_for_pof",
          "the solver's torch copy of the normalisation", prefixes=LS_SCOPES),
)

F32 = np.float32


def _norm2(v: np.ndarray) -> np.ndarray:
    """Euclidean norm over the last axis (length 2), float32."""
    return np.sqrt(np.sum(v * v, axis=-1, dtype=F32))


def normalize_pose_2d(kp: np.ndarray, s: FrameSaver | None = None, prefix: str = "features/normalize/",
                      eps: float = 1e-6, torch_names: bool = False):
    """Pelvis-centred, unit-torso 2D keypoints.

    kp (T,17,2) f32 -> (normalised (T,17,2), pelvis_2d (T,2), torso_scale (T,)). pelvis = mean of hips
    11/12; torso = mean(|kp5-kp11|, |kp6-kp12|); divide by max(torso, eps). ``torch_names`` records the
    solver's names (``normalized_2d``, no ``safe_scale``/``pose_2d_in``).
    """
    s = s or FrameSaver()
    kp = np.asarray(kp, dtype=F32)
    if not torch_names:
        s.save(prefix + "pose_2d_in", kp)
    pelvis = (kp[:, C.L_HIP] + kp[:, C.R_HIP]) / F32(2)
    s.save(prefix + "pelvis_2d", pelvis)
    centered = kp - pelvis[:, None, :]
    s.save(prefix + "centered", centered)
    l_t = _norm2(kp[:, C.L_SHOULDER] - kp[:, C.L_HIP])
    r_t = _norm2(kp[:, C.R_SHOULDER] - kp[:, C.R_HIP])
    s.save(prefix + "l_torso", l_t)
    s.save(prefix + "r_torso", r_t)
    torso = (l_t + r_t) / F32(2)
    s.save(prefix + "torso_scale", torso)
    safe = np.maximum(torso, F32(eps))
    if not torch_names:
        s.save(prefix + "safe_scale", safe)
    norm = centered / safe[:, None, None]
    s.save(prefix + ("normalized_2d" if torch_names else "pose_2d_norm"), norm)
    return norm, pelvis, torso


def limb_features_2d(pose_norm: np.ndarray, s: FrameSaver | None = None, prefix: str = "features/limbs/"):
    """(T,17,2) -> (limb_delta_2d (T,14,2) unit or 0 if length <= 1e-6, limb_length_2d (T,14))."""
    s = s or FrameSaver()
    delta = pose_norm[:, C.LIMB_CHILDREN] - pose_norm[:, C.LIMB_PARENTS]
    s.save(prefix + "delta_raw", delta)
    length = _norm2(delta)
    ok = length > F32(1e-6)
    unit = np.where(ok[..., None], delta / np.where(ok, length, F32(1))[..., None], F32(0)).astype(F32)
    s.save(prefix + "limb_delta_2d", unit)
    s.save(prefix + "limb_length_2d", length)
    return unit, length
