"""FaceAnalyser on a video (FeatureExtraction): AddNextFrame per frame, then the offline post-processing
PostprocessOutputFile applies to the CSV at the end (PostprocessPredictions, ExtractAllPredictionsOffline
Reg/Class). The state is an explicit object, updated in place by each call.

    models = load_au_models(au_dir, dynamic=True)            # FeatureExtraction's default models
    state = VideoAuState()
    for frame, landmarks, success, timestamp in frames:
        out = add_next_frame(state, frame, landmarks, success, models, rec, timestamp=timestamp)  # FrameAus
    final = postprocess(state, models, rec)                   # VideoAus: what the CSV finally holds

Per frame (`face00/au/...`, the scope the caller gives `rec`), as C++ records it:

| stage | C++ |
|---|---|
| input/landmarks_stacked, input/success | AddNextFrame's arguments |
| calc_params/*, align/* (successful frames only) | PDM::CalcParams, AlignFaceMask (as static.py) |
| hog/descriptor, hog/num_rows, hog/num_cols, view | Extract_FHOG_descriptor (a black face when the fit failed), GetViewId |
| median/hog/update, hist_count, median (histogram: level 2) | UpdateRunningMedian, odd frames only; negatives zeroed |
| geom/descriptor | princ_comp · params_local, params_local (zeros when the fit failed) |
| median/geom/update, hist_count, median (histogram: level 2) | UpdateRunningMedian, odd frames only |
| reg/raw, reg/is_dynamic, reg/output | PredictCurrentAUs (static, then dynamic against the medians); 0 when failed |
| class/margin (pyparity only), class/raw | the SVM scores; PredictCurrentAUsClass |
| online_correction/input, reg/online_corrected (webcams) | CorrectOnlineAUs |
| class/output, calibration/frames_stored | after invalidation; hog_desc_frames_init.size() |

The end of the video (`video/au/...`, PostprocessOutputFile): `history/success`, `history/timestamps`,
`history/reg/AUxx`, `history/class/AUxx` (every frame's values as stored, AUs in name order as C++'s
std::map); with the dynamic models `postprocess/reinit/frames` and `reinit/reg|class/AUxx` (the first
3000 successful frames predicted again with the final medians); `postprocess/reg_offsets` (each AU's
cutoff quantile); `postprocess/reg/AUxx`, `postprocess/class/AUxx`: shifted, clipped and smoothed over 3
frames, presences by a 7-frame majority: what the CSV finally holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pyparity.pipelines.openface.au.align import align_face_mask
from pyparity.pipelines.openface.au.calc_params import calc_params
from pyparity.pipelines.openface.au.dynamic import (GEOM_BINS, HOG_BINS, RunningMedian, correct_online,
                                                    dynamic_cutoff, dynamic_scores, offline_intensities,
                                                    offline_offset, offline_presences, running_median_update)
from pyparity.pipelines.openface.au.geom import geometry_descriptor
from pyparity.pipelines.openface.au.hog import fhog_cells, fhog_descriptor
from pyparity.pipelines.openface.au.models import ALIGN_SCALE, ALIGN_SIZE, HOG_CELL_SIZE, AuModels
from pyparity.pipelines.openface.au.predict import linear_scores, view_id
from pyparity.pipelines.openface.au.static import record_align, record_calc_params, record_hog
from pyparity.trace import NULL_RECORDER
from pyparity.trace.stage_index import Stage, declare

# The per-frame stages FeatureExtraction records beyond the static ones (static.py declares those), and the
# end-of-video post-processing.
STAGES = declare(
    __name__,
    Stage("face*/au/input/success", "add_next_frame", "FaceAnalyser.cpp: FaceAnalyser::AddNextFrame",
          "whether the frame's landmark fit succeeded"),
    Stage("face*/au/median/*/*", "_record_median", "FaceAnalyser.cpp: FaceAnalyser::UpdateRunningMedian",
          "the running medians of HOG and geometry: update, count, median (histogram at level 2)"),
    Stage("face*/au/online_correction/input", "add_next_frame", "FaceAnalyser.cpp: FaceAnalyser::CorrectOnlineAUs",
          "the intensities the online correction starts from (webcams)"),
    Stage("face*/au/calibration/frames_stored", "add_next_frame", "FaceAnalyser.cpp: FaceAnalyser::AddNextFrame",
          "hog_desc_frames_init.size(): the frames kept for the end-of-video re-prediction"),
    Stage("video/au/history/**", "postprocess", "FaceAnalyser.cpp: FaceAnalyser::PostprocessOutputFile",
          "every frame's success, time stamp and AU values as stored"),
    Stage("video/au/postprocess/**", "postprocess", "FaceAnalyser.cpp: FaceAnalyser::PostprocessPredictions, "
          "ExtractAllPredictionsOfflineReg/Class", "re-predicted, shifted, smoothed: what the CSV finally holds"),
)

MAX_INIT_FRAMES = 3000      # FaceAnalyser::max_init_frames


@dataclass
class VideoAuState:
    """FaceAnalyser's per-video state (what Reset() clears)."""

    frames: int = 0                                   # frames_tracking
    frames_ok: int = 0                                # frames_tracking_succ
    hog_medians: dict = field(default_factory=dict)   # view -> RunningMedian (one view in OpenFace's models)
    hog_median: np.ndarray | None = None              # hog_desc_median: the last view's, negatives set to 0
    geom_median: RunningMedian | None = None
    reg_history: dict = field(default_factory=dict)   # AU -> [intensity per frame]
    class_history: dict = field(default_factory=dict)
    successes: list = field(default_factory=list)     # valid_preds
    timestamps: list = field(default_factory=list)
    init_frames: list = field(default_factory=list)   # (hog (1, H), geom (1, G), view) of successful frames
    tracks: dict = field(default_factory=dict)        # view -> dynamic.PredictionTrack (online correction)


