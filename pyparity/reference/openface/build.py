"""Building an instrumented OpenFace: dependency check, kit applied to a copy, CMake, a cache.

The cache key is the source tree's hash plus the kit's hash, so an unchanged tree and kit are never
rebuilt, and a changed kit (or a patched OpenFace) gets a build of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pyparity.atomic import write_text_atomic
from pyparity.errors import InputError
from pyparity.reference.openface.kit import KIT_DIR, apply_kit, kit_hash, source_hash

PROGRAMS = ("FaceLandmarkImg", "FeatureExtraction")

# What the build needs, as the Debian packages that provide it (and how to tell each is there).
DEBIAN_PACKAGES: dict[str, tuple[str, ...]] = {
    "cmake": ("cmake",),
    "g++": ("g++", "c++"),
    "libopencv-dev": ("/usr/include/opencv4/opencv2/core.hpp",),
    "libopenblas-dev": ("/usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h", "/usr/include/openblas/cblas.h",
                        "/usr/lib/x86_64-linux-gnu/libopenblas.so", "/usr/lib/aarch64-linux-gnu/libopenblas.so"),
    "libboost-filesystem-dev": ("/usr/include/boost/filesystem.hpp",),
    "libtbb-dev": ("/usr/include/tbb/tbb.h", "/usr/include/oneapi/tbb.h"),
    "libdlib-dev": ("/usr/include/dlib/opencv.h",),
}


def missing_packages() -> list[str]:
    """The Debian packages whose files (or programs) are absent here."""
    out = []
    for pkg, probes in DEBIAN_PACKAGES.items():
        if not any((Path(p).exists() if p.startswith("/") else shutil.which(p)) for p in probes):
            out.append(pkg)
    return out


def builds_root() -> Path:
    """Where builds are cached: $PYPARITY_BUILD_CACHE, else `openface-builds/` in pyparity's cache
    folder ($PYPARITY_CACHE_DIR, else $XDG_CACHE_HOME/pyparity or ~/.cache/pyparity)."""
    env = os.environ.get("PYPARITY_BUILD_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    from pyparity.models.manager import cache_root

    return cache_root() / "openface-builds"


def default_build_dir(source: Path) -> Path:
    """One folder per source tree; a build there is reused only while the kit's hash matches too (a
    changed kit rebuilds incrementally in the same folder: only the files it patches recompile)."""
    return builds_root() / source_hash(source)[:16]


@dataclass(frozen=True)
class Build:
    dir: Path
    source: Path
    info: dict

    @property
    def bin_dir(self) -> Path:
        return self.dir / "bin"

    def program(self, name: str) -> Path:
        return self.bin_dir / name

    @property
    def au_predictors(self) -> Path:
        return self.dir / "src" / "lib" / "local" / "FaceAnalyser" / "AU_predictors"


INFO_FILE = "pyparity-build.json"


def read_build(build_dir: Path) -> Build | None:
    """The finished build in `build_dir`, or None."""
    info_path = Path(build_dir) / INFO_FILE
    if not info_path.is_file():
        return None
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    b = Build(Path(build_dir), Path(info.get("source", "")), info)
    return b if all(b.program(p).is_file() for p in PROGRAMS) else None


def build(
    source: Path,
    build_dir: Path | None = None,
    jobs: int = 2,
    log: Callable[[str], None] = lambda s: None,
    force: bool = False,
) -> Build:
    """Apply the kit to a copy of `source` and build it (or return the cached build with the same key)."""
    source = Path(source).resolve()
    if not (source / "lib" / "local" / "LandmarkDetector").is_dir() or not (source / "exe").is_dir():
        raise InputError(f"{source}: not an OpenFace source tree (no lib/local/LandmarkDetector, exe/)")
    missing = missing_packages()
    if missing:
        raise InputError(
            "missing build dependencies; install them with: apt-get update && apt-get install -y " + " ".join(missing)
        )
    src_key, k_key = source_hash(source), kit_hash()
    bdir = Path(build_dir).resolve() if build_dir else default_build_dir(source)
    existing = read_build(bdir)
    if existing and not force and existing.info.get("source_hash") == src_key and existing.info.get("kit_hash") == k_key:
        log(f"cached build {bdir}")
        return existing
    bdir.mkdir(parents=True, exist_ok=True)
    (bdir / INFO_FILE).unlink(missing_ok=True)
    t0 = time.monotonic()
    log(f"applying the kit to a copy of {source}")
    patched = apply_kit(source, bdir / "src")
    cmake_dir = bdir / "cmake"
    cmake_dir.mkdir(exist_ok=True)
    shutil.copy2(KIT_DIR / "CMakeLists.txt", cmake_dir / "CMakeLists.txt")
    obj = bdir / "obj"
    cache_file = obj / "CMakeCache.txt"
    if cache_file.is_file() and f"CMAKE_CACHEFILE_DIR:INTERNAL={obj}" not in cache_file.read_text(errors="replace"):
        shutil.rmtree(obj)  # a build folder that was moved: CMake cannot reuse it
    _run(["cmake", "-S", str(cmake_dir), "-B", str(obj), "-DCMAKE_BUILD_TYPE=Release",
          f"-DOPENFACE_SRC={bdir / 'src'}", f"-DPYPARITY_KIT={bdir / 'src'}"], log)
    log(f"compiling with {jobs} job(s) (about 5 minutes on 2 cores)")
    _run(["cmake", "--build", str(obj), "--", f"-j{jobs}"], log)
    bin_dir = bdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    for p in PROGRAMS:
        shutil.copy2(obj / p, bin_dir / p)
    info = {
        "source": str(source), "source_hash": src_key, "kit_hash": k_key, "patched_files": patched,
        "build_seconds": round(time.monotonic() - t0, 1), "built_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "compiler": _first_line(["c++", "--version"]), "programs": list(PROGRAMS),
    }
    write_text_atomic(bdir / INFO_FILE, json.dumps(info, indent=1))  # the mark of a finished build: whole or absent
    return Build(bdir, source, info)


def _first_line(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        return ""


def _run(cmd: list[str], log: Callable[[str], None]) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-30:])
        sys.stderr.write(tail + "\n")
        raise InputError(f"build step failed ({' '.join(cmd[:3])} ...): see the compiler output above")
