"""Static action units per face (pipelines/openface/au: FaceAnalyser::PredictStaticAUsAndComputeFeatures:
CalcParams, the aligned masked face, dlib's FHOG, geometry, 17 SVR + 18 SVM) from the landmarks of the
openface-2.0.2-au dumps, recording off, against C++ FaceAnalyser timed beside it.

    .venv/bin/python benchmarks/bench_aus.py [--repeat 20] [--faces sequence|all] [--cpp-build DIR]
    .venv/bin/python benchmarks/bench_aus.py --video [--repeat 20] [--cpp-build DIR]

--video: FeatureExtraction's path per frame instead (au/video.py add_next_frame: the same features, the
running medians of HOG and geometry on every other frame, static and dynamic models, the histories),
over the 30 frames of image_sequence from FeatureExtraction's landmarks
(reference_dumps/openface-2.0.2-fe-au), each pass a fresh video; C++ FaceAnalyser::AddNextFrame (the
default, dynamic models) timed beside it by the same driver. Also printed: the static path on the same
frames, so the video path's added cost per frame, and the end-of-video post-processing per video.

C++: benchmarks/cpp/au_timer.cpp (our driver, no OpenFace code) is compiled against a build of the
project's C++ recorder (`pyparity reference openface build`: its static libraries and patched source
tree; `--cpp-build` names the build folder, else the newest build is used when that package is
installed) and calls FaceAnalyser::PredictStaticAUsAndComputeFeatures on the same faces and landmarks.
Both sides time each call by the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID, Python's
time.thread_time_ns): on this shared 2-core machine wall time mostly measures the other processes'
turns. Python and C++ run in alternating rounds so that both see the same cache pressure. Without a build the ratio is taken against the recorded figure CPP_MS, and the
output says so. The machine is shared: compare figures from one run only.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from pyparity.imageio import read_image_bgr  # noqa: E402
from pyparity.pipelines.openface.au import align, calc_params, geom, hog, load_au_models, predict  # noqa: E402
from pyparity.pipelines.openface.au.static import predict_static_aus  # noqa: E402
from pyparity.trace import read_trace  # noqa: E402

# Recorded figure, used when no C++ build is at hand: C++ OpenFace 2.0.2 FaceAnalyser::
# PredictStaticAUsAndComputeFeatures, median thread CPU time per face over image_sequence/002..020 (19
# faces x 40 calls after a warm-up), measured 2026-12-07 on this machine with au_timer.cpp linked
# against the `cpp` branch's recorder build (Release, -O2 -msse3, recording off): 1.53 and 1.55 ms in
# two runs, beside pyparity's 2.20 and 2.18 ms (ratio 1.44, 1.40).
CPP_MS = 1.54
CPP_SOURCE = "recorded figure (2026-12-07, au_timer.cpp against the cpp branch's build, CPU time, 19 faces x 40)"
DRIVER = REPO / "benchmarks" / "cpp" / "au_timer.cpp"


def _sample(shared: Path, name: str) -> Path:
    if name[:3].isdigit():
        return shared / "openface/samples/image_sequence" / name
    if name.startswith("gray_"):
        return shared / "openface/samples/image_sequence_gray" / name[len("gray_"):]
    return shared / "openface/samples" / name


def _faces(shared: Path, which: str) -> list[tuple[str, np.ndarray, np.ndarray, Path]]:
    """(name/faceNN, image BGR, landmarks_stacked, image path) of the AU dumps' faces."""
    dumps = shared / "reference_dumps/openface-2.0.2-au/images"
    names = sorted(p.name for p in dumps.iterdir())
    if which == "sequence":
        names = [f"{i:03d}.jpg" for i in range(2, 21)]
    out = []
    for name in names:
        ref = read_trace(dumps / name)
        img = read_image_bgr(_sample(shared, name))
        i = 0
        while f"face{i:02d}/au/input/landmarks_stacked" in ref:
            out.append((f"{name}/face{i:02d}", img, np.asarray(ref[f"face{i:02d}/au/input/landmarks_stacked"],
                                                                  np.float32).reshape(-1), _sample(shared, name)))
            i += 1
    return out


def _video_frames(shared: Path) -> list[tuple[str, np.ndarray, np.ndarray, Path]]:
    """(frameNNNN, image BGR, landmarks_stacked, image path) of image_sequence as FeatureExtraction tracked it."""
    dumps = REPO / "reference_dumps/openface-2.0.2-fe-au/image_sequence"
    out = []
    for d in sorted(p for p in dumps.iterdir() if p.name.startswith("frame")):
        ref = read_trace(d)
        path = shared / "openface/samples/image_sequence" / ref.meta["input"]["file"]
        out.append((d.name, read_image_bgr(path), np.asarray(ref["face00/au/input/landmarks_stacked"],
                                                             np.float32).reshape(-1), path))
    return out


