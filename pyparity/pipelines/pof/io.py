"""POF adapters: 2D keypoints in (NumPy .npz, CSV, reference dump), 3D out (TRC).

CSV, either form (header required, '#' comments allowed):
  long:  ``frame,joint,x,y[,visibility]`` - one row per frame and COCO-17 joint (0..16)
  wide:  ``x0,y0,v0,x1,y1,v1,...,x16,y16,v16`` (51 columns, v optional -> 34 columns), one row per frame
x = u/W, y = v/H in [0,1] (upstream's convention), visibility defaults to 1. Frame and joint indices are
integers (frame 0..MAX_FRAMES-1, joint 0..16), each (frame, joint) pair exactly once, no frame missing.
"""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import numpy as np

from pyparity.errors import InputError
from pyparity.textfile import read_text
from pyparity.pipelines.pof import constants as C
from pyparity.trace.stage_index import Stage, declare


_UPSTREAM = "humanpose3d src/pof/"

STAGES = declare(
    __name__,
    Stage("clip/*", "from_dump", "humanpose3d pof-upstream dump generator",
          "a clip's inputs (pose_2d, visibility, height) and its synthetic ground truth; read, not recorded"),
    Stage("frame*/gt/*", "from_dump", _UPSTREAM + "dataset.py: compute_gt_pof_from_3d",
          "solver-gt dumps: the ground-truth 3D pose and POF (read, not recorded)"),
    Stage("frame*/*_iso/*", "from_dump", _UPSTREAM + "least_squares.py: reconstruct_skeleton_least_squares",
          "solver-gt dumps: 2D inputs, recovered poses and errors of the isotropic runs (read, not recorded)"),
    Stage("frame*/pipeline/*", "from_dump", _UPSTREAM + "least_squares.py: reconstruct_skeleton_least_squares",
          "solver-gt dumps: the same for the app's anisotropic input (read, not recorded)"),
)

# The most frames a keypoint file may hold (about 9 hours at 30 fps): a file cannot make pyparity
# allocate more than this, whatever frame index or array shape it declares.
MAX_FRAMES = 1_000_000

COCO17_NAMES = ("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow",
                "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")


def from_dump(path: str | Path):
    """(pose_2d (T,17,2) f32, visibility (T,17) f32, height_m or None) from a pof reference dump's
    ``clip/*`` (or ``frameNNNN/input/*``) stages."""
    from pyparity.trace import read_trace

    ref = path if hasattr(path, "names") else read_trace(path)
    h = float(ref["clip/height_m"]) if "clip/height_m" in ref else None
    if "clip/pose_2d" in ref and "clip/visibility" in ref:
        return np.asarray(ref["clip/pose_2d"], np.float32), np.asarray(ref["clip/visibility"], np.float32), h
    frames = sorted({n.split("/")[0] for n in ref.names if n.endswith("/input/pose_2d")})
    if not frames:
        raise InputError(f"{getattr(ref, 'source', path)}: reference dump has no clip/pose_2d and clip/visibility, "
                         "nor frameNNNN/input/pose_2d stages (a solver-only dump: start at the solver)")
    kp = np.stack([ref[f"{f}/input/pose_2d"] for f in frames]).astype(np.float32)
    vis = np.stack([ref[f"{f}/input/visibility"] for f in frames]).astype(np.float32)
    return kp, vis, h


def _npy_shape(z, key: str, source) -> tuple[int, ...]:
    """A member's shape from its .npy header, read before its data (a tiny file may declare a huge array)."""
    try:
        with z.zip.open(key + ".npy") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, _, _ = read_header(f)
    except KeyError:
        raise InputError(f"{source}: no {key!r} array") from None
    return tuple(shape)


