"""The AU models FaceAnalyser loads, as the prediction stages use them.

    models = load_au_models(au_dir)                  # AU_predictors/ folder (None: the model manager's)
    models.intensity.names, .means, .weights, .biases   # static SVRs stacked: (F,), (F, 17), (17,)
    models.presence.names, ..., .pos_class, .neg_class  # static SVMs stacked: (F,), (F, 18), (18,)
    video = load_au_models(au_dir, dynamic=True)     # FeatureExtraction's: static and dynamic families
    video.intensity_dynamic.cutoffs, video.presence_dynamic, ...

FaceLandmarkImg uses the static models only (FaceAnalyserParameters::OptimizeForImages:
`main_static_svms.txt` -> `AU_all_static.txt`, the AU PDM `In-the-wild_aligned_PDM_68.txt`,
`tris_68_full.txt`); FeatureExtraction the default `main_dynamic_svms.txt` -> `AU_all_best.txt`, where
each AU has a static or a dynamic (running-median normalised) model. As the C++ SVR/SVM `Read`
methods, each family keeps the means of the FIRST file it reads (later files' means are only compared,
with a warning in C++; they are equal in OpenFace's files) and stacks the support vectors as columns
in file order.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pyparity.errors import ModelError

STATIC_ANALYSER = "main_static_svms.txt"
DYNAMIC_ANALYSER = "main_dynamic_svms.txt"
ALIGN_SCALE = 0.7          # FaceAnalyserParameters: sim_scale_au
ALIGN_SIZE = 112           # sim_size_au
HOG_CELL_SIZE = 8


@dataclass(frozen=True)
class LinearPredictors:
    """One family of linear AU models stacked as C++ stacks them: score = (x - means) · weights + biases."""

    names: tuple[str, ...]
    means: np.ndarray          # (F,) float64
    weights: np.ndarray        # (F, K) float64, C-contiguous
    biases: np.ndarray         # (K,) float64
    pos_class: np.ndarray | None = None    # (K,) SVMs: reported where the score is > 0
    neg_class: np.ndarray | None = None
    cutoffs: np.ndarray | None = None      # (K,) dynamic SVRs: the offset quantile of a video (-1: none)

    @property
    def n_features(self) -> int:
        return self.means.shape[0]


@dataclass(frozen=True)
class AuModels:
    """FaceAnalyser's static models: intensities (SVR), presences (SVM), the AU PDM, the triangulation."""

    au_dir: Path
    intensity: LinearPredictors                # static SVRs (every AU for images)
    presence: LinearPredictors                 # static SVMs
    pdm: object                # clnf.pdm.PDM
    triangulation: np.ndarray  # (t, 3) int32
    head_orientations: tuple[tuple[float, float, float], ...] = ((0.0, 0.0, 0.0),)
    intensity_dynamic: LinearPredictors | None = None   # dynamic SVRs (video models only)
    presence_dynamic: LinearPredictors | None = None    # dynamic SVMs
    files: tuple[Path, ...] = ()               # the analyser file, the AU list, the PDM (for meta.json)

    @property
    def dynamic(self) -> bool:
        return self.intensity_dynamic is not None or self.presence_dynamic is not None

    @property
    def sha256(self) -> dict[str, str]:
        """The files the models came from, for a trace's meta.json (as the reference dumps list them)."""
        from pyparity.models.manifest import sha256_file

        return {f"AU_predictors/{p.relative_to(self.au_dir).as_posix()}": sha256_file(p) for p in self.files}


