"""MTC-style least-squares depth solver, denormalisation, metric scale and bone-length enforcement
(upstream least_squares.py / reconstruction.py / bone_lengths.py @ 396dac4), float32 throughout.

Conventions: ``pof`` (T,14,3) unit limb vectors in the camera frame (x right, y down, z away from
the camera), limb i pointing LIMBS[i] parent -> child. ``keypoints_2d`` (T,17,2) in [0,1] image
coordinates. Normalised units: pelvis-centred 2D, 2D torso length = 1, left-hip depth 0.

There is no global system: each limb in SOLVE_ORDER is an independent one-unknown least-squares
problem ``scale = <delta_2d, orient_xy> / |orient_xy|^2``, ``child_z = parent_z + scale * orient_z``.
X, Y stay the normalised 2D positions, so the result is exact only under orthographic projection.
"""

from __future__ import annotations

import warnings

import numpy as np

from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof.recording import LS_SCOPES, FrameSaver
from pyparity.trace.stage_index import Stage, declare


_UPSTREAM = "humanpose3d src/pof/"

STAGES = declare(
    __name__,
    Stage("ls/solve/*", "solve_depths", _UPSTREAM + "least_squares.py: solve_depth_least_squares_pof",
          "initial pose, limbs, scale factors, head depth", prefixes=LS_SCOPES),
    Stage("ls/solve/s*_limb*/*", "solve_depths", _UPSTREAM + "least_squares.py: solve_depth_least_squares_pof",
          "one step of SOLVE_ORDER: orientation, 2D delta, least-squares scale, fallback, clamp, child depth",
          prefixes=LS_SCOPES),
    Stage("ls/denorm/*", "denormalize", _UPSTREAM + "least_squares.py: denormalize_pose_3d",
          "scale, pelvis and the metric pose", prefixes=LS_SCOPES),
    Stage("ls/enforce/*", "enforce_bone_lengths", _UPSTREAM + "least_squares.py: enforce_bone_lengths",
          "the pose with bone lengths enforced", prefixes=LS_SCOPES),
    Stage("ls/enforce/s*_limb*/*", "enforce_bone_lengths", _UPSTREAM + "least_squares.py: enforce_bone_lengths",
          "one step of ENFORCE_ORDER: the child depth that gives the bone its length", prefixes=LS_SCOPES),
)

F32 = np.float32
FALLBACKS = ("upstream", "signed")


def bone_lengths_from_height(height_m: float) -> np.ndarray:
    """(14,) float32 metres: height x proportion in double, then stored float32 (bone_lengths.py)."""
    return np.array([float(height_m) * C.PROPORTIONS[n] for n in C.LIMB_PROPORTION], dtype=F32)


def metric_torso_scale(height_m: float, ratio: float = C.HEIGHT_TO_TORSO_RATIO) -> float:
    """Python float height / 3.4 (the metric torso; note bone table uses 0.288 * height)."""
    return float(height_m) / float(ratio)


