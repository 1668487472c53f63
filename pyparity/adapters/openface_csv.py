"""OpenFace's CSV output (FaceLandmarkImg, FeatureExtraction) as a trace of ``faceNN/output/...`` stages.

The CSV prints values rounded (landmarks to 1 decimal, parameters to 3): the number of decimals of
every printed value is kept in the trace's metadata (``printed_decimals``), and `diff` compares such
stages within half a unit of the last printed digit instead of the policy's tolerance.

Action units: the `AUxx_r` columns (intensities, 2 decimals) become `faceNN/au/reg/output` and the
`AUxx_c` columns (presences, 1 decimal) `faceNN/au/class/output`, each in the CSV's column order (the
AU dumps' order: OpenFace sorts the names), with the names in the trace's meta.json parameters
(`au_reg_names`, `au_class_names`) as the AU dumps record them.

Columns (", "-separated): FaceLandmarkImg writes one row per face (``face, confidence, ...``);
FeatureExtraction one row per frame (``frame, face_id, timestamp, confidence, success, ...``) — those
stages go under ``frameNNNN/`` (0-based, as the sequence dumps are named), or without the prefix when a
single frame is selected.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from pyparity.errors import InputError
from pyparity.textfile import read_text
from pyparity.trace import Trace

N_LANDMARKS = 68
N_EYE = 56

# stage -> (columns, dtype, shape) in the dumps' conventions (`faceNN/output/...` of the C++ dumps)
_STAGES = [
    ("output/detection_certainty", ["confidence"], "float32", ()),
    ("output/detection_success", ["success"], "int32", ()),
    ("output/gaze", ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z",
                     "gaze_angle_x", "gaze_angle_y"], "float64", (8,)),
    ("output/eye_landmarks_stacked", [f"eye_lmk_x_{i}" for i in range(N_EYE)] + [f"eye_lmk_y_{i}" for i in range(N_EYE)],
     "float32", (2 * N_EYE, 1)),
    ("output/pose", ["pose_Tx", "pose_Ty", "pose_Tz", "pose_Rx", "pose_Ry", "pose_Rz"], "float64", (6,)),
    ("output/landmarks_stacked", [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)],
     "float32", (2 * N_LANDMARKS, 1)),
    ("output/landmarks_3d", [f"{c}_{i}" for c in "XYZ" for i in range(N_LANDMARKS)], "float32", (3, N_LANDMARKS)),
    ("output/params_global", ["p_scale", "p_rx", "p_ry", "p_rz", "p_tx", "p_ty"], "float32", (6,)),
    ("output/params_local", [f"p_{i}" for i in range(34)], "float32", (34, 1)),
]
# AU columns -> (stage, meta.json parameter listing their names), float64 (k,) as FaceAnalyser's vectors
_AU_STAGES = [(re.compile(r"^(AU\d+)_r$"), "au/reg/output", "au_reg_names"),
              (re.compile(r"^(AU\d+)_c$"), "au/class/output", "au_class_names")]
REQUIRED = ["confidence"] + [f"x_{i}" for i in range(N_LANDMARKS)] + [f"y_{i}" for i in range(N_LANDMARKS)]


def _decimals(text: str) -> int:
    t = text.strip().lower()
    if "e" in t or "." not in t:
        return 0
    return len(t.split(".", 1)[1])


def read_openface_csv(path: str | Path, frame: int | None = None) -> Trace:
    """Read a FaceLandmarkImg / FeatureExtraction CSV into a trace (see the module docstring)."""
    p = Path(path)
    text = read_text(p, "OpenFace CSV", InputError, not_utf8=", not an OpenFace CSV")
    lines = text.split("\n")
    if not text.strip():
        raise InputError(f"{p}: empty file, expected an OpenFace CSV header")
    if not text.endswith("\n"):
        # OpenFace ends every row with a newline: a last row without one was cut (its last value may
        # read as another number)
        raise InputError(f"{p}:{len(lines)}: no newline at the end of the last row (truncated file?)")
    lines = [ln.rstrip("\r") for ln in lines[:-1]]
    header = [h.strip() for h in lines[0].split(",")]
    col = {h: i for i, h in enumerate(header)}
    missing = [c for c in REQUIRED if c not in col]
    if missing:
        raise InputError(f"{p}: not an OpenFace CSV: missing column(s) {', '.join(missing[:5])}"
                         + (f" and {len(missing) - 5} more" if len(missing) > 5 else ""))
    stages = list(_STAGES)
    au_names: dict[str, list[str]] = {}
    for pattern, stage, key in _AU_STAGES:
        cols = [h for h in header if pattern.match(h)]
        if cols:
            stages.append((stage, cols, "float64", (len(cols),)))
            au_names[key] = [pattern.match(h).group(1) for h in cols]
    sequence = "frame" in col
    if not sequence and "face" not in col:
        raise InputError(f"{p}: needs a 'face' (FaceLandmarkImg) or 'frame' (FeatureExtraction) column")
    arrays: list[tuple[str, np.ndarray]] = []
    printed: dict[str, list[int]] = {}
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(header):
            raise InputError(f"{p}:{lineno}: {len(cells)} values for {len(header)} columns (truncated row?)")
        try:
            if sequence:
                fr = int(cells[col["frame"]]) - 1  # the CSV counts frames from 1, the dumps from 0
                face = int(cells[col["face_id"]]) if "face_id" in col else 0
                if fr < 0:
                    raise InputError(f"{p}:{lineno}: frame {fr + 1}: OpenFace counts frames from 1")
                if frame is not None and fr != frame:
                    continue
                prefix = (f"frame{fr:04d}/" if frame is None else "") + f"face{face:02d}/"
            else:
                face = int(cells[col["face"]])
                prefix = f"face{face:02d}/"
            if face < 0:
                raise InputError(f"{p}:{lineno}: face {face}: a face number is not negative")
            for stage, cols, dtype, shape in stages:
                if not all(c in col for c in cols):
                    continue
                texts = [cells[col[c]] for c in cols]
                values = np.array([float(t) for t in texts], dtype=np.float64)
                arrays.append((prefix + stage, values.astype(dtype).reshape(shape)))
                printed[prefix + stage] = [_decimals(t) for t in texts]
        except ValueError as exc:
            raise InputError(f"{p}:{lineno}: a value is not a number ({exc})") from None
    if frame is not None and not arrays:
        raise InputError(f"{p}: no row for frame {frame}")
    meta = {
        "producer": {"name": "openface-csv", "file": p.name},
        "input": {"file": p.name},
        "printed_decimals": printed,
        "parameters": au_names,
        "conventions": {"landmarks": "names ending in _stacked: (2N, 1) [x0..xN-1, y0..yN-1]",
                        "pose": "[Tx, Ty, Tz] mm, [Rx, Ry, Rz] radians"},
    }
    return Trace.from_arrays(arrays, meta=meta, source=str(p))
