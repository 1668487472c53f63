"""Hierarchical part models of CLNF::DetectLandmarks (inner face, eyes): extract, fit, merge, refit.

Part landmarks are taken from the main fit through the model's (main index, part index) mappings,
PDM::CalcParams initialises the part from them, the part is fitted (CLNF::Fit with the part's own
FaceModelParameters: no refine_parameters, its own window sizes) when the main scale is large enough,
then written back; the main PDM is re-fitted to the merged landmarks (PDM::CalcParams).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.clnf import scopes
from pyparity.pipelines.clnf.fitting.fit import FitSettings, clnf_fit
from pyparity.pipelines.clnf.model.pdm import PDM
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("parts/*/input/landmarks_stacked", "fit_part", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "a part model's landmarks taken from the main fit"),
    Stage("parts/*/init/*", "fit_part", "PDM.cpp: PDM::CalcParams",
          "the part's parameters and window sizes before fitting"),
    Stage("parts/*/output/landmarks_stacked", "fit_part", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "the part's fitted landmarks"),
    Stage("parts_merged/landmarks_stacked", "merge_and_refit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "the main landmarks with the parts written back"),
    Stage("refit/*", "merge_and_refit", "PDM.cpp: PDM::CalcParams",
          "parameters and landmarks refit to the merged shape"),
    prefixes=scopes.FACE,
)


@dataclass
class PartSpec:
    name: str
    pdm: PDM
    mappings: tuple[tuple[int, int], ...]   # (main landmark index, part landmark index)
    window_sizes: tuple[int, ...]           # window_sizes_init of the part
    settings: FitSettings
    first_patch_scaling: float              # patch_scaling[0] of the part's experts


def extract_part_landmarks(main_stacked: np.ndarray, n_main: int, spec: PartSpec) -> np.ndarray:
    """(2·n_part,) float32 part landmarks (zeros where no mapping) from main landmarks_stacked."""
    n_part = spec.pdm.n_points
    out = np.zeros(2 * n_part, dtype=np.float32)
    for mi, pi in spec.mappings:
        out[pi] = main_stacked[mi]
        out[pi + n_part] = main_stacked[mi + n_main]
    return out


def fit_part(spec: PartSpec, main_landmarks: np.ndarray, main_scale: float, n_main: int, source_factory,
             rec: StageRecorder = NULL_RECORDER, level: int = 2) -> tuple[np.ndarray, bool, np.ndarray, np.ndarray]:
    """One part: returns (part landmarks_stacked (2·n_part,) float32, whether it was fitted, its
    params_global, params_local) — the fitted parameters, or PDM::CalcParams of its input landmarks
    when it was not fitted (the part model's state after DetectLandmarks, which gaze reads).
    source_factory(spec) -> a fit.ResponseSource for the part."""
    locs = extract_part_landmarks(main_landmarks, n_main, spec)
    g, loc = spec.pdm.calc_params_from_landmarks(locs, fast=not rec.enabled)
    # params_global[0] (float) > 0.9 * patch_scaling[0] (double): below it C++ does not upsample
    used = bool(float(np.float32(main_scale)) > 0.9 * float(spec.first_patch_scaling))
    if rec.enabled:
        rec.save("input/landmarks_stacked", locs.reshape(-1, 1))
    if used:
        if rec.enabled:
            # the reference records the part's initialisation only when the part is fitted
            rec.save("init/params_global", g.copy())
            rec.save("init/params_local", loc.reshape(-1, 1))
            rec.save("init/window_sizes", np.asarray(spec.window_sizes, dtype=np.int32))
        res = clnf_fit(spec.pdm, source_factory(spec), g, loc, spec.window_sizes, spec.settings, rec=rec, level=level)
        lm, g, loc = res.landmarks_stacked, res.params_global, res.params_local
    else:
        lm = spec.pdm.calc_shape_2d(loc, g)
    if rec.enabled:
        rec.save("output/landmarks_stacked", lm.reshape(-1, 1))
    return lm, used, g, loc


def merge_and_refit(pdm: PDM, main_landmarks: np.ndarray, parts: list[tuple[PartSpec, np.ndarray]],
                    rec: StageRecorder = NULL_RECORDER) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Write the parts' landmarks into the main ones, then PDM::CalcParams + CalcShape2D.
    Returns (params_global, params_local, landmarks_stacked) of the refit."""
    n = pdm.n_points
    merged = np.asarray(main_landmarks, dtype=np.float32).reshape(-1).copy()
    for spec, lm in parts:
        np_ = spec.pdm.n_points
        for mi, pi in spec.mappings:
            merged[mi] = lm[pi]
            merged[mi + n] = lm[pi + np_]
    if rec.enabled:
        rec.save("parts_merged/landmarks_stacked", merged.reshape(-1, 1))
    g, loc = pdm.calc_params_from_landmarks(merged, fast=not rec.enabled)
    lm = pdm.calc_shape_2d(loc, g)
    if rec.enabled:
        rec.save("refit/params_global", g.copy())
        rec.save("refit/params_local", loc.reshape(-1, 1))
        rec.save("refit/landmarks_stacked", lm.reshape(-1, 1))
    return g, loc, lm
