"""Synthetic COCO-17 clips for the unseen-clip POF checks (reference_dumps/pof-unseen/).

Clips that the shared pof-upstream dumps do not cover: other motions (squat, reach towards the
camera, jump with raised arms, random poses), other cameras (portrait and square images, other focal
lengths, pitch, a subject seen from behind, a spinning subject), occlusions (visibility 0, 0.02,
0.1, 0.3 on chosen joints), pixel noise, and clip lengths 1, 2, 9 ... 33 frames (T = 1 takes
upstream's single-frame branch, with its z-sign correction).

Geometry as the pof-upstream STAGES.md describes its clips: a skeleton in a body frame (x = the
subject's left, y = up, z = forward, feet at y = 0; hips (+-0.095, 0.93, 0), shoulders
(+-0.19, 1.45, 0), upper arm 0.30, forearm 0.26, thigh 0.44, shin 0.41 m), turned into the OpenCV
camera frame (x right, y down, z away) by R = Rx(pitch) . diag(1,-1,-1) . Ry(yaw0 + yaw_rate * f)
about the pelvis (0, 0.93, 0), moved to ``pelvis`` (m), projected by an ideal pinhole (fx = fy =
``f``, principal point at the image centre), and given to upstream as it feeds MediaPipe output:
``pose_2d`` = (u/W, v/H) float32. Gaussian pixel noise (``noise_px``, seeded) is added before the
cast; ``occl`` maps joint -> visibility for the whole clip (others 1.0).

The committed dumps were generated from these definitions (scripts/make_pof_unseen_dumps.py);
tests/pipelines/pof/test_unseen.py checks that ``make_clip`` still gives their clip inputs bit for bit, so keep
the arithmetic (and its order) unchanged.
"""

from __future__ import annotations

from typing import Mapping, Optional

import numpy as np

from pyparity.conventions.rotations import rot_x as _rx, rot_y as _ry, rot_z as _rz

HIP_Y_M = 0.93  # pelvis height in the body frame: the rotation centre


def _limb(origin, length_m, R, rest=np.array([0, -1.0, 0])):
    """Child joint: ``length_m`` from ``origin`` along the rest direction (hanging down) rotated by R."""
    return origin + length_m * (R @ rest)


def skeleton_body(phase: float, motion: str, rng: np.random.Generator) -> np.ndarray:
    """(17,3) float64 body-frame joints (m) of ``motion`` at ``phase`` in [0,1); ``rng`` only for "random"."""
    J = np.zeros((17, 3))
    J[11] = (0.095, 0.93, 0); J[12] = (-0.095, 0.93, 0); J[5] = (0.19, 1.45, 0); J[6] = (-0.19, 1.45, 0)
    J[0] = (0, 1.62, 0.08); J[1] = (0.03, 1.66, 0.06); J[2] = (-0.03, 1.66, 0.06)
    J[3] = (0.07, 1.64, 0); J[4] = (-0.07, 1.64, 0)
    ph = 2 * np.pi * phase

    def sw(a, k=0):
        return a * np.sin(ph + k)

    # hip / knee flexion (rad) per side [left, right]; shoulder and elbow rotations per side
    if motion == "walk":
        hip = [sw(0.45), sw(0.45, np.pi)]; knee = [0.25 + sw(0.25), 0.25 + sw(0.25, np.pi)]
        sh = [_rx(sw(0.4, np.pi)), _rx(sw(0.4))]; el = [_rx(-0.3), _rx(-0.3)]
    elif motion == "squat":
        d = 0.5 * (1 - np.cos(ph)); hip = [-1.2 * d, -1.2 * d]; knee = [2.0 * d, 2.0 * d]
        sh = [_rx(-1.4 * d), _rx(-1.4 * d)]; el = [_rx(0.0), _rx(0.0)]
        J[[0, 1, 2, 3, 4, 5, 6, 11, 12], 1] -= 0.35 * d
    elif motion == "reach":  # arms pointing forward (at the camera when yaw ~ 0): near-threshold forearms
        hip = [0.05, -0.05]; knee = [0.1, 0.1]
        a = -np.pi / 2 + sw(0.25)
        sh = [_rx(a) @ _rz(sw(0.2)), _rx(a + 0.1) @ _rz(-sw(0.2))]; el = [_rx(sw(0.3)), _rx(-sw(0.3))]
    elif motion == "jump":  # body lifted, arms raised sideways overhead
        up = 0.3 * max(0, np.sin(ph)); J[:, 1] += up
        hip = [-0.3 + sw(0.3), -0.3 + sw(0.3)]; knee = [0.6 - sw(0.5), 0.6 - sw(0.5)]
        sh = [_rz(2.5 * (0.5 + 0.5 * np.sin(ph))), _rz(-2.5 * (0.5 + 0.5 * np.sin(ph)))]; el = [_rx(0), _rx(0)]
    elif motion == "random":
        hip = list(rng.uniform(-1.0, 0.6, 2)); knee = list(rng.uniform(0, 1.5, 2))
        sh = [_rx(rng.uniform(-2.5, 1)) @ _rz(rng.uniform(-1, 2.5)), _rx(rng.uniform(-2.5, 1)) @ _rz(rng.uniform(-2.5, 1))]
        el = [_rx(rng.uniform(-2, 0)), _rx(rng.uniform(-2, 0))]
    else:
        raise ValueError(f"unknown motion {motion!r}: walk|squat|reach|jump|random")
    for (s, e, w), R, Re in zip([(5, 7, 9), (6, 8, 10)], sh, el):
        J[e] = _limb(J[s], 0.30, R); J[w] = _limb(J[e], 0.26, R @ Re)
    for side, (h, k, a) in enumerate([(11, 13, 15), (12, 14, 16)]):
        Rh = _rx(-hip[side]); J[k] = _limb(J[h], 0.44, Rh); J[a] = _limb(J[k], 0.41, Rh @ _rx(knee[side]))
    return J