def _time_python_video(frames, models, repeat: int) -> tuple[list[float], list[float], list[float]]:
    """ms per add_next_frame call (all frames; frames that update the medians), ms per postprocess."""
    from pyparity.pipelines.openface.au.video import VideoAuState, add_next_frame, postprocess

    per_frame, updating, post = [], [], []
    for r in range(repeat + 1):                      # pass 0: warm-up (numba compilation)
        state = VideoAuState()
        for i, (_, img, lm, _p) in enumerate(frames):
            t = time.thread_time_ns()
            add_next_frame(state, img, lm, True, models)
            ms = (time.thread_time_ns() - t) * 1e-6
            if r:
                per_frame.append(ms)
                if i % 2 == 0:
                    updating.append(ms)
        t = time.thread_time_ns()
        postprocess(state, models)
        if r:
            post.append((time.thread_time_ns() - t) * 1e-6)
    return per_frame, updating, post


def _time_python(faces, models, repeat: int) -> list[float]:
    for _, img, lm, _p in faces:                    # warm-up: numba compilation
        predict_static_aus(img, lm, models)
    per_face = []
    for _ in range(repeat):
        for _, img, lm, _p in faces:
            t = time.thread_time_ns()
            predict_static_aus(img, lm, models)
            per_face.append((time.thread_time_ns() - t) * 1e-6)
    return per_face


def _breakdown(faces, models, repeat: int) -> dict[str, float]:
    """Median ms per face of each stage family (each timed on its own inputs)."""
    spent: dict[str, list[float]] = {k: [] for k in ("calc_params", "align", "hog", "geom + predict")}
    for _ in range(max(1, repeat // 4)):
        for _, img, lm, _p in faces:
            t0 = time.thread_time_ns()
            g, loc = calc_params.calc_params(models.pdm, lm)
            t1 = time.thread_time_ns()
            a = align.align_face_mask(img, lm, g, models.pdm, models.triangulation)
            t2 = time.thread_time_ns()
            d = hog.fhog_descriptor(hog.fhog_cells(a.face))
            t3 = time.thread_time_ns()
            x = np.concatenate([d, geom.geometry_descriptor(models.pdm.princ_comp, loc)], axis=1)
            predict.intensities(x, models.intensity)
            predict.presences(x, models.presence)
            t4 = time.thread_time_ns()
            for k, v in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3)):
                spent[k].append(v * 1e-6)
    return {k: statistics.median(v) for k, v in spent.items()}


def _find_build(path: str | None) -> Path | None:
    """A recorder build folder: obj/libFaceAnalyser.a (and the other libraries) and src/ (the patched tree)."""
    if path:
        d = Path(path)
    else:
        try:  # the project's C++ recorder, where it is installed and has built OpenFace
            from pyparity.reference.openface.service import find_build
            d = find_build().dir
        except Exception:
            return None
    from pyparity.errors import InputError
    from pyparity.reference.openface.driver import check_build

    try:
        return check_build(d)
    except InputError as exc:
        raise SystemExit(str(exc)) from None


def compile_driver(build: Path, out: Path) -> Path:
    """au_timer.cpp against the build's static libraries and headers (the recorder's CMake flags)."""
    from pyparity.reference.openface.driver import compile_driver as compile_against

    return compile_against(build, DRIVER, out / "au_timer")


