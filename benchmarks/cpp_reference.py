"""C++ OpenFace 2.0.2's time for the benchmarks that quote a ratio to it (bench_mtcnn, bench_clnf,
bench_ceclm): timed beside the benchmark when a build of the project's C++ recorder is at hand, else the
recorded figure; the benchmark says which it used.

Timing beside: benchmarks/cpp/openface_timer.cpp (our driver, no OpenFace code) is compiled against a
recorder build (``pyparity reference openface build``: its static libraries and patched source tree;
``--cpp-build DIR`` or ``PYPARITY_CPP_BUILD`` names the build folder, else the newest build is used
when that package is installed) and calls LandmarkDetector::DetectFacesMTCNN or
DetectLandmarksInImage as FaceLandmarkImg does, with recording off, models found as FaceLandmarkImg
finds them (``model/`` in its working folder, linked to the benchmark's model folder; for CE-CLM with
the synthetic CEN experts laid over it). It runs in passes between the Python rounds, so that both
sides see the same load; each pass warms up on every input first.

Recorded figures: ``../shared/docs/reference-timings.md``, section "Re-measured 2026-12-07" (the same
build recipe, rebuilt, on a quiet machine; FaceLandmarkImg over image_sequence/002..020 in one
process, medians of 57 calls): MTCNN 15.7 ms, landmark fit with ``main_clnf_general.txt`` (CCNF,
validator included) 7.9 ms, with ``main_ceclm_general.txt`` (synthetic CEN, validator included)
6.2 ms. The earlier figures in that file (28 / 19 / 8.2 ms) came from a busier machine and are not
used.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORDED_MS = {"mtcnn": 15.7, "landmarks/main_clnf_general": 7.9, "landmarks/main_ceclm_general": 6.2}
RECORDED_SOURCE = "recorded figure, ../shared/docs/reference-timings.md, re-measured 2026-12-07 (quiet machine)"
ENV = "PYPARITY_CPP_BUILD"
DRIVER = Path(__file__).resolve().parent / "cpp" / "openface_timer.cpp"


@dataclass
class CppFigure:
    ms: float
    source: str          # "timed beside ..." or the recorded figure's source

    def describe(self) -> str:
        return f"C++ {self.ms:.2f} ms ({self.source})"


def add_argument(ap) -> None:
    ap.add_argument("--cpp-build", default=os.environ.get(ENV) or None, metavar="DIR",
                    help=f"a C++ recorder build folder (obj/, src/) to time C++ OpenFace beside this benchmark "
                         f"(env {ENV}; default: the newest `pyparity reference openface build`, if any); "
                         f"without one the recorded figure is used")


def find_build(path: str | None) -> Path | None:
    """A recorder build folder (obj/libLandmarkDetector.a and the patched tree in src/), or None."""
    if path:
        d = Path(path)
    else:
        try:  # the project's C++ recorder, where it is installed and has built OpenFace
            from pyparity.reference.openface.service import find_build as newest
            d = newest().dir
        except Exception:
            return None
    if not (d / "obj" / "libLandmarkDetector.a").is_file() or not (d / "src" / "lib" / "local").is_dir():
        raise SystemExit(f"{d}: not a C++ recorder build (no obj/libLandmarkDetector.a and src/lib/local)")
    return d


def compile_driver(build: Path, out: Path) -> Path:
    """g++ openface_timer.cpp against the build's static libraries and headers."""
    of = build / "src" / "lib" / "local"
    pkg = lambda flag: subprocess.run(["pkg-config", flag, "opencv4"], capture_output=True, text=True,  # noqa: E731
                                      check=True).stdout.split()
    exe = out / "openface_timer"
    cmd = (["g++", "-O2", "-std=c++17", "-msse", "-msse2", "-msse3", "-w", str(DRIVER), f"-I{build / 'src'}"]
           + [f"-I{of / d / 'include'}" for d in ("LandmarkDetector", "Utilities")]
           + pkg("--cflags") + ["-I/usr/include/boost", f"-L{build / 'obj'}", "-lLandmarkDetector", "-lUtilities",
                                "-lLandmarkDetector"]
           + pkg("--libs") + ["-lboost_filesystem", "-lboost_system", "-ltbb", "-ldlib", "-lopenblas", "-lpthread",
                              "-o", str(exe)])
    subprocess.run(cmd, check=True)
    return exe