def solve_depths(pof: np.ndarray, normalized_2d: np.ndarray, bone_lengths_norm: np.ndarray | None,
                 pelvis_depth: float = 0.0, use_2d_xy: bool = True, fallback: str = "upstream",
                 s: FrameSaver | None = None, prefix: str = "ls/solve/"):
    """Limb-by-limb depths. pof (T,14,3), normalized_2d (T,17,2), bone_lengths_norm (14,) or None.

    Returns (pose_3d_norm (T,17,3), scale_factors (T,14), decisions dict of (T,11) arrays:
    ``valid`` (lstsq branch), ``clamped``). ``fallback="upstream"`` reproduces upstream's
    ``bl * sign(orient_z + 1e-8)`` (child always placed farther, since scale*orient_z = bl*|z|);
    ``"signed"`` uses ``+bl`` so the child follows the POF's z sign.
    """
    if fallback not in FALLBACKS:
        raise ValueError(f"fallback must be one of {FALLBACKS}")
    s = s or FrameSaver()
    pof = np.asarray(pof, F32)
    T = pof.shape[0]
    pose = np.zeros((T, C.NUM_JOINTS, 3), F32)
    pose[:, :, :2] = normalized_2d
    pose[:, C.L_HIP, 2] = F32(pelvis_depth)
    pose[:, C.R_HIP, 2] = F32(pelvis_depth)
    s.save(prefix + "pose_3d_init", pose)
    scale_factors = np.zeros((T, C.NUM_LIMBS), F32)
    n = len(C.SOLVE_ORDER)
    valid_all = np.zeros((T, n), bool)
    clamped_all = np.zeros((T, n), bool)
    for step, limb in enumerate(C.SOLVE_ORDER):
        p = f"{prefix}s{step:02d}_limb{limb:02d}/"
        parent, child = C.LIMBS[limb]
        orient = pof[:, limb]
        if limb in C.REVERSED_LIMBS:
            parent, child = child, parent
            orient = -orient
        s.save_same(p + "limb_idx", np.int32(limb))
        s.save_same(p + "parent_idx", np.int32(parent))
        s.save_same(p + "child_idx", np.int32(child))
        s.save(p + "orientation", orient)
        parent_depth = pose[:, parent, 2].copy()
        s.save(p + "parent_depth", parent_depth)
        delta = normalized_2d[:, child] - normalized_2d[:, parent]
        s.save(p + "delta_2d", delta)
        dlen = np.sqrt(np.sum(delta * delta, axis=-1, dtype=F32))
        s.save(p + "delta_2d_len", dlen)
        oz = orient[:, 2].copy()
        s.save(p + "orient_z", oz)
        if use_2d_xy:
            zmag = np.abs(oz)
            s.save(p + "z_mag", zmag)
            xymag = np.sqrt(np.maximum(F32(1) - zmag * zmag, F32(0)))
            s.save(p + "xy_mag", xymag)
            dnorm = delta / np.maximum(dlen, F32(1e-6))[:, None]
            s.save(p + "delta_2d_norm", dnorm)
            oxy = dnorm * xymag[:, None]
        else:
            oxy = orient[:, :2].copy()
        s.save(p + "orient_xy", oxy)
        nsq = np.sum(oxy * oxy, axis=-1, dtype=F32)
        s.save(p + "orient_xy_norm_sq", nsq)
        valid = nsq > F32(C.VALID_SOLVE_THRESHOLD)
        s.save(p + "valid_solve", valid.astype(np.uint8))
        safe = np.where(valid, nsq, F32(1))
        s.save(p + "safe_norm_sq", safe)
        lstsq = np.sum(delta * oxy, axis=-1, dtype=F32) / safe
        s.save(p + "scale_lstsq", lstsq)
        if bone_lengths_norm is not None:
            bl = np.full(T, bone_lengths_norm[limb], F32)
            s.save(p + "bone_length_norm", bl)
        else:
            bl = dlen
        if fallback == "upstream":
            fb = bl * np.sign(oz + F32(1e-8)).astype(F32)
        else:
            fb = bl.copy()
        s.save(p + "fallback_scale", fb)
        unclamped = np.where(valid, lstsq, fb).astype(F32)
        s.save(p + "scale_unclamped", unclamped)
        mx = (F32(C.MAX_SCALE_FACTOR) * bl) if bone_lengths_norm is not None else np.full(T, F32(1.5))
        s.save(p + "max_scale", mx)
        scale = np.minimum(np.maximum(unclamped, -mx), mx)
        s.save(p + "scale", scale)
        child_depth = parent_depth + scale * oz
        s.save(p + "child_depth", child_depth)
        scale_factors[:, limb] = scale
        pose[:, child, 2] = child_depth
        valid_all[:, step] = valid
        clamped_all[:, step] = scale != unclamped
    s.save(prefix + "scale_factors", scale_factors)
    s.save(prefix + "pose_3d_limbs", pose)
    sc = (pose[:, C.L_SHOULDER, 2] + pose[:, C.R_SHOULDER, 2]) / F32(2)
    s.save(prefix + "shoulder_center_depth", sc)
    pose[:, 0, 2] = sc + F32(C.HEAD_DEPTH_OFFSET)
    pose[:, 1:5, 2] = pose[:, 0:1, 2]
    nan = np.isnan(pose).any(axis=-1, keepdims=True)
    if nan.any():  # upstream's NaN guard zeroes the joint silently; we say where
        f, j = np.argwhere(nan[..., 0])[0]
        frame = s.frames[f] if f < len(s.frames) else f
        warnings.warn(f"POF solver: NaN at frame {frame}, joint {j} ({int(nan.sum())} joint(s) set to 0, as upstream)",
                      RuntimeWarning, stacklevel=3)
        pose = np.where(nan, F32(0), pose)
    s.save(prefix + "pose_3d_norm", pose)
    return pose, scale_factors, {"valid": valid_all, "clamped": clamped_all}


