"""MTCNN per image on samples/image_sequence (30 frames, 640x480), recording off: median ms per frame
over rounds of all frames after warm-up, beside a peer port and C++ OpenFace.

    .venv/bin/python benchmarks/bench_mtcnn.py [--rounds 5] [--peer pymtcnn] [--cpp-build DIR] [--threads N]

--peer pymtcnn times pymtcnn 1.2 (ONNX Runtime on the CPU, its default threads; installed as a probe
port by scripts/test.sh) in the same process, frames interleaved with pyparity's (the order of the two
alternates frame by frame), and prints both medians and their ratio; the machine is shared and noisy,
so only ratios measured this way mean anything. pyparity runs on its default threads too
(PYPARITY_THREADS, else the CPUs it may use; --threads overrides). C++ OpenFace's DetectFacesMTCNN is
timed beside on frames 002..020 (a pass after each round) when a C++ recorder build is at hand
(--cpp-build), else its recorded figure is quoted; the line says which (see cpp_reference.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import pyparity  # noqa: E402,F401  (sets OPENBLAS_CORETYPE before NumPy loads)
from pyparity.imageio import read_image_bgr  # noqa: E402
from pyparity.pipelines.mtcnn import detect, parallel  # noqa: E402
from pyparity.pipelines.blas import corename  # noqa: E402

import cpp_reference  # noqa: E402  (benchmarks/cpp_reference.py)

PEERS = ("pymtcnn",)


def _peer(name: str, model_dir: Path):
    """The peer's detect(image) callable and a description of it."""
    if name == "pymtcnn":
        import onnxruntime
        import pymtcnn

        from pyparity.probe.shipped.pymtcnn_setup import build

        det = build(str(model_dir))
        return det.detect, f"pymtcnn {pymtcnn.__version__} (onnxruntime {onnxruntime.__version__}, CPU, default threads)"
    raise ValueError(name)


def _median_ratio(a: list[float], b: list[float]) -> tuple[float, float, float]:
    r = sorted(x / y for x, y in zip(a, b))
    return r[len(r) // 2], r[len(r) // 4], r[(3 * len(r)) // 4]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("PYPARITY_SHARED", REPO.parent / "shared")))
    ap.add_argument("--rounds", "--repeat", type=int, default=5, dest="rounds")
    ap.add_argument("--peer", choices=PEERS, default=None, help="a port timed beside pyparity, frames interleaved")
    ap.add_argument("--threads", type=int, default=None, help="pyparity's MTCNN threads (default: PYPARITY_THREADS or the CPUs)")
    cpp_reference.add_argument(ap)
    args = ap.parse_args()
    frames = sorted((args.shared / "openface" / "samples" / "image_sequence").glob("*.jpg"))
    if len(frames) < 10:
        print(f"need >= 10 frames in {args.shared}/openface/samples/image_sequence, found {len(frames)}", file=sys.stderr)
        return 2
    if args.threads is not None:
        parallel.set_threads(args.threads)
    model_dir = args.shared / "openface" / "model"
    images = [read_image_bgr(f) for f in frames]
    runners = {"pyparity": lambda img: detect(img, model_dir=model_dir)}
    labels = {"pyparity": f"pyparity ({parallel.threads()} threads, recording off)"}
    if args.peer:
        try:
            runners[args.peer], labels[args.peer] = _peer(args.peer, model_dir)
        except Exception as e:  # the port not installed, its models not laid out: say so
            print(f"peer {args.peer}: cannot run it ({type(e).__name__}: {e})", file=sys.stderr)
            return 2
    cpp = cpp_reference.CppTimer(args.cpp_build, "mtcnn", "main_clnf_general", frames[1:20], model_dir)
    for img in images[:3]:  # warm-up: model load, numba caches, ONNX sessions
        for f in runners.values():
            f(img)
    times: dict[str, list[float]] = {k: [] for k in runners}
    order = list(runners)
    for _ in range(args.rounds):
        for i, img in enumerate(images):
            for k in (order if i % 2 == 0 else order[::-1]):
                t = time.perf_counter()
                runners[k](img)
                times[k].append((time.perf_counter() - t) * 1000)
        cpp.run()
    fig = cpp.figure()
    print(f"{len(images)} frames x {args.rounds} rounds, interleaved; OpenBLAS core {corename()}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    for k, v in times.items():
        print(f"  {labels[k]}: median {statistics.median(v):.2f} ms/frame "
              f"(quartiles {statistics.quantiles(v, n=4)[0]:.2f}..{statistics.quantiles(v, n=4)[2]:.2f})")
    ours = statistics.median(times["pyparity"])
    if args.peer:
        peer = statistics.median(times[args.peer])
        mid, lo, hi = _median_ratio(times["pyparity"], times[args.peer])
        print(f"  ratio pyparity / {args.peer}: {ours / peer:.2f}x (medians); per frame pair median {mid:.2f}x "
              f"(quartiles {lo:.2f}..{hi:.2f})")
    print(f"  {fig.describe()}: ratio pyparity / C++ {ours / fig.ms:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
