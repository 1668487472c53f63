"""FaceAnalyser on a video (FeatureExtraction): AddNextFrame per frame, then the offline post-processing
PostprocessOutputFile applies to the CSV at the end (PostprocessPredictions, ExtractAllPredictionsOffline
Reg/Class). The state is an explicit object, updated in place and returned by each call.

    models = load_au_models(au_dir, dynamic=True)            # FeatureExtraction's default models
    state = VideoAuState()
    for frame, landmarks, success in frames:
        out = add_next_frame(state, frame, landmarks, success, models)   # FrameAus: this frame's values
    final = postprocess(state, models)                        # VideoAus: what the CSV finally holds

Per frame, as C++: the static-image stages (calc_params, align, hog, geom; a black face, zero geometry
and a zero HOG when the landmark fit failed), the running medians of HOG and geometry updated on every
other frame (the 1st, 3rd, ...; successful frames only add to the histograms), the static and dynamic
(median-normalised) SVR and SVM scores, the histories (0 for failed frames), online correction for
webcams only. At the end the first 3000 successful frames are predicted again with the final medians,
each dynamic AU's intensities shifted by its cutoff quantile, clipped and smoothed over 3 frames, the
presences smoothed by a 7-frame majority; the CSV lists the AUs sorted by name.

Not yet checked against stage dumps of FeatureExtraction (the project's C++ recorder will record them);
tests/test_openface_au_video.py checks the end result against FeatureExtraction's own CSV.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pyparity.pipelines.openface.au.align import align_face_mask
from pyparity.pipelines.openface.au.calc_params import calc_params
from pyparity.pipelines.openface.au.dynamic import (GEOM_BINS, HOG_BINS, RunningMedian, correct_online,
                                                    dynamic_cutoff, dynamic_scores, offline_intensities,
                                                    offline_presences, running_median_update)
from pyparity.pipelines.openface.au.geom import geometry_descriptor
from pyparity.pipelines.openface.au.hog import fhog_cells, fhog_descriptor
from pyparity.pipelines.openface.au.models import ALIGN_SCALE, ALIGN_SIZE, HOG_CELL_SIZE, AuModels
from pyparity.pipelines.openface.au.predict import linear_scores, view_id

MAX_INIT_FRAMES = 3000      # FaceAnalyser::max_init_frames


@dataclass
class VideoAuState:
    """FaceAnalyser's per-video state (what Reset() clears)."""

    frames: int = 0                                   # frames_tracking
    frames_ok: int = 0                                # frames_tracking_succ
    hog_medians: dict = field(default_factory=dict)   # view -> RunningMedian (one view in OpenFace's models)
    hog_median: np.ndarray | None = None              # hog_desc_median: the last view's, negatives set to 0
    geom_median: RunningMedian | None = None          # (dynamic.PredictionTrack per view in `tracks`)
    reg_history: dict = field(default_factory=dict)   # AU -> [intensity per frame]
    class_history: dict = field(default_factory=dict)
    successes: list = field(default_factory=list)
    init_frames: list = field(default_factory=list)   # (hog (1, H), geom (1, G), view) of successful frames
    tracks: dict = field(default_factory=dict)        # view -> PredictionTrack (online correction)


@dataclass
class FrameAus:
    """One frame's AUs as AddNextFrame leaves them (GetCurrentAUsReg / GetCurrentAUsClass)."""

    reg_names: tuple[str, ...]
    reg: np.ndarray            # (K,) float64: static then dynamic SVRs (0 where the fit failed)
    class_names: tuple[str, ...]
    presence: np.ndarray       # (L,) float64
    hog: np.ndarray            # (1, H) float64
    geom: np.ndarray           # (1, G) float64
    view: int


@dataclass
class VideoAus:
    """The post-processed AUs of every frame, sorted by AU name (PostprocessOutputFile's columns)."""

    reg_names: tuple[str, ...]
    reg: np.ndarray            # (n_frames, K) float64: AUxx_r
    class_names: tuple[str, ...]
    presence: np.ndarray       # (n_frames, L) float64: AUxx_c


def _families(models: AuModels) -> tuple[list, list]:
    """([(SVR family, is dynamic)], [(SVM family, is dynamic)]): static first, as FaceAnalyser predicts."""
    def pick(static, dynamic):
        return [(f, d) for f, d in ((static, False), (dynamic, True)) if f is not None and f.names]
    return pick(models.intensity, models.intensity_dynamic), pick(models.presence, models.presence_dynamic)


def _names(fams) -> tuple[str, ...]:
    return tuple(n for f, _d in fams for n in f.names)