@dataclass
class FrameAus:
    """One frame's AUs as AddNextFrame leaves them (GetCurrentAUsReg / GetCurrentAUsClass)."""

    reg_names: tuple[str, ...]
    reg: np.ndarray               # (K,) float64: static then dynamic SVRs (0 where the fit failed)
    class_names: tuple[str, ...]
    presence: np.ndarray          # (L,) float64 (0 where the fit failed)
    presence_margin: np.ndarray   # (L,) float64: the SVM scores the presences threshold at 0
    hog: np.ndarray               # (1, H) float64
    geom: np.ndarray              # (1, G) float64
    view: int
    success: bool

    def smallest_margin(self) -> tuple[str, float]:
        """The presence decision nearest to flipping: (AU name, its SVM score)."""
        i = int(np.argmin(np.abs(self.presence_margin)))
        return self.class_names[i], float(self.presence_margin[i])


@dataclass
class VideoAus:
    """The post-processed AUs of every frame, sorted by AU name (PostprocessOutputFile's columns)."""

    reg_names: tuple[str, ...]
    reg: np.ndarray            # (n_frames, K) float64: AUxx_r
    class_names: tuple[str, ...]
    presence: np.ndarray       # (n_frames, L) float64: AUxx_c
    # the re-predicted frames' presence decisions (PostprocessPredictions), which replace those of
    # AddNextFrame before the vote: their frame numbers and SVM scores, (n_reinit, L) in class_names order
    reinit_frames: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    reinit_margin: np.ndarray | None = None

    def smallest_reinit_margin(self) -> tuple[str, int, float] | None:
        """The re-predicted presence decision nearest to flipping: (AU name, frame, its SVM score)."""
        if self.reinit_margin is None or not self.reinit_margin.size:
            return None
        k, j = np.unravel_index(int(np.argmin(np.abs(self.reinit_margin))), self.reinit_margin.shape)
        return self.class_names[j], int(self.reinit_frames[k]), float(self.reinit_margin[k, j])


def _families(models: AuModels) -> tuple[list, list]:
    """([(SVR family, is dynamic)], [(SVM family, is dynamic)]): static first, as FaceAnalyser predicts."""
    def pick(static, dynamic):
        return [(f, d) for f, d in ((static, False), (dynamic, True)) if f is not None and f.names]
    return pick(models.intensity, models.intensity_dynamic), pick(models.presence, models.presence_dynamic)


def _names(fams) -> tuple[str, ...]:
    return tuple(n for f, _d in fams for n in f.names)


def au_names(models: AuModels) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(intensity names, presence names) in the order a frame's reg/* and class/* stages hold them."""
    reg_fams, cls_fams = _families(models)
    return _names(reg_fams), _names(cls_fams)


def _scores(models: AuModels, hog: np.ndarray, geom: np.ndarray, hog_median, geom_median) -> tuple[np.ndarray, np.ndarray]:
    """PredictCurrentAUs / PredictCurrentAUsClass before thresholding: static scores, then dynamic ones
    against the medians (hconcat of the HOG and geometry medians). -> (SVR values, SVM scores)."""
    x = np.concatenate([hog, geom], axis=1)
    med = None
    if hog_median is not None:
        med = np.concatenate([np.asarray(hog_median).reshape(1, -1), np.asarray(geom_median).reshape(1, -1)], axis=1)
    reg_fams, cls_fams = _families(models)
    reg = np.concatenate([dynamic_scores(x, med, f) if d else linear_scores(x, f) for f, d in reg_fams])
    scores = np.concatenate([dynamic_scores(x, med, f) if d else linear_scores(x, f) for f, d in cls_fams])
    return reg, scores


