"""MTCNN per image on samples/image_sequence (640x480): median ms over the frames after warm-up,
and its ratio to C++ OpenFace's 28 ms (../shared/docs/reference-timings.md).

    .venv/bin/python benchmarks/bench_mtcnn.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyparity  # noqa: E402,F401  (sets OPENBLAS_CORETYPE before NumPy loads)
from pyparity.imageio import read_image_bgr  # noqa: E402
from pyparity.pipelines.mtcnn import detect  # noqa: E402
from pyparity.pipelines.mtcnn.blas import corename  # noqa: E402

CPP_MS = 28.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    frames = sorted((args.shared / "openface" / "samples" / "image_sequence").glob("*.jpg"))
    if len(frames) < 10:
        print(f"need >= 10 frames in {args.shared}/openface/samples/image_sequence, found {len(frames)}")
        return 2
    model_dir = args.shared / "openface" / "model"
    images = [read_image_bgr(f) for f in frames]
    for img in images[:2]:  # warm-up: model load, caches
        detect(img, model_dir=model_dir)
    times = []
    for _ in range(args.repeat):
        for img in images:
            t = time.perf_counter()
            detect(img, model_dir=model_dir)
            times.append((time.perf_counter() - t) * 1000)
    med = statistics.median(times)
    print(f"mtcnn: {len(images)} images x {args.repeat}, median {med:.1f} ms/image "
          f"(min {min(times):.1f}, max {max(times):.1f}); C++ OpenFace 28 ms -> ratio {med / CPP_MS:.2f}x "
          f"[OpenBLAS core: {corename()}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
