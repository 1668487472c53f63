"""CLNF landmark fit per face, image mode, the full main_clnf_general path (PDM::CalcParams from the
box, CLNF::Fit over 3 scales with our own CCNF responses, the inner/eye part models, merge + refit; no
validator), on samples/image_sequence/001..020 with the face boxes C++ used (the matching reference
dumps' `faceNN/clnf/input/bbox`). Recording off. Median ms per face after one warm-up pass, against
C++ OpenFace 2.0.2's DetectLandmarksInImage with main_clnf_general.txt on the same faces and boxes:
timed beside (passes between the Python passes) when a C++ recorder build is at hand (--cpp-build),
else the recorded 7.9 ms (../shared/docs/reference-timings.md, re-measured 2026-12-07); either includes
the CNN validator, which this fit leaves out (see cpp_reference.py). The line says which it used.

    .venv/bin/python benchmarks/bench_clnf.py [--repeat 5] [--profile] [--cpp-build DIR]

Also prints the share of the time in the patch-expert responses (ccnf.py, warps included) from one
timed pass with the response source wrapped, and with --profile the top functions of a cProfile pass.
The machine is shared: compare ratios measured in the same run, not absolute numbers across runs.
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
# One BLAS thread, as the other benchmarks: the validator's small sgemms thrash with two threads on a
# shared 2-core machine (C++'s figure is one process on the same 2 cores). Override by setting it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from pyparity.pipelines.clnf.fitting import fit as fit_mod  # noqa: E402
from pyparity.pipelines.clnf.fitting.landmarks import fit_landmarks, load_clnf_model  # noqa: E402
from pyparity.trace import read_trace  # noqa: E402

import cpp_reference  # noqa: E402  (benchmarks/cpp_reference.py)


def _shared() -> Path:
    return Path(os.environ.get("PYPARITY_SHARED", REPO.parent / "shared"))


def _faces(shared: Path) -> list[tuple[str, np.ndarray, np.ndarray]]:
    out = []
    seq = shared / "openface/samples/image_sequence"
    for p in sorted(seq.glob("*.jpg")):
        dump = shared / "reference_dumps/openface-2.0.2/images" / p.name
        if not dump.exists():
            continue
        ref = read_trace(dump)
        gray = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2GRAY)
        for f in range(8):
            key = f"face{f:02d}/clnf/input/bbox"
            if key in ref:
                out.append((f"{p.name}/face{f:02d}", gray, np.asarray(ref[key], dtype=np.float64)))
    return out


def _run(faces, model, repeat: int) -> list[float]:
    per_face = []
    for _ in range(repeat):
        for _, g, b in faces:
            t = time.perf_counter()
            fit_landmarks(g, b, model)
            per_face.append((time.perf_counter() - t) * 1e3)
    return per_face


def _response_share(faces, model) -> tuple[float, float]:
    """(total ms, ms inside ExpertResponses.__call__) over one pass."""
    spent = [0.0]
    orig = fit_mod.ExpertResponses.__call__

    def timed(self, *a, **k):
        t = time.perf_counter()
        try:
            return orig(self, *a, **k)
        finally:
            spent[0] += time.perf_counter() - t

    fit_mod.ExpertResponses.__call__ = timed
    try:
        t = time.perf_counter()
        for _, g, b in faces:
            fit_landmarks(g, b, model)
        total = time.perf_counter() - t
    finally:
        fit_mod.ExpertResponses.__call__ = orig
    return total * 1e3, spent[0] * 1e3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--profile", action="store_true")
    cpp_reference.add_argument(ap)
    args = ap.parse_args()
    shared = _shared()
    model = load_clnf_model(shared / "openface/model/main_clnf_general.txt").load_experts()
    faces = _faces(shared)
    if not faces:
        print("no faces: need ../shared (PYPARITY_SHARED)", file=sys.stderr)
        return 2
    seq = shared / "openface/samples/image_sequence"
    cpp = cpp_reference.CppTimer(args.cpp_build, "landmarks", "main_clnf_general",
                                 [(seq / key.split("/")[0], b) for key, _, b in faces], shared / "openface/model")
    for _, g, b in faces:      # warm-up: numba compilation, Sigma matrices, packed experts
        fit_landmarks(g, b, model)
    per_face = []
    for _ in range(args.repeat):   # one Python pass, one C++ pass: both see the same load
        per_face += _run(faces, model, 1)
        cpp.run()
    fig = cpp.figure()
    med = statistics.median(per_face)
    print(f"CLNF fit (main_clnf_general, fit + parts + refit), {len(faces)} faces x {args.repeat}: "
          f"median {med:.1f} ms/face (min {min(per_face):.1f}, max {max(per_face):.1f}); "
          f"{fig.describe()}: ratio {med / fig.ms:.2f}")
    total, resp = _response_share(faces, model)
    print(f"one pass: {total / len(faces):.1f} ms/face, of which patch-expert responses "
          f"{resp / len(faces):.1f} ms/face ({100 * resp / total:.0f}%), the rest (NU-RLMS, PDM, parts, "
          f"refit) {(total - resp) / len(faces):.1f} ms/face")
    if args.profile:
        import cProfile
        import pstats
        pr = cProfile.Profile()
        pr.enable()
        for _, g, b in faces:
            fit_landmarks(g, b, model)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
