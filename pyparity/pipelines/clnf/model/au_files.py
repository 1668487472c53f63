"""Readers of OpenFace's action-unit model files (FaceAnalyser::Read, ReadAU, ReadRegressor and the
SVR/SVM `Read` methods of lib/local/FaceAnalyser), beside the other OpenFace format readers.

    files = read_analyser_file(au_dir / "main_static_svms.txt")   # AnalyserFiles: predictor list, PDM, triangulation
    entries = read_au_list(files.au_predictors)                   # [(path, ("AU01",)), ...] in file order
    model = read_linear_model(path)                               # LinearAuModel (kind, means, weights, bias, ...)
    tris = read_triangulation(files.triangulation)                # (t, 3) int32

Binary regressor file (ReadRegressor): int32 type (0 static SVR, 1 dynamic SVR, 4 static SVM, 5 dynamic
SVM), for dynamic SVRs a float64 cutoff, then ReadMatBin means (1 × F float64), ReadMatBin support
vector (F × 1 float64), float64 bias, and for SVMs float64 positive and negative class values. Every
problem is a one-line ModelError naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.clnf.model.matbin import MatBinReader
from pyparity.pipelines.clnf.model.files import must_exist, read_lines

# FaceAnalyser.h RegressorType
SVR_STATIC, SVR_DYNAMIC, SVM_STATIC, SVM_DYNAMIC = 0, 1, 4, 5
KINDS = {SVR_STATIC: "svr-static", SVR_DYNAMIC: "svr-dynamic", SVM_STATIC: "svm-static", SVM_DYNAMIC: "svm-dynamic"}


@dataclass(frozen=True)
class AnalyserFiles:
    """What an analyser file (`main_static_svms.txt`, `main_dynamic_svms.txt`) names (FaceAnalyser::Read)."""

    path: Path
    au_predictors: Path
    pdm: Path
    triangulation: Path


@dataclass(frozen=True)
class LinearAuModel:
    """One `.dat` file: a linear SVR (intensity) or SVM (presence) for one AU."""

    path: Path
    kind: str                 # svr-static | svr-dynamic | svm-static | svm-dynamic
    means: np.ndarray         # (F,) float64
    weights: np.ndarray       # (F,) float64 (the support vector)
    bias: float
    cutoff: float | None = None          # dynamic SVRs: the person-specific offset's quantile (-1: none)
    pos_class: float | None = None       # SVMs: the value reported when the score is > 0
    neg_class: float | None = None


def read_analyser_file(path: str | Path) -> AnalyserFiles:
    """FaceAnalyser::Read: `AUPredictor`, `PDM` and `Triangulation` lines, locations relative to the file."""
    path = Path(path)
    root = path.parent
    found: dict[str, Path] = {}
    for line in read_lines(path):
        words = line.split()
        if len(words) >= 2 and words[0] in ("AUPredictor", "PDM", "Triangulation"):
            found[words[0]] = must_exist(root / words[1], path)
    missing = [k for k in ("AUPredictor", "PDM", "Triangulation") if k not in found]
    if missing:
        raise ModelError(f"{path}: not an AU analyser file (no {', '.join(missing)} line)")
    return AnalyserFiles(path, found["AUPredictor"], found["PDM"], found["Triangulation"])


def read_au_list(path: str | Path) -> list[tuple[Path, tuple[str, ...]]]:
    """FaceAnalyser::ReadAU: one `location AU01[,AU02...]` per line, locations relative to the file,
    in file order (blank lines skipped: C++ finds no file there and reads nothing)."""
    path = Path(path)
    out = []
    for line in read_lines(path):
        words = line.split(maxsplit=1)
        if not words:
            continue
        if len(words) < 2:
            raise ModelError(f"{path}: {words[0]!r} names no AU")
        names = tuple(n for n in words[1].strip().split(","))
        out.append((must_exist(path.parent / words[0], path), names))
    if not out:
        raise ModelError(f"{path}: lists no AU model")
    return out


def read_linear_model(path: str | Path) -> LinearAuModel:
    """FaceAnalyser::ReadRegressor and the Read method of the type it finds."""
    r = MatBinReader.from_file(path, "AU model file")
    typ = r.i32("the regressor type")
    if typ not in KINDS:
        raise ModelError(f"{r.path}: unsupported AU regressor type {typ} (known: {sorted(KINDS)})")
    cutoff = r.f64("the cutoff") if typ == SVR_DYNAMIC else None
    means = r.mat("the feature means")
    weights = r.mat("the support vector")
    bias = r.f64("the bias")
    pos = neg = None
    if typ in (SVM_STATIC, SVM_DYNAMIC):
        pos, neg = r.f64("the positive class"), r.f64("the negative class")
    r.expect_end("the model")
    if means.dtype != np.float64 or weights.dtype != np.float64 or means.shape[0] != 1 \
            or weights.shape != (means.shape[1], 1):
        raise ModelError(f"{r.path}: expected 1×F float64 means and an F×1 float64 support vector, got "
                         f"{means.shape} {means.dtype} and {weights.shape} {weights.dtype}")
    if not (np.all(np.isfinite(means)) and np.all(np.isfinite(weights)) and np.isfinite(bias)):
        raise ModelError(f"{r.path}: non-finite value in the AU model")
    return LinearAuModel(r.path, KINDS[typ], means[0].copy(), weights[:, 0].copy(), float(bias), cutoff, pos, neg)


def read_triangulation(path: str | Path) -> np.ndarray:
    """FaceAnalysis::ReadMat of a text triangulation (`tris_68_full.txt`): rows, cols, type, values
    -> (rows, 3) int32; '#' comment lines skipped."""
    path = Path(path)
    tokens = [t for line in read_lines(path) if not line.lstrip().startswith("#") for t in line.split()]
    try:
        rows, cols = int(tokens[0]), int(tokens[1])
        vals = np.array([int(t) for t in tokens[3:3 + rows * cols]], dtype=np.int32)
    except (IndexError, ValueError):
        raise ModelError(f"{path}: not a triangulation matrix (rows cols type values)") from None
    if cols != 3 or vals.size != rows * cols or rows <= 0:
        raise ModelError(f"{path}: expected a t×3 triangulation with {rows}×{cols} values")
    return vals.reshape(rows, 3)
