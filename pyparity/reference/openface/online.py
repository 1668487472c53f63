"""FaceAnalyser's webcam path recorded: CorrectOnlineAUs runs only when FeatureExtraction reads a webcam
(AddNextFrame(..., online = IsWebcam())), so no recording of files reaches it. Our driver
(drivers/online_aus.cpp, compiled against the recorder build) makes FeatureExtraction's webcam call,
AddNextFrame(image, landmarks, success, timestamp, online = true), on given frames and landmarks, with
the kit recording each frame as FeatureExtraction's frames are (`frameNNNN/face00/au/...`, including
`online_correction/input` and `reg/online_corrected`).

    frames = [OnlineFrame(image_path, landmarks_stacked, success, timestamp), ...]
    dumps = record_online_aus(frames, out_dir / "image_sequence", build_dir, au_root)
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyparity.errors import InputError
from pyparity.reference.openface.driver import DRIVERS, compile_driver


@dataclass(frozen=True)
class OnlineFrame:
    image: Path                    # read with cv::imread (IMREAD_COLOR)
    landmarks_stacked: np.ndarray  # (2n,) float32 [x..., y...]
    success: bool
    timestamp: float


def record_online_aus(frames: list[OnlineFrame], out: Path, build_dir: Path, au_root: Path) -> list[Path]:
    """Dumps `out/frameNNNN` of the webcam path over `frames`. au_root: the folder holding AU_predictors/
    (FeatureExtraction's default, dynamic models are read from it). Returns the dump folders in order."""
    if not frames:
        raise InputError("no frames to record")
    if not (Path(au_root) / "AU_predictors" / "main_dynamic_svms.txt").is_file():
        raise InputError(f"{au_root}: no AU_predictors/main_dynamic_svms.txt there")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="ppr-online-") as tmp:
        exe = compile_driver(build_dir, DRIVERS / "online_aus.cpp", Path(tmp) / "online_aus")
        listing = Path(tmp) / "frames.txt"
        with open(listing, "w") as fh:
            for f in frames:
                lm = np.asarray(f.landmarks_stacked, np.float32).reshape(-1)
                fh.write(f"{Path(f.image).resolve()} {int(bool(f.success))} {float(f.timestamp)!r} {lm.size // 2} "
                         + " ".join(repr(float(v)) for v in lm) + "\n")
        env = dict(os.environ, PYPARITY_DUMP_DIR=str(out), PYPARITY_DUMP_LEVEL="1",
                   OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))
        env.pop("PYPARITY_DUMP_EXCLUDE", None)
        subprocess.run([str(exe), str(au_root), str(listing), out.name], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    dumps = [out / f"frame{i:04d}" for i in range(len(frames))]
    missing = [d.name for d in dumps if not (d / "index.tsv").is_file()]
    if missing:
        raise InputError(f"{out}: the driver wrote no dump for {', '.join(missing[:3])}")
    return dumps