def _stack(models: list, family: str, path: Path, required: bool = True) -> LinearPredictors | None:
    """[(LinearAuModel, names), ...] in file order -> one LinearPredictors (SVR/SVM_*_lin::Read)."""
    if not models:
        if not required:
            return None
        raise ModelError(f"{path}: lists no {family} model")
    names = tuple(n for _m, ns in models for n in ns)
    if any(len(ns) != 1 for _m, ns in models):
        raise ModelError(f"{path}: each {family} file must name exactly one AU")
    first = models[0][0]
    for m, _ns in models:
        if m.means.shape != first.means.shape:
            raise ModelError(f"{m.path}: {m.means.shape[0]} features where {first.path} has {first.means.shape[0]}")
    weights = np.ascontiguousarray(np.stack([m.weights for m, _ns in models], axis=1))
    biases = np.array([m.bias for m, _ns in models], dtype=np.float64)
    pos = neg = cutoffs = None
    if first.pos_class is not None:
        pos = np.array([m.pos_class for m, _ns in models], dtype=np.float64)
        neg = np.array([m.neg_class for m, _ns in models], dtype=np.float64)
    if first.cutoff is not None:
        cutoffs = np.array([m.cutoff for m, _ns in models], dtype=np.float64)
    return LinearPredictors(names, first.means.copy(), weights, biases, pos, neg, cutoffs)


def _resolve_au_dir(au_dir) -> Path:
    if au_dir is not None:
        return Path(au_dir)
    from pyparity.models import openface_au_dir

    try:
        return Path(openface_au_dir())
    except ModelError as exc:
        raise ModelError(f"{exc}; or give OpenFace's AU_predictors folder, or skip the AUs", param="au_dir") from None


def load_au_models(au_dir: str | os.PathLike | None = None, dynamic: bool = False) -> AuModels:
    """FaceAnalyser from an `AU_predictors/` folder (None: the model manager's): the static models of
    OptimizeForImages (FaceLandmarkImg), or with `dynamic` FeatureExtraction's default set (static and
    dynamic families of `main_dynamic_svms.txt`). A dynamic model in the static list is an error: it
    needs a video's running medians, which images do not have."""
    from pyparity.pipelines.clnf.model.au_files import (read_analyser_file, read_au_list, read_linear_model,
                                                        read_triangulation)
    from pyparity.pipelines.clnf.model.pdm import read_pdm

    d = _resolve_au_dir(au_dir)
    main = d / (DYNAMIC_ANALYSER if dynamic else STATIC_ANALYSER)
    if not main.is_file():
        raise ModelError(f"{main}: no such AU model file (give OpenFace's AU_predictors folder, or install the AU "
                         "models with the model manager)", param="au_dir")
    files = read_analyser_file(main)
    kinds: dict[str, list] = {"svr-static": [], "svr-dynamic": [], "svm-static": [], "svm-dynamic": []}
    for path, names in read_au_list(files.au_predictors):
        m = read_linear_model(path)
        if m.kind.endswith("dynamic") and not dynamic:
            raise ModelError(f"{path}: a {m.kind} model in the static AU list {files.au_predictors}")
        kinds[m.kind].append((m, names))
    lst = files.au_predictors
    intensity = _stack(kinds["svr-static"], "intensity (SVR)", lst, required=not dynamic)
    presence = _stack(kinds["svm-static"], "presence (SVM)", lst, required=not dynamic)
    intensity_dyn = _stack(kinds["svr-dynamic"], "dynamic intensity (SVR)", lst, required=False)
    presence_dyn = _stack(kinds["svm-dynamic"], "dynamic presence (SVM)", lst, required=False)
    if dynamic and intensity is None and intensity_dyn is None:
        raise ModelError(f"{lst}: lists no intensity (SVR) model")
    pdm = read_pdm(files.pdm)
    n_geom = 3 * pdm.n_points + pdm.n_modes
    for fam in (intensity, presence, intensity_dyn, presence_dyn):
        if fam is not None and fam.n_features <= n_geom:
            raise ModelError(f"{lst}: {fam.n_features} features cannot hold a HOG and the {n_geom} geometry values")
    empty = LinearPredictors((), np.zeros(0), np.zeros((0, 0)), np.zeros(0), np.zeros(0), np.zeros(0))
    return AuModels(d, intensity or empty, presence or empty, pdm, read_triangulation(files.triangulation),
                    intensity_dynamic=intensity_dyn, presence_dynamic=presence_dyn,
                    files=tuple(p for p in (main, lst, files.pdm) if p.parent == d or d in p.parents))
