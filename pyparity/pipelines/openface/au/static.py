"""FaceAnalyser::PredictStaticAUsAndComputeFeatures for one face: every `faceNN/au/...` stage, recorded
in the reference's order (../shared/reference_dumps/openface-2.0.2-au/STAGES.md).

    result = predict_static_aus(frame_bgr, landmarks_stacked, models, rec)   # rec scoped at faceNN/au

| stage | module | C++ |
|---|---|---|
| input/landmarks_stacked | static.py | the `detected_landmarks` argument |
| calc_params/params_global, params_local | calc_params.py | PDM::CalcParams |
| align/source_landmarks_rigid, scale_rot, warp_matrix, warped, mask_landmarks, pixel_mask, face | align.py | AlignFaceMask, extract_rigid_points, Utilities::AlignShapesWithScale, cv::warpAffine, PAW::PAW |
| hog/descriptor, hog/num_rows, hog/num_cols | hog.py | Extract_FHOG_descriptor, dlib::extract_fhog_features |
| view | predict.py | GetViewId |
| geom/descriptor | geom.py | the geometry lines of PredictStaticAUsAndComputeFeatures |
| reg/raw, reg/output | predict.py | SVR_static_lin_regressors::Predict, the [0, 5] clipping |
| class/margin (ours), class/output | predict.py | SVM_static_lin::Predict |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.pipelines.openface.au.align import AlignedFace, align_face_mask
from pyparity.pipelines.openface.au.calc_params import calc_params
from pyparity.pipelines.openface.au.geom import geometry_descriptor
from pyparity.pipelines.openface.au.hog import fhog_cells, fhog_descriptor
from pyparity.pipelines.openface.au.models import ALIGN_SCALE, ALIGN_SIZE, HOG_CELL_SIZE, AuModels
from pyparity.pipelines.openface.au.predict import intensities, presences, view_id
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/au/input/landmarks_stacked", "record",
          "FaceAnalyser.cpp: FaceAnalyser::PredictStaticAUsAndComputeFeatures",
          "the landmarks the AUs start from"),
    Stage("face*/au/calc_params/*", "record", "PDM.cpp: PDM::CalcParams", "the AU PDM's parameters"),
    Stage("face*/au/align/*", "record", "Face_utils.cpp: AlignFaceMask",
          "rigid points, similarity, warped face, mask landmarks, PAW mask, the masked aligned face"),
    Stage("face*/au/hog/*", "record", "Face_utils.cpp: Extract_FHOG_descriptor", "dlib's FHOG (cell 8) and its size"),
    Stage("face*/au/view", "record", "FaceAnalyser.cpp: GetViewId", "the view the AU models use"),
    Stage("face*/au/geom/descriptor", "record", "FaceAnalyser.cpp: FaceAnalyser::PredictStaticAUsAndComputeFeatures",
          "[princ_comp·params_local, params_local]"),
    Stage("face*/au/reg/*", "record", "FaceAnalyser.cpp: FaceAnalyser::PredictCurrentAUs",
          "SVR intensities, raw and clipped to [0, 5]"),
    Stage("face*/au/class/*", "record", "FaceAnalyser.cpp: FaceAnalyser::PredictCurrentAUsClass",
          "SVM presences and their margins"),
)


@dataclass
class AuResult:
    """One face's action units and the features they came from."""

    params_global: np.ndarray      # (6,) float32, the AU PDM's
    params_local: np.ndarray       # (m,) float32
    aligned: AlignedFace
    hog: np.ndarray                # (1, rows·cols·31) float64
    hog_shape: tuple[int, int]     # (rows, cols)
    view: int
    geom: np.ndarray               # (1, 3n + m) float64
    intensity_raw: np.ndarray      # (17,) float64, before clipping
    intensity: np.ndarray          # (17,) float64 in [0, 5]: the CSV's AUxx_r
    presence_margin: np.ndarray    # (18,) float64: the SVM scores
    presence: np.ndarray           # (18,) float64 0/1: the CSV's AUxx_c
    intensity_names: tuple[str, ...]
    presence_names: tuple[str, ...]

    def smallest_margin(self) -> tuple[str, float]:
        """The presence decision nearest to flipping: (AU name, its SVM score)."""
        i = int(np.argmin(np.abs(self.presence_margin)))
        return self.presence_names[i], float(self.presence_margin[i])


def predict_static_aus(frame: np.ndarray, landmarks_stacked: np.ndarray, models: AuModels,
                       rec: StageRecorder = NULL_RECORDER) -> AuResult:
    """The static AUs of one face. frame: (H, W, 3) uint8 BGR as cv::imread gives it (FaceLandmarkImg's
    `rgb_image`); landmarks_stacked: (2n,) float32 [x0..xn-1, y0..yn-1], the fitted landmarks. Records
    into `rec` (scoped by the caller at `faceNN/au`)."""
    lm = np.asarray(landmarks_stacked, dtype=np.float32).reshape(-1)
    g, loc = calc_params(models.pdm, lm)
    a = align_face_mask(frame, lm, g, models.pdm, models.triangulation, ALIGN_SCALE, ALIGN_SIZE)
    cells = fhog_cells(a.face, HOG_CELL_SIZE)
    hog = fhog_descriptor(cells)
    view = view_id(models.head_orientations, g)
    geom = geometry_descriptor(models.pdm.princ_comp, loc)
    features = np.concatenate([hog, geom], axis=1)
    raw, clipped = intensities(features, models.intensity)
    margin, present = presences(features, models.presence)
    res = AuResult(g, loc, a, hog, (cells.shape[0], cells.shape[1]), view, geom, raw, clipped, margin, present,
                   models.intensity.names, models.presence.names)
    if rec.enabled:
        record(rec, lm, res)
    return res


def record(rec, landmarks_stacked: np.ndarray, r: AuResult) -> None:
    """Save the stages under the reference's names and dtypes, in its order (class/margin, ours, before
    the decision it thresholds)."""
    rec.save("input/landmarks_stacked", np.asarray(landmarks_stacked, np.float32).reshape(-1, 1))
    record_calc_params(rec, r.params_global, r.params_local)
    record_align(rec, r.aligned)
    record_hog(rec, r.hog, r.hog_shape)
    rec.save("view", np.int32(r.view))
    rec.save("geom/descriptor", r.geom)
    rec.save("reg/raw", r.intensity_raw)
    rec.save("class/margin", r.presence_margin)
    rec.save("class/output", r.presence)
    rec.save("reg/output", r.intensity)


def record_calc_params(rec, params_global: np.ndarray, params_local: np.ndarray) -> None:
    rec.save("calc_params/params_global", np.asarray(params_global, np.float32).reshape(6))
    rec.save("calc_params/params_local", np.asarray(params_local, np.float32).reshape(-1, 1))


def record_align(rec, a: AlignedFace) -> None:
    """`align/*` (AlignFaceMask), as images and video frames record them."""
    with rec.scope("align"):
        rec.save("source_landmarks_rigid", a.source_landmarks_rigid)
        rec.save("scale_rot", a.scale_rot)
        rec.save("warp_matrix", a.warp_matrix)
        rec.save("warped", a.warped)
        rec.save("mask_landmarks", a.mask_landmarks.reshape(-1, 1))
        rec.save("pixel_mask", a.pixel_mask)
        rec.save("face", a.face)


def record_hog(rec, hog: np.ndarray, hog_shape: tuple[int, int]) -> None:
    rec.save("hog/descriptor", hog)
    rec.save("hog/num_rows", np.int32(hog_shape[0]))
    rec.save("hog/num_cols", np.int32(hog_shape[1]))
