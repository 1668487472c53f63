"""Generate reference_dumps/openface-2.0.2-fe-au/: C++ OpenFace 2.0.2's FeatureExtraction action units on
image_sequence, recorded with the project's own recorder, kept as plain numbers.

    python scripts/make_feature_extraction_au_dumps.py [--build DIR] [--shared ../shared] [--out DIR]

1. `image_sequence/frameNNNN`, `image_sequence/video`: `pyparity reference openface record
   ../shared/openface/samples/image_sequence --aus` (FeatureExtraction on the folder, level 1), each
   frame's dump reduced to what SELECT keeps: the AU stages without the three 112×112 images
   (align/warped, align/pixel_mask, align/face) and the tracked landmarks and success flag the AUs
   start from; the end-of-video dump whole.
2. `online/image_sequence/frameNNNN`: FaceAnalyser's webcam path (AddNextFrame(..., online = true), which
   runs CorrectOnlineAUs), through our driver (pyparity/reference/openface/drivers/online_aus.cpp), on the
   same 30 images and the landmarks of step 1, with the fits of frames ONLINE_FAILED declared failed so
   that the path that neither updates the correction track nor shifts is covered too; time stamps
   frame/30 s. Reduced to ONLINE_SELECT.

Each dump's meta.json keeps the recorder's (inputs' sha256, models' sha256, build) plus `selected`: the
stage patterns kept, and for step 2 `online_driver`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pyparity.trace import read_trace, write_trace  # noqa: E402
from pyparity.trace.trace import glob_match  # noqa: E402

IMAGES = ("face00/au/align/warped", "face00/au/align/pixel_mask", "face00/au/align/face")
SELECT = ("face00/au/**", "face00/output/landmarks_stacked", "face00/output/detection_success")
ONLINE_SELECT = ("face00/au/input/*", "face00/au/view", "face00/au/median/*/update", "face00/au/median/*/hist_count",
                 "face00/au/reg/*", "face00/au/class/*", "face00/au/online_correction/*",
                 "face00/au/calibration/*")
ONLINE_FAILED = (3, 12, 13, 21)
ONLINE_FPS = 30.0


def keep(name: str, patterns) -> bool:
    return name not in IMAGES and any(glob_match(name, p) for p in patterns)


def reduce_dump(src: Path, dst: Path, patterns, **meta) -> None:
    t = read_trace(src)
    sel = t.select([n for n in t.names if keep(n, patterns)])
    write_trace(sel, dst, compress=True,
                meta={**t.meta, "selected": {"kept": list(patterns), "dropped": list(IMAGES)}, **meta})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", type=Path, default=None, help="a recorder build folder (default: the newest)")
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path, default=ROOT / "reference_dumps" / "openface-2.0.2-fe-au")
    a = ap.parse_args()
    from pyparity.reference.openface.online import OnlineFrame, record_online_aus
    from pyparity.reference.openface.service import find_build, record_reference

    build = find_build(a.build).dir
    samples = a.shared / "openface" / "samples"
    au_root = a.shared / "openface" / "cpp-2.0.2" / "lib" / "local" / "FaceAnalyser"
    with tempfile.TemporaryDirectory(prefix="fe-au-") as tmp:
        rec = Path(tmp) / "rec"
        record_reference([samples / "image_sequence"], rec, model_dir=samples.parent / "model", aus=True,
                         build_dir=build)
        seq = rec / "image_sequence"
        frames = sorted(p for p in seq.iterdir() if p.name.startswith("frame"))
        out = a.out / "image_sequence"
        if out.exists():
            shutil.rmtree(out)
        for f in frames:
            reduce_dump(f, out / f.name, SELECT)
        write_trace(read_trace(seq / "video"), out / "video", compress=True)
        images = sorted(p for p in (samples / "image_sequence").iterdir() if p.suffix == ".jpg")
        online = []
        for i, f in enumerate(frames):
            t = read_trace(f)
            ok = bool(int(t["face00/output/detection_success"])) and i not in ONLINE_FAILED
            online.append(OnlineFrame(images[i], np.asarray(t["face00/output/landmarks_stacked"], np.float32).reshape(-1),
                                      ok, i * (1.0 / ONLINE_FPS)))
        raw = Path(tmp) / "online" / "image_sequence"
        dumps = record_online_aus(online, raw, build, au_root)
        out = a.out / "online" / "image_sequence"
        if out.exists():
            shutil.rmtree(out)
        driver = {"program": "pyparity/reference/openface/drivers/online_aus.cpp",
                  "call": "FaceAnalyser::AddNextFrame(image, landmarks, success, frame/30, online=true)",
                  "landmarks": "image_sequence/frameNNNN/face00/output/landmarks_stacked (FeatureExtraction)",
                  "failed_frames": list(ONLINE_FAILED)}
        from pyparity.pipelines.openface.au import load_au_models

        models = load_au_models(au_root / "AU_predictors", dynamic=True).sha256   # the driver does not list them
        for d in dumps:
            reduce_dump(d, out / d.name, ONLINE_SELECT, online_driver=driver, models=models)
    size = sum(p.stat().st_size for p in a.out.rglob("*") if p.is_file())
    print(f"{a.out}: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