def time_cpp(exe: Path, au_dir: Path, faces, repeat: int, work: Path, video: bool = False) -> list[float]:
    """ms per PredictStaticAUsAndComputeFeatures call (video: per AddNextFrame call, each pass from a
    Reset()), `repeat` passes over the faces, one process."""
    lst = work / "faces.txt"
    with open(lst, "w") as fh:
        for _key, _img, lm, path in faces:
            fh.write(f"{path} {lm.size // 2} " + " ".join(repr(float(v)) for v in lm) + "\n")
    env = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))
    out = subprocess.run([str(exe), str(au_dir.parent), str(lst), str(repeat)] + (["video"] if video else []),
                         capture_output=True, text=True, check=True, env=env).stdout
    return [float(ln.split()[1]) for ln in out.splitlines() if ln[:1].isdigit()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=20, help="passes over the faces, per side")
    ap.add_argument("--rounds", type=int, default=10, help="alternating Python / C++ rounds the passes are split into")
    ap.add_argument("--faces", choices=("sequence", "all"), default="sequence",
                    help="image_sequence/002..020 (as the other C++ timings) or all 28 faces of the AU dumps")
    ap.add_argument("--shared", type=Path, default=Path(os.environ.get("PYPARITY_SHARED", REPO.parent / "shared")))
    ap.add_argument("--au-dir", type=Path, default=None, help="AU_predictors folder (default: ../shared's)")
    ap.add_argument("--cpp-build", default=None, help="a C++ recorder build folder (obj/, src/) to time C++ from")
    ap.add_argument("--video", action="store_true", help="FeatureExtraction's per-frame path (AddNextFrame) instead")
    a = ap.parse_args()
    au_dir = a.au_dir or a.shared / "openface/cpp-2.0.2/lib/local/FaceAnalyser/AU_predictors"
    if a.video:
        return video_main(a, au_dir)
    models = load_au_models(au_dir)
    faces = _faces(a.shared, a.faces)
    build = _find_build(a.cpp_build)
    per = max(1, a.repeat // a.rounds)
    py, cpp = [], []
    with tempfile.TemporaryDirectory(prefix="bench-aus-") as tmp:
        exe = compile_driver(build, Path(tmp)) if build is not None else None
        for _ in range(a.rounds):
            py += _time_python(faces, models, per)
            if exe is not None:
                cpp += time_cpp(exe, au_dir, faces, per, Path(tmp))
    p_ms = statistics.median(py)
    print(f"pyparity AUs: {len(faces)} faces x {per * a.rounds}: median {p_ms:.2f} ms/face "
          f"(p10 {np.percentile(py, 10):.2f}, p90 {np.percentile(py, 90):.2f})")
    print("  by stage (median ms/face): " + ", ".join(f"{k} {v:.3f}" for k, v in _breakdown(faces, models, a.repeat).items()))
    if cpp:
        c_ms, source = statistics.median(cpp), f"timed beside, build {build}"
        print(f"C++ FaceAnalyser::PredictStaticAUsAndComputeFeatures: {len(faces)} faces x {per * a.rounds}: median "
              f"{c_ms:.2f} ms/face (p10 {np.percentile(cpp, 10):.2f}, p90 {np.percentile(cpp, 90):.2f})")
    else:
        c_ms, source = CPP_MS, CPP_SOURCE
    print(f"ratio pyparity / C++: {p_ms / c_ms:.2f} (C++ {c_ms:.2f} ms/face: {source})")
    return 0


def video_main(a, au_dir: Path) -> int:
    models, static = load_au_models(au_dir, dynamic=True), load_au_models(au_dir)
    frames = _video_frames(a.shared)
    build = _find_build(a.cpp_build)
    per = max(1, a.repeat // a.rounds)
    py, upd, post, stat, cpp = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="bench-aus-") as tmp:
        exe = compile_driver(build, Path(tmp)) if build is not None else None
        for _ in range(a.rounds):
            f, u, p = _time_python_video(frames, models, per)
            py, upd, post = py + f, upd + u, post + p
            stat += _time_python(frames, static, per)
            if exe is not None:
                cpp += time_cpp(exe, au_dir, frames, per, Path(tmp), video=True)
    p_ms, s_ms = statistics.median(py), statistics.median(stat)
    print(f"pyparity video AUs (add_next_frame): {len(frames)} frames x {per * a.rounds}: median {p_ms:.2f} ms/frame "
          f"(p10 {np.percentile(py, 10):.2f}, p90 {np.percentile(py, 90):.2f}); frames updating the medians "
          f"{statistics.median(upd):.2f} ms")
    print(f"  static path on the same frames (predict_static_aus): median {s_ms:.2f} ms/frame; the video path adds "
          f"{p_ms - s_ms:+.2f} ms/frame ({p_ms / s_ms:.2f}x)")
    print(f"  end-of-video post-processing (postprocess): median {statistics.median(post):.2f} ms per "
          f"{len(frames)}-frame video ({statistics.median(post) / len(frames):.3f} ms/frame)")
    if cpp:
        c_ms = statistics.median(cpp)
        print(f"C++ FaceAnalyser::AddNextFrame: {len(frames)} frames x {per * a.rounds}: median {c_ms:.2f} ms/frame "
              f"(p10 {np.percentile(cpp, 10):.2f}, p90 {np.percentile(cpp, 90):.2f}), timed beside, build {build}")
        print(f"ratio pyparity / C++ (video path): {p_ms / c_ms:.2f}")
    else:
        print("C++: no recorder build found (--cpp-build DIR): no C++ figure for the video path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
