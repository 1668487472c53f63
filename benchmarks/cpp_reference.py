"""C++ OpenFace 2.0.2's time for the benchmarks that quote a ratio to it (bench_mtcnn, bench_clnf,
bench_ceclm): timed beside the benchmark when a built C++ reference is given, else the recorded figure,
and the benchmark says which it used.

Recorded figures: ``../shared/docs/reference-timings.md``, section "Re-measured 2026-12-07" (the same
build recipe, rebuilt, on a quiet machine; FaceLandmarkImg over image_sequence/002..020 in one
process, medians of 57 calls): MTCNN 15.7 ms, landmark fit with ``main_clnf_general.txt`` (CCNF,
validator included) 7.9 ms, with ``main_ceclm_general.txt`` (synthetic CEN, validator included)
6.2 ms. The earlier figures in that file (28 / 19 / 8.2 ms) came from a busier machine and are not
used.

Timing C++ beside (``--cpp 'BINARY [ARGS]'``, or ``PYPARITY_CPP_TIMING='BINARY [ARGS]'``; ``--cpp
auto`` takes the FaceLandmarkImg of the newest ``pyparity reference openface build`` when that command
is installed): BINARY is a FaceLandmarkImg built with the reference kit. It is run with recording off,
once before and once after the Python timings, as

    PYPARITY_TIMING=1 BINARY [ARGS] [-mloc MODEL] -out_dir TMP -f IMAGE [-f IMAGE ...]

(``-mloc`` is added when ARGS has none: the benchmark's model in ``../shared/openface/model``; for
CE-CLM pass a ``-mloc`` whose folder holds the synthetic CEN experts, as ``pyparity reference openface
record --cen-dir`` lays it out)
and must print, for every image, lines ``pyparity-timing <stage> <milliseconds>`` with stage
``mtcnn`` (DetectFacesMTCNN) or ``landmarks`` (DetectLandmarksInImage, validator included). The first
image's lines of each run are dropped (C++'s one-off initialisation); the figure is the median of the
rest. A binary that fails or prints no such line is reported and the recorded figure is used.
"""

from __future__ import annotations

import os
import re
import shlex
import statistics
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORDED_MS = {"mtcnn": 15.7, "landmarks/main_clnf_general": 7.9, "landmarks/main_ceclm_general": 6.2}
RECORDED_SOURCE = "../shared/docs/reference-timings.md, re-measured 2026-12-07 (quiet machine)"
ENV = "PYPARITY_CPP_TIMING"
_LINE = re.compile(r"^pyparity-timing\s+(\S+)\s+([0-9.eE+-]+)\s*$")


@dataclass
class CppFigure:
    ms: float
    source: str          # "timed beside: ..." or the recorded figure's source

    def describe(self) -> str:
        return f"C++ {self.ms:.1f} ms ({self.source})"


def add_argument(ap) -> None:
    ap.add_argument("--cpp", default=os.environ.get(ENV) or None, metavar="'BINARY [ARGS]'",
                    help=f"a FaceLandmarkImg built with the reference kit, timed beside this benchmark "
                         f"('auto': the newest `pyparity reference openface build`; env {ENV}); "
                         f"without it the recorded figure is used")


def _auto_binary() -> Path:
    try:
        from pyparity.reference.openface.service import find_build
    except ImportError:
        raise RuntimeError("this pyparity has no `reference openface` recorder (the C++ recorder issue)") from None
    return Path(find_build().program("FaceLandmarkImg"))


def _run_once(command: list[str], images: list[Path], model: Path) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="pyparity-cpp-bench-") as out:
        cmd = command + ([] if "-mloc" in command else ["-mloc", str(model)]) + ["-out_dir", out]
        for p in images:
            cmd += ["-f", str(p)]
        env = dict(os.environ, PYPARITY_TIMING="1")
        env.pop("PYPARITY_DUMP_DIR", None)            # recording off
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{Path(command[0]).name} exited with {proc.returncode}: {tail[0]}")
    per_stage: dict[str, list[float]] = {}
    for line in (proc.stdout + "\n" + proc.stderr).splitlines():
        m = _LINE.match(line.strip())
        if m:
            per_stage.setdefault(m.group(1), []).append(float(m.group(2)))
    return {k: v[1:] for k, v in per_stage.items()}


class CppTimer:
    """Runs the C++ binary (if any) around the Python timings and gives the figure to quote."""

    def __init__(self, spec: str | None, stage: str, model_name: str, images: list[Path], model_dir: Path) -> None:
        self.stage, self.model_name, self.images = stage, model_name, images
        self.model = Path(model_dir) / f"{model_name}.txt"
        self.samples: list[float] = []
        self.command: list[str] | None = None
        self.problem: str | None = None
        if spec:
            try:
                self.command = [str(_auto_binary())] if spec == "auto" else shlex.split(spec)
                if not self.command or not Path(self.command[0]).is_file():
                    raise RuntimeError(f"{spec}: no such program")
            except Exception as e:  # no build, wrong path: say so, use the recorded figure
                self.problem, self.command = str(e), None

    def run(self) -> None:
        """One C++ pass over the images (call before and after the Python timings)."""
        if self.command is None:
            return
        try:
            got = _run_once(self.command, self.images, self.model).get(self.stage, [])
        except Exception as e:
            self.problem, self.command = str(e), None
            return
        if not got:
            self.problem = (f"{self.command[0]} printed no 'pyparity-timing {self.stage} MS' lines "
                            f"(needs a kit build that times stages when PYPARITY_TIMING=1)")
            self.command = None
            return
        self.samples += got

    def figure(self) -> CppFigure:
        if self.samples:
            return CppFigure(statistics.median(self.samples),
                             f"timed beside: {len(self.samples)} calls of {' '.join(self.command or [])}")
        key = self.stage if self.stage == "mtcnn" else f"{self.stage}/{self.model_name}"
        why = f"; C++ not timed: {self.problem}" if self.problem else ""
        return CppFigure(RECORDED_MS[key], f"recorded figure, {RECORDED_SOURCE}{why}")
