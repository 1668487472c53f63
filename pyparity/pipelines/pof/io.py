"""POF adapters: 2D keypoints in (NumPy .npz, CSV, reference dump), 3D out (TRC).

CSV, either form (header required, '#' comments allowed):
  long:  ``frame,joint,x,y[,visibility]`` - one row per frame and COCO-17 joint (0..16)
  wide:  ``x0,y0,v0,x1,y1,v1,...,x16,y16,v16`` (51 columns, v optional -> 34 columns), one row per frame
x = u/W, y = v/H in [0,1] (upstream's convention), visibility defaults to 1.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.pof import constants as C

COCO17_NAMES = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
                "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")


def from_dump(path: str | Path):
    """(pose_2d (T,17,2) f32, visibility (T,17) f32, height_m or None) from a pof reference dump's
    ``clip/*`` (or ``frameNNNN/input/*``) stages."""
    from pyparity.trace import read_trace

    ref = path if hasattr(path, "names") else read_trace(path)
    h = float(ref["clip/height_m"]) if "clip/height_m" in ref else None
    if "clip/pose_2d" in ref:
        return np.asarray(ref["clip/pose_2d"], np.float32), np.asarray(ref["clip/visibility"], np.float32), h
    frames = sorted({n.split("/")[0] for n in ref.names if n.endswith("/input/pose_2d")})
    if not frames:
        raise InputError(f"{getattr(ref, 'source', path)}: reference dump has no clip/pose_2d or frameNNNN/input/pose_2d stages")
    kp = np.stack([ref[f"{f}/input/pose_2d"] for f in frames]).astype(np.float32)
    vis = np.stack([ref[f"{f}/input/visibility"] for f in frames]).astype(np.float32)
    return kp, vis, h


def from_npz(path: str | Path):
    try:
        with np.load(path) as z:
            kp = z["pose_2d"].astype(np.float32)
            vis = z["visibility"].astype(np.float32) if "visibility" in z.files else np.ones(kp.shape[:2], np.float32)
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: cannot read pose_2d/visibility ({e})") from None
    return kp, vis, None


def from_csv(path: str | Path):
    p = Path(path)
    try:
        rows = [r for r in csv.reader(p.read_text().splitlines()) if r and not r[0].lstrip().startswith("#")]
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: cannot read CSV ({e})") from None
    if len(rows) < 2:
        raise InputError(f"{p}: CSV has no data rows")
    head = [h.strip().lower() for h in rows[0]]
    try:
        data = np.array([[float(v) for v in r] for r in rows[1:]], dtype=np.float64)
    except ValueError as e:
        raise InputError(f"{p}: non-numeric CSV value ({e})") from None
    if head[:2] == ["frame", "joint"]:
        fr = data[:, 0].astype(int); jt = data[:, 1].astype(int)
        if jt.min() < 0 or jt.max() >= C.NUM_JOINTS:
            raise InputError(f"{p}: joint index outside 0..16")
        T = fr.max() + 1
        kp = np.full((T, C.NUM_JOINTS, 2), np.nan, np.float32)
        vis = np.ones((T, C.NUM_JOINTS), np.float32)
        kp[fr, jt] = data[:, 2:4]
        if data.shape[1] > 4:
            vis[fr, jt] = data[:, 4]
        if np.isnan(kp).any():
            f, j = np.argwhere(np.isnan(kp).any(-1))[0]
            raise InputError(f"{p}: no row for frame {f}, joint {j}")
        return kp, vis, None
    if data.shape[1] == 51:
        d = data.reshape(-1, C.NUM_JOINTS, 3)
        return d[..., :2].astype(np.float32), d[..., 2].astype(np.float32), None
    if data.shape[1] == 34:
        return data.reshape(-1, C.NUM_JOINTS, 2).astype(np.float32), np.ones((len(data), C.NUM_JOINTS), np.float32), None
    raise InputError(f"{p}: CSV must be long (frame,joint,x,y[,visibility]) or wide (34 or 51 columns), got {data.shape[1]}")


def read_keypoints(path: str | Path):
    p = Path(path)
    if p.is_dir():
        return from_dump(p)
    if p.suffix == ".npz":
        return from_npz(p)
    if p.suffix in (".csv", ".txt"):
        return from_csv(p)
    raise InputError(f"{p}: unknown keypoint input (a reference dump directory, .npz or .csv)")


def write_trc(path: str | Path, pose_3d_m: np.ndarray, fps: float = 30.0, names=COCO17_NAMES) -> Path:
    """TRC marker file as Pose2Sim writes and OpenSim's TRCFileAdapter reads: tab-separated header
    (PathFileType 4; DataRate .. OrigNumFrames keys and values; ``Frame#, Time`` + one marker name per
    COCO-17 joint followed by two empty cells; ``X1 Y1 Z1 ..``; one empty line), then one row per
    frame ``frame (1-based), time (s), x y z per marker`` in metres.

    Coordinates are written as reconstructed: upstream's camera-ish frame (x right, y down, z away
    from the camera, pelvis at depth 2.0 m); OpenSim models are Y-up, so rotate before IK if needed.
    Values are float32 written with 9 significant digits (they read back bit for bit). NaN stays
    ``nan`` (OpenSim reads it as a missing marker). Written atomically (temp file + rename).
    """
    from pyparity.atomic import write_text_atomic

    p = Path(path)
    X = np.asarray(pose_3d_m, np.float32)
    if X.ndim != 3 or X.shape[2] != 3 or X.shape[1] != len(names):
        raise InputError(f"TRC: pose must be (T,{len(names)},3), got {X.shape}")
    if not (np.isfinite(fps) and fps > 0):
        raise InputError(f"TRC: frame rate must be > 0, got {fps}")
    T, J, _ = X.shape
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{p.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{fps:g}\t{fps:g}\t{T}\t{J}\tm\t{fps:g}\t1\t{T}",
             "Frame#\tTime\t" + "\t\t\t".join(names[:J]) + "\t\t",
             "\t\t" + "\t".join(f"X{i + 1}\tY{i + 1}\tZ{i + 1}" for i in range(J)), ""]
    for f in range(T):
        lines.append(f"{f + 1}\t{f / fps:.9g}\t" + "\t".join(f"{float(v):.9g}" for v in X[f].reshape(-1)))
    return write_text_atomic(p, "\n".join(lines) + "\n")