def _model_folder(work: Path, model_dir: Path, cen_dir: Path | None) -> None:
    """``work/model``: the OpenFace model folder, with synthetic CEN experts laid over it if given."""
    target = work / "model"
    if cen_dir is None:
        target.symlink_to(Path(model_dir).resolve(), target_is_directory=True)
        return
    for p in sorted(Path(model_dir).rglob("*")):
        rel = p.relative_to(model_dir)
        if p.is_dir():
            (target / rel).mkdir(parents=True, exist_ok=True)
        else:
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            (target / rel).symlink_to(p.resolve())
    for c in sorted(Path(cen_dir).glob("cen_patches_*.dat")):
        dst = target / "patch_experts" / c.name
        dst.unlink(missing_ok=True)
        dst.symlink_to(c.resolve())


class CppTimer:
    """C++ passes between the Python rounds (when a build is given or found) and the figure to quote.

    stage: "mtcnn" (inputs: image paths) or "landmarks" (inputs: (image path, (x, y, w, h)) pairs);
    model_name: "main_clnf_general" or "main_ceclm_general" (landmarks; CE-CLM needs ``cen_dir``)."""

    def __init__(self, build_dir: str | None, stage: str, model_name: str, inputs: list, model_dir: Path,
                 cen_dir: Path | None = None) -> None:
        self.stage, self.model_name = stage, model_name
        self.samples: list[float] = []
        self.problem: str | None = None
        self.build: Path | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="pyparity-cpp-bench-")
        self.work = Path(self._tmp.name)
        self.exe: Path | None = None
        try:
            self.build = find_build(build_dir)
            if self.build is not None:
                self.exe = compile_driver(self.build, self.work)
                _model_folder(self.work, model_dir, cen_dir)
                with open(self.work / "inputs.txt", "w") as fh:
                    for item in inputs:
                        if stage == "mtcnn":
                            fh.write(f"{Path(item).resolve()}\n")
                        else:
                            path, box = item
                            fh.write(f"{Path(path).resolve()} " + " ".join(repr(float(v)) for v in box) + "\n")
        except (subprocess.CalledProcessError, OSError) as e:  # a build that does not link: say so
            self.problem, self.exe = f"cannot build the timer against {self.build}: {e}", None

    def run(self, repeats: int = 1) -> None:
        """One C++ process: a warm-up pass over the inputs, then ``repeats`` timed passes."""
        if self.exe is None:
            return
        args = [str(self.exe), self.stage, str(self.work / "inputs.txt"), str(repeats),
                "-mloc", f"model/{self.model_name}.txt"]
        env = dict(os.environ, OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "Haswell"))
        env.pop("PYPARITY_DUMP_DIR", None)                     # recording off
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=self.work)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            self.problem, self.exe = f"the C++ timer exited with {proc.returncode}: {tail[0]}", None
            return
        self.samples += [float(ln.split()[1]) for ln in proc.stdout.splitlines() if ln[:1].isdigit()]

    def figure(self) -> CppFigure:
        self._tmp.cleanup()
        if self.samples:
            return CppFigure(statistics.median(self.samples),
                             f"timed beside: {len(self.samples)} calls, build {self.build}")
        key = self.stage if self.stage == "mtcnn" else f"{self.stage}/{self.model_name}"
        why = f"; C++ not timed: {self.problem}" if self.problem else ""
        return CppFigure(RECORDED_MS[key], f"{RECORDED_SOURCE}{why}")