def denormalize(pose_norm: np.ndarray, pelvis_2d: np.ndarray, torso_scale: np.ndarray, output_depth: float = 2.0,
                metric_scale: float | None = None, s: FrameSaver | None = None, prefix: str = "ls/denorm/") -> np.ndarray:
    """Unit-torso pose -> metres: pose * float32(metric_scale) + (pelvis_2d * scale / max(T2d,1e-6), output_depth)."""
    s = s or FrameSaver()
    T = pose_norm.shape[0]
    if metric_scale is not None:
        scale = np.full(T, F32(metric_scale), F32)
    else:
        scale = np.asarray(torso_scale, F32)
    s.save(prefix + "scale", scale)
    scaled = pose_norm * scale[:, None, None]
    s.save(prefix + "scaled", scaled)
    pelvis_3d = np.zeros((T, 1, 3), F32)
    if metric_scale is not None:
        ratio = scale / np.maximum(torso_scale, F32(1e-6))
        s.save(prefix + "scale_ratio", ratio)
        pelvis_3d[:, 0, :2] = pelvis_2d * ratio[:, None]
    else:
        pelvis_3d[:, 0, :2] = pelvis_2d
    pelvis_3d[:, 0, 2] = F32(output_depth)
    s.save(prefix + "pelvis_3d", pelvis_3d)
    out = scaled + pelvis_3d
    s.save(prefix + "pose_3d", out)
    return out


def enforce_bone_lengths(pose_m: np.ndarray, bone_lengths_m: np.ndarray, s: FrameSaver | None = None,
                         prefix: str = "ls/enforce/"):
    """Rewrite child depths so each limb of ENFORCE_ORDER has its table length (X, Y kept).

    dz := sign(dz) * sqrt(max(L^2 - dx^2 - dy^2, 0)), sign 0 -> +1. Returns (pose, clamped (T,10) bool).
    """
    s = s or FrameSaver()
    pose = np.array(pose_m, F32, copy=True)
    T = pose.shape[0]
    clamped = np.zeros((T, len(C.ENFORCE_ORDER)), bool)
    for step, limb in enumerate(C.ENFORCE_ORDER):
        p = f"{prefix}s{step:02d}_limb{limb:02d}/"
        parent, child = C.LIMBS[limb]
        if limb in C.REVERSED_LIMBS:
            parent, child = child, parent
        s.save_same(p + "parent_idx", np.int32(parent))
        s.save_same(p + "child_idx", np.int32(child))
        dx = pose[:, child, 0] - pose[:, parent, 0]
        dy = pose[:, child, 1] - pose[:, parent, 1]
        dz = pose[:, child, 2] - pose[:, parent, 2]
        s.save(p + "dx", dx)
        s.save(p + "dy", dy)
        s.save(p + "dz_original", dz)
        xy = dx * dx + dy * dy
        s.save(p + "xy_dist_sq", xy)
        L = np.full(T, bone_lengths_m[limb], F32)
        s.save(p + "L", L)
        req_raw = L * L - xy
        req = np.maximum(req_raw, F32(0))
        s.save(p + "dz_sq_required", req)
        mag = np.sqrt(req)
        s.save(p + "dz_magnitude", mag)
        sign = np.sign(dz).astype(F32)
        sign = np.where(sign == 0, F32(1), sign)
        s.save(p + "dz_sign", sign)
        dz_new = sign * mag
        s.save(p + "dz_new", dz_new)
        pose[:, child, 2] = pose[:, parent, 2] + dz_new
        s.save(p + "dz_final", pose[:, child, 2] - pose[:, parent, 2])
        clamped[:, step] = req_raw < 0
    s.save(prefix + "pose_3d", pose)
    return pose, clamped