def _threshold(models: AuModels, scores: np.ndarray) -> np.ndarray:
    """SVM_*_lin::Predict: pos_class where the score is > 0, else neg_class."""
    _, cls_fams = _families(models)
    pos = np.concatenate([f.pos_class for f, _d in cls_fams])
    neg = np.concatenate([f.neg_class for f, _d in cls_fams])
    return np.where(scores > 0, pos, neg).astype(np.float64)


def _record_median(rec, name: str, med: RunningMedian, median: np.ndarray, update: bool, level: int) -> None:
    with rec.scope(f"median/{name}"):
        rec.save("update", np.int32(update))
        rec.save("hist_count", np.int32(med.count))
        rec.save("median", np.asarray(median, np.float64).reshape(1, -1))
        if level >= 2:
            rec.save("histogram", med.histogram)


def add_next_frame(state: VideoAuState, frame: np.ndarray, landmarks_stacked: np.ndarray | None, success: bool,
                   models: AuModels, rec=NULL_RECORDER, *, level: int = 1, online: bool = False,
                   timestamp: float = 0.0) -> FrameAus:
    """FaceAnalyser::AddNextFrame(frame, landmarks, success, timestamp, online) for one frame (BGR uint8
    as the capture gives it; landmarks (2n,) float32, None before any fit: C++'s zeros); updates `state`
    in place and records into `rec` (scoped by the caller at `face00/au`)."""
    n_points, n_modes = models.pdm.n_points, models.pdm.n_modes
    lm = (np.zeros(2 * n_points, np.float32) if landmarks_stacked is None
          else np.asarray(landmarks_stacked, np.float32).reshape(-1))
    success = bool(success)
    state.frames += 1
    if rec.enabled:
        rec.save("input/landmarks_stacked", lm.reshape(-1, 1))
        rec.save("input/success", np.int32(success))
    if success:
        g, loc = calc_params(models.pdm, lm)
        aligned = align_face_mask(frame, lm, g, models.pdm, models.triangulation, ALIGN_SCALE, ALIGN_SIZE)
        face = aligned.face
        if rec.enabled:
            record_calc_params(rec, g, loc)
            record_align(rec, aligned)
    else:
        # an uninitialised cv::Vec6f is zeros: it picks the view; a black face; zero local parameters
        g = np.zeros(6, np.float32)
        loc = np.zeros(n_modes, np.float32)
        face = np.zeros((ALIGN_SIZE, ALIGN_SIZE, 3), np.uint8)
    cells = fhog_cells(face, HOG_CELL_SIZE)
    hog = fhog_descriptor(cells)
    view = view_id(models.head_orientations, g)
    if rec.enabled:
        record_hog(rec, hog, (cells.shape[0], cells.shape[1]))
        rec.save("view", np.int32(view))
    if success:
        state.frames_ok += 1
    update_medians = state.frames % 2 == 1      # "a small speedup": the medians move on odd frames only
    if update_medians:
        med = running_median_update(state.hog_medians.get(view), hog, success, *HOG_BINS)
        state.hog_medians[view] = med
        state.hog_median = np.where(med.median < 0, 0.0, med.median)
        if rec.enabled:
            _record_median(rec, "hog", med, state.hog_median, success, level)
    geom = geometry_descriptor(models.pdm.princ_comp, loc)
    if not success:
        geom = np.zeros_like(geom)
    if rec.enabled:
        rec.save("geom/descriptor", geom)
    if update_medians:
        state.geom_median = running_median_update(state.geom_median, geom, success, *GEOM_BINS)
        if rec.enabled:
            _record_median(rec, "geom", state.geom_median, state.geom_median.median, success, level)
    reg_names, cls_names = au_names(models)
    reg_raw, margin = _scores(models, hog, geom, state.hog_median, state.geom_median.median)
    cls_raw = _threshold(models, margin)
    reg = reg_raw if success else np.zeros_like(reg_raw)
    cls = cls_raw if success else np.zeros_like(cls_raw)
    for name, v in zip(reg_names, reg):
        state.reg_history.setdefault(name, []).append(float(v))
    for name, v in zip(cls_names, cls):
        state.class_history.setdefault(name, []).append(float(v))
    if rec.enabled:
        reg_fams, _ = _families(models)
        rec.save("reg/raw", reg_raw)
        rec.save("reg/is_dynamic", np.array([d for f, d in reg_fams for _n in f.names], np.int32))
        rec.save("reg/output", reg)
        rec.save("class/margin", margin)
        rec.save("class/raw", cls_raw)
    if online:
        if rec.enabled:
            rec.save("online_correction/input", reg)
        track, reg = correct_online(state.tracks.get(view), reg, success)
        if track is not None:
            state.tracks[view] = track
        if rec.enabled:
            rec.save("reg/online_corrected", reg)
    if success and state.frames_ok - 1 < MAX_INIT_FRAMES:
        state.init_frames.append((hog, geom, view))
    if rec.enabled:
        rec.save("class/output", cls)
        rec.save("calibration/frames_stored", np.int32(len(state.init_frames)))
    state.successes.append(success)
    state.timestamps.append(float(timestamp))
    return FrameAus(reg_names, reg, cls_names, cls, margin, hog, geom, view, success)


