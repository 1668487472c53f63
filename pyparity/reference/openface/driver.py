"""Our own small C++ programs (benchmark drivers in benchmarks/cpp/, reference drivers in drivers/) compiled
against a build of the recorder: its patched OpenFace headers, its static libraries, the recorder's
header and CMake flags, so that they call the same OpenFace code the recorder records.

    exe = compile_driver(build_dir, DRIVERS / "online_aus.cpp", out_dir / "online_aus")
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyparity.errors import InputError

DRIVERS = Path(__file__).with_name("drivers")
# the kit's CMakeLists.txt: Release -O2 and OpenFace's SSE flags
CXXFLAGS = ("-O2", "-DNDEBUG", "-std=c++17", "-msse", "-msse2", "-msse3", "-w")


def check_build(build_dir: Path) -> Path:
    """A recorder build folder: obj/ with the four static libraries, src/ the patched tree."""
    d = Path(build_dir)
    if not (d / "obj" / "libFaceAnalyser.a").is_file() or not (d / "src" / "lib" / "local").is_dir():
        raise InputError(f"{d}: not a C++ recorder build (no obj/libFaceAnalyser.a and src/lib/local)")
    return d


def compile_driver(build_dir: Path, source: Path, exe: Path) -> Path:
    """g++ `source` against the build's libraries and headers; returns `exe`."""
    build = check_build(build_dir)
    of = build / "src" / "lib" / "local"

    def pkg(flag: str) -> list[str]:
        return subprocess.run(["pkg-config", flag, "opencv4"], capture_output=True, text=True, check=True).stdout.split()

    cmd = (["g++", *CXXFLAGS, str(source), f"-I{build / 'src'}"]
           + [f"-I{of / d / 'include'}" for d in ("FaceAnalyser", "Utilities", "LandmarkDetector")]
           + pkg("--cflags") + ["-I/usr/include/boost", f"-L{build / 'obj'}", "-lFaceAnalyser", "-lLandmarkDetector",
                                "-lUtilities", "-lLandmarkDetector"]
           + pkg("--libs") + ["-lboost_filesystem", "-lboost_system", "-ltbb", "-ldlib", "-lopenblas", "-lpthread",
                              "-o", str(exe)])
    subprocess.run(cmd, check=True)
    return exe