def render_clip(motion: str, T: int, yaw0: float, yaw_rate: float, pelvis, W: int = 1920, H: int = 1080,
                f: float = 1400, pitch: float = 0.12, occl: Optional[Mapping[int, float]] = None, seed: int = 0,
                noise_px: float = 0.0):
    """-> (pose_2d (T,17,2) float32 u/W, v/H; visibility (T,17) float32; gt_3d_cam (T,17,3) float64 m)."""
    rng = np.random.default_rng(seed)
    kp = np.zeros((T, 17, 2)); gt = np.zeros((T, 17, 3))
    for i in range(T):
        Jb = skeleton_body(i / max(T, 8), motion, rng)  # short clips cover at most one 8-frame phase
        R = _rx(pitch) @ np.diag([1, -1, -1]) @ _ry(yaw0 + yaw_rate * i)
        Jc = (R @ (Jb - np.array([0, HIP_Y_M, 0])).T).T + np.asarray(pelvis)
        gt[i] = Jc
        u = f * Jc[:, 0] / Jc[:, 2] + W / 2; v = f * Jc[:, 1] / Jc[:, 2] + H / 2
        kp[i, :, 0] = u / W; kp[i, :, 1] = v / H
    kp += rng.normal(0, noise_px, kp.shape) / np.array([W, H])
    vis = np.ones((T, 17), np.float32)
    for j, val in (occl or {}).items():
        vis[:, int(j)] = val
    return kp.astype(np.float32), vis, gt


def make_clip(motion: str, T: int, yaw0: float, yaw_rate: float, pelvis, **camera):
    """-> (pose_2d (T,17,2) float32 = (u/W, v/H), visibility (T,17) float32); ``camera``: W, H, f, pitch,
    occl, seed, noise_px as in `render_clip`."""
    kp, vis, _ = render_clip(motion, T, yaw0, yaw_rate, pelvis, **camera)
    return kp, vis


# name -> make_clip keyword arguments (yaw, pitch in radians; pelvis in m, camera frame; W, H, noise in px)
CLIPS: dict[str, dict] = {
    "walk24_side": dict(motion="walk", T=24, yaw0=1.3, yaw_rate=0.0, pelvis=(0.1, 0.1, 4.0)),
    "squat12": dict(motion="squat", T=12, yaw0=0.3, yaw_rate=0.02, pelvis=(-0.2, 0.2, 3.0), W=1280, H=720, f=900),
    "reach16_near": dict(motion="reach", T=16, yaw0=0.05, yaw_rate=0.0, pelvis=(0.0, 0.0, 2.6)),
    "jump10_portrait": dict(motion="jump", T=10, yaw0=-0.5, yaw_rate=0.05, pelvis=(0.05, 0.0, 3.5), W=1080, H=1920, f=1500),
    "random20_occl": dict(motion="random", T=20, yaw0=0.8, yaw_rate=-0.08, pelvis=(0.3, -0.1, 3.8),
                          occl={9: 0.0, 10: 0.1, 15: 0.02, 3: 0.0}, seed=3, noise_px=1.5),
    "walk9_square": dict(motion="walk", T=9, yaw0=-2.0, yaw_rate=0.1, pelvis=(0.0, 0.1, 5.0), W=1000, H=1000, f=1100,
                         pitch=-0.2),
    "spin32_back": dict(motion="walk", T=32, yaw0=2.6, yaw_rate=0.2, pelvis=(-0.1, 0.15, 4.2), occl={i: 0.3 for i in range(5)}),
    "single1": dict(motion="random", T=1, yaw0=0.4, yaw_rate=0.0, pelvis=(0.0, 0.0, 3.3), seed=7),
    "random2_heavyoccl": dict(motion="random", T=2, yaw0=-1.0, yaw_rate=0.3, pelvis=(0.2, 0.0, 3.0), seed=11,
                              occl={j: 0.0 for j in (7, 8, 9, 10, 13, 14, 15, 16)}),
    # drawn at random (motion, T in 8..40, yaw, pelvis, noise): a long clip where free-running
    # semgcn-temporal's float32 differences grow through the prev_pof feedback
    "jump33": dict(motion="jump", T=33, yaw0=1.828586144980811, yaw_rate=-0.022504324193965114,
                   pelvis=(-0.12700313764185353, 0.1, 4.206238759937438), seed=8, noise_px=0.2795049672186196),
}

DEFAULTS = dict(W=1920, H=1080, f=1400, pitch=0.12, occl=None, seed=0, noise_px=0.0)


def clip_spec(name: str) -> dict:
    """The full keyword set of clip ``name`` (defaults filled in), JSON-ready (occlusion keys as strings)."""
    spec = {**DEFAULTS, **CLIPS[name]}
    spec["pelvis"] = list(spec["pelvis"])
    spec["occl"] = {str(j): float(v) for j, v in (spec["occl"] or {}).items()}
    return spec