def _predict(models: AuModels, hog: np.ndarray, geom: np.ndarray, hog_median, geom_median) -> tuple[np.ndarray, np.ndarray]:
    """PredictCurrentAUs / PredictCurrentAUsClass: static scores, then dynamic ones against the medians
    (hconcat of the HOG and geometry medians); presences thresholded at 0."""
    x = np.concatenate([hog, geom], axis=1)
    med = None
    if hog_median is not None:
        med = np.concatenate([np.asarray(hog_median).reshape(1, -1), np.asarray(geom_median).reshape(1, -1)], axis=1)
    reg_fams, cls_fams = _families(models)
    reg = np.concatenate([dynamic_scores(x, med, f) if d else linear_scores(x, f) for f, d in reg_fams])
    scores = np.concatenate([dynamic_scores(x, med, f) if d else linear_scores(x, f) for f, d in cls_fams])
    pos = np.concatenate([f.pos_class for f, _d in cls_fams])
    neg = np.concatenate([f.neg_class for f, _d in cls_fams])
    return reg, np.where(scores > 0, pos, neg).astype(np.float64)


def add_next_frame(state: VideoAuState, frame: np.ndarray, landmarks_stacked: np.ndarray, success: bool,
                   models: AuModels, online: bool = False) -> FrameAus:
    """FaceAnalyser::AddNextFrame(frame, landmarks, success, timestamp, online) for one frame (BGR
    uint8 as the capture gives it); updates `state` in place."""
    state.frames += 1
    n_modes = models.pdm.n_modes
    if success:
        g, loc = calc_params(models.pdm, landmarks_stacked)
        face = align_face_mask(frame, landmarks_stacked, g, models.pdm, models.triangulation, ALIGN_SCALE,
                               ALIGN_SIZE).face
    else:
        # cv::Vec6f's default (zeros) picks the view; a black face; zero local parameters
        g = np.zeros(6, np.float32)
        loc = np.zeros(n_modes, np.float32)
        face = np.zeros((ALIGN_SIZE, ALIGN_SIZE, 3), np.uint8)
    hog = fhog_descriptor(fhog_cells(face, HOG_CELL_SIZE))
    view = view_id(models.head_orientations, g)
    if success:
        state.frames_ok += 1
    if state.frames % 2 == 1:
        med = running_median_update(state.hog_medians.get(view), hog, success, *HOG_BINS)
        state.hog_medians[view] = med
        state.hog_median = np.where(med.median < 0, 0.0, med.median)
    geom = geometry_descriptor(models.pdm.princ_comp, loc)
    if not success:
        geom = np.zeros_like(geom)
    if state.frames % 2 == 1:
        state.geom_median = running_median_update(state.geom_median, geom, success, *GEOM_BINS)
    reg, cls = _predict(models, hog, geom, state.hog_median, state.geom_median.median)
    if not success:
        reg = np.zeros_like(reg)
        cls = np.zeros_like(cls)
    reg_fams, cls_fams = _families(models)
    for name, v in zip(_names(reg_fams), reg):
        state.reg_history.setdefault(name, []).append(float(v))
    for name, v in zip(_names(cls_fams), cls):
        state.class_history.setdefault(name, []).append(float(v))
    if online:
        track, reg = correct_online(state.tracks.get(view), reg, success)
        if track is not None:
            state.tracks[view] = track
    if success and state.frames_ok - 1 < MAX_INIT_FRAMES:
        state.init_frames.append((hog, geom, view))
    state.successes.append(bool(success))
    return FrameAus(_names(reg_fams), reg, _names(cls_fams), cls, hog, geom, view)


def postprocess(state: VideoAuState, models: AuModels) -> VideoAus:
    """PostprocessPredictions (the first successful frames predicted again with the final medians) and
    ExtractAllPredictionsOfflineReg / Class, AUs sorted by name as the CSV columns."""
    reg_fams, cls_fams = _families(models)
    reg_names, cls_names = _names(reg_fams), _names(cls_fams)
    reg_hist = {n: list(v) for n, v in state.reg_history.items()}
    cls_hist = {n: list(v) for n, v in state.class_history.items()}
    ok_frames = [i for i, s in enumerate(state.successes) if s]
    # PostprocessPredictions and the offsets run only with the dynamic models (FaceAnalyser::dynamic)
    for k, (hog, geom, _view) in enumerate(state.init_frames if models.dynamic else ()):
        i = ok_frames[k]
        reg, cls = _predict(models, hog, geom, state.hog_median, state.geom_median.median)
        for name, v in zip(reg_names, reg):
            reg_hist[name][i] = float(v)
        for name, v in zip(cls_names, cls):
            cls_hist[name][i] = float(v)
    succ = np.array(state.successes, dtype=bool)
    rs, cs = sorted(reg_hist), sorted(cls_hist)
    reg = np.stack([offline_intensities(np.array(reg_hist[n]), succ,
                                        dynamic_cutoff(models.intensity_dynamic, n) if models.dynamic else None)
                    for n in rs], axis=1) if rs else np.zeros((len(succ), 0))
    cls = np.stack([offline_presences(np.array(cls_hist[n])) for n in cs], axis=1) if cs else np.zeros((len(succ), 0))
    return VideoAus(tuple(rs), reg, tuple(cs), cls)