def from_npz(path: str | Path):
    """(pose_2d (T,17,2), visibility (T,17) or ones, None) from a NumPy archive; no pickles."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if not hasattr(z, "files"):
                raise InputError(f"{path}: a single .npy array, expected an .npz with pose_2d (and visibility)")
            for key in ("pose_2d", "visibility"):
                if key in z.files and int(np.prod(_npy_shape(z, key, path), dtype=np.float64)) > MAX_FRAMES * C.NUM_JOINTS * 2:
                    raise InputError(f"{path}: {key} holds more than {MAX_FRAMES} frames (the limit)")
            kp = z["pose_2d"].astype(np.float32)
            vis = z["visibility"].astype(np.float32) if "visibility" in z.files else np.ones(kp.shape[:2], np.float32)
    except InputError:
        raise
    except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as e:
        raise InputError(f"{path}: cannot read pose_2d/visibility ({(str(e).splitlines() or [''])[0]})") from None
    return kp, vis, None


def _index(value: float, what: str, limit: int, where: str) -> int:
    if not (np.isfinite(value) and float(value).is_integer() and 0 <= value < limit):
        raise InputError(f"{where}: {what} {value:.15g} is not an integer in 0..{limit - 1}")
    return int(value)


def from_csv(path: str | Path):
    """A long or wide keypoint CSV (module docstring). Frame indices must be integers in
    0..MAX_FRAMES-1, each (frame, joint) once, every frame complete."""
    p = Path(path)
    text = read_text(p, "CSV", InputError)
    try:
        rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1)
                if r and not r[0].lstrip().startswith("#")]
    except csv.Error as e:
        raise InputError(f"{p}: not a readable CSV ({e})") from None
    if len(rows) < 2:
        raise InputError(f"{p}: CSV has no data rows")
    head = [h.strip().lower() for h in rows[0][1]]
    long_form = head[:2] == ["frame", "joint"]
    if long_form and len(head) not in (4, 5):
        raise InputError(f"{p}: long CSV has columns frame,joint,x,y[,visibility], got {len(head)} columns")
    if not long_form and len(head) not in (34, 51):
        raise InputError(f"{p}: CSV must be long (frame,joint,x,y[,visibility]) or wide (34 or 51 columns), "
                         f"got {len(head)}")
    if len(rows) - 1 > MAX_FRAMES * (C.NUM_JOINTS if long_form else 1):
        raise InputError(f"{p}: more than {MAX_FRAMES} frames (the limit)")
    for n, r in rows[1:]:
        if len(r) != len(head):
            raise InputError(f"{p}:{n}: {len(r)} values for {len(head)} columns")
    try:
        data = np.array([[float(v) for v in r] for _, r in rows[1:]], dtype=np.float64)
    except ValueError as e:
        raise InputError(f"{p}: non-numeric CSV value ({e})") from None
    if long_form:
        lines = [n for n, _ in rows[1:]]
        fr = np.array([_index(v, "frame", MAX_FRAMES, f"{p}:{n}") for v, n in zip(data[:, 0], lines)], np.int64)
        jt = np.array([_index(v, "joint", C.NUM_JOINTS, f"{p}:{n}") for v, n in zip(data[:, 1], lines)], np.int64)
        key = fr * C.NUM_JOINTS + jt
        uniq, first, counts = np.unique(key, return_index=True, return_counts=True)
        if (counts > 1).any():
            k = int(uniq[np.argmax(counts > 1)])
            dup = [lines[i] for i in np.flatnonzero(key == k)[:2]]
            raise InputError(f"{p}:{dup[1]}: frame {k // C.NUM_JOINTS}, joint {k % C.NUM_JOINTS} given twice "
                             f"(also on line {dup[0]})")
        T = int(fr.max()) + 1
        if len(key) != T * C.NUM_JOINTS:
            present = np.zeros(T * C.NUM_JOINTS, bool)
            present[key] = True
            k = int(np.argmin(present))
            raise InputError(f"{p}: no row for frame {k // C.NUM_JOINTS}, joint {k % C.NUM_JOINTS}")
        kp = np.empty((T, C.NUM_JOINTS, 2), np.float32)
        vis = np.ones((T, C.NUM_JOINTS), np.float32)
        kp[fr, jt] = data[:, 2:4]
        if data.shape[1] > 4:
            vis[fr, jt] = data[:, 4]
        return kp, vis, None
    if data.shape[1] == 51:
        d = data.reshape(-1, C.NUM_JOINTS, 3)
        return d[..., :2].astype(np.float32), d[..., 2].astype(np.float32), None
    return data.reshape(-1, C.NUM_JOINTS, 2).astype(np.float32), np.ones((len(data), C.NUM_JOINTS), np.float32), None


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
