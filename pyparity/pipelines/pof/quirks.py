"""Upstream defects, made visible: each function reports one quirk for a given input/run.

Upstream @ 396dac4 behaviours reproduced by default (see reconstruct.Options for the fixes):

1. ``fallback``: when |orient_xy|^2 <= 0.05 the solver uses scale = bl*sign(orient_z + 1e-8), so
   child_z - parent_z = bl*|orient_z| > 0: the child is always placed *farther* from the camera,
   even when the POF says the limb points at the camera (orient_z < 0).
2. ``zsign``: reconstruct_3d applies the z-sign head's correction only for a 1-frame clip (the
   batch-1 branch of predict_pof); clips of >1 frame skip it. Same model, different POF.
3. ``aspect``: input x = u/W, y = v/H: one unit is W px in x but H px in y, distorting shapes by W/H.
4. ``torso``: metric torso = H/3.4 (0.294 H) while the bone table's torso_side is 0.288 H;
   enforce_bones then rewrites depths to the table lengths.
5. ``orthographic``: X, Y are the 2D positions, so the solver is exact only under orthographic
   projection (isotropic coordinates, no fallback).
"""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof.features import normalize_pose_2d
from pyparity.pipelines.pof.solver import solve_depths


def fallback_report(pof: np.ndarray, keypoints_2d: np.ndarray) -> dict:
    """Per (frame, SOLVE_ORDER step): where the fallback fires, and where it puts the child on the
    wrong side (POF z < 0, i.e. towards the camera, but child placed farther)."""
    pof = np.asarray(pof, np.float32)
    n, _, _ = normalize_pose_2d(np.asarray(keypoints_2d, np.float32), torch_names=True)
    _, _, dec = solve_depths(pof, n, None)
    oz = np.stack([(-pof[:, l, 2] if l in C.REVERSED_LIMBS else pof[:, l, 2]) for l in C.SOLVE_ORDER], axis=1)
    fired = ~dec["valid"]
    return {"fired": fired, "wrong_side": fired & (oz < 0), "solve_order": C.SOLVE_ORDER}


def zsign_applied(variant: str, n_frames: int, zsign: str = "upstream") -> bool:
    """Whether reconstruct_3d applies the z-sign correction (upstream: temporal model and 1 frame)."""
    if variant != "semgcn-temporal" or zsign == "never":
        return False
    return zsign == "always" or n_frames == 1


def aspect_distortion(image_size=(1920, 1080)) -> float:
    """Factor by which upstream's y unit is shorter than its x unit (W/H; 1 = isotropic)."""
    W, H = image_size
    return W / H


def torso_mismatch(height_m: float) -> dict:
    """Metric torso used for scale vs the bone table's same-side torso length (metres)."""
    metric = float(height_m) / C.HEIGHT_TO_TORSO_RATIO
    table = float(height_m) * C.PROPORTIONS["torso_side"]
    return {"metric_torso_m": metric, "bone_table_torso_m": table, "ratio": metric / table}


def all_quirks(result, variant: str, image_size=(1920, 1080), height_m: float = 1.78, keypoints_2d=None) -> dict:
    """Summary for a reconstruct.Result (flags per quirk)."""
    out = {
        "zsign_applied": bool(result.quirks.get("zsign_applied")),
        "zsign_depends_on_clip_length": variant == "semgcn-temporal",
        "aspect_distortion": aspect_distortion(image_size),
        "torso": torso_mismatch(height_m),
        "scale_clamped_count": int(np.sum(result.quirks.get("scale_clamped", 0))),
        "enforce_clamped_count": int(np.sum(result.quirks.get("enforce_clamped", 0))),
    }
    valid = result.quirks.get("valid_solve")
    out["fallback_count"] = int(np.sum(~valid)) if valid is not None else 0
    if keypoints_2d is not None:
        fr = fallback_report(result.pof, keypoints_2d)
        out["fallback_wrong_side_count"] = int(fr["wrong_side"].sum())
    return out