def _series(rec, prefix: str, history: dict) -> None:
    for name in sorted(history):
        rec.save(f"{prefix}/{name}", np.asarray(history[name], np.float64))


def postprocess(state: VideoAuState, models: AuModels, rec=NULL_RECORDER) -> VideoAus:
    """FaceAnalyser::PostprocessOutputFile's values: PostprocessPredictions (the first successful frames
    predicted again with the final medians, dynamic models only) and ExtractAllPredictionsOfflineReg /
    Class, AUs sorted by name as the CSV's columns. Records `au/...` into `rec` (scoped by the caller at
    `video`); the state is left as it was."""
    succ = np.array(state.successes, dtype=bool)
    reg_hist = {n: list(v) for n, v in state.reg_history.items()}
    cls_hist = {n: list(v) for n, v in state.class_history.items()}
    if rec.enabled:
        rec.save("au/history/success", succ.astype(np.int32))
        rec.save("au/history/timestamps", np.asarray(state.timestamps, np.float64))
        _series(rec, "au/history/reg", reg_hist)
        _series(rec, "au/history/class", cls_hist)
    reinit_frames, reinit_margins = np.zeros(0, np.int64), []
    if models.dynamic:
        reg_names, cls_names = au_names(models)
        ok_frames = np.flatnonzero(succ)
        reinit_frames = ok_frames[:len(state.init_frames)]
        for k, (hog, geom, _view) in enumerate(state.init_frames):
            reg, margin = _scores(models, hog, geom, state.hog_median, state.geom_median.median)
            for name, v in zip(reg_names, reg):
                reg_hist[name][ok_frames[k]] = float(v)
            for name, v in zip(cls_names, _threshold(models, margin)):
                cls_hist[name][ok_frames[k]] = float(v)
            reinit_margins.append(margin)
        if rec.enabled:
            rec.save("au/postprocess/reinit/frames", np.int32(len(state.init_frames)))
            _series(rec, "au/postprocess/reinit/reg", reg_hist)
            _series(rec, "au/postprocess/reinit/class", cls_hist)
            if reinit_margins:   # ours (C++ keeps only the thresholded values): one score per re-predicted frame
                m = np.stack(reinit_margins)
                _series(rec, "au/postprocess/reinit/margin", {n: m[:, j] for j, n in enumerate(cls_names)})
    rs, cs = sorted(reg_hist), sorted(cls_hist)
    offsets = [offline_offset(reg_hist[n], succ, dynamic_cutoff(models.intensity_dynamic, n) if models.dynamic else None)
               for n in rs]
    reg = (np.stack([offline_intensities(reg_hist[n], succ, None, offset=o) for n, o in zip(rs, offsets)], axis=1)
           if rs else np.zeros((len(succ), 0)))
    cls = np.stack([offline_presences(cls_hist[n]) for n in cs], axis=1) if cs else np.zeros((len(succ), 0))
    if rec.enabled:
        rec.save("au/postprocess/reg_offsets", np.asarray(offsets, np.float64))
        for j, n in enumerate(rs):
            rec.save(f"au/postprocess/reg/{n}", reg[:, j].copy())
        for j, n in enumerate(cs):
            rec.save(f"au/postprocess/class/{n}", cls[:, j].copy())
    margin = None
    if reinit_margins:   # columns in the sorted class order of `cs`
        m, order = np.stack(reinit_margins), {n: j for j, n in enumerate(au_names(models)[1])}
        margin = m[:, [order[n] for n in cs]]
    return VideoAus(tuple(rs), reg, tuple(cs), cls, reinit_frames=reinit_frames, reinit_margin=margin)
