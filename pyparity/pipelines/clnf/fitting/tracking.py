"""Tracking mode: one frame of LandmarkDetector::DetectLandmarksInVideo from the previous frame's state
(FeatureExtraction). The state is explicit: pass it in, get the new one back (no hidden state).

`track_frame` is the "tracking_initialised" branch: CLNF::DetectLandmarks from the previous parameters
with the small window sizes (the initial ones after a failed frame), then the detection validator.
Re-detection and the multi-hypothesis first frame live in pipelines/openface/sequence.py, which owns
the face detector. The face-template correction (use_face_template) is off in FeatureExtraction and
not reproduced.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from pyparity.pipelines.clnf import scopes
from pyparity.pipelines.clnf.fitting.landmarks import ClnfModel, LandmarkResult, detect_landmarks
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("validation/certainty", "validate", "LandmarkDetectionValidator.cpp: DetectionValidator::Check",
          "the CNN detection validator's output", prefixes=scopes.FACE),
    Stage("face*/init/*", "track_frame", "LandmarkDetectorFunc.cpp: DetectLandmarksInVideo",
          "tracking: the state a frame's fit starts from"),
)

WINDOW_SIZES_SMALL = (0, 9, 7, 0)   # FaceModelParameters::window_sizes_small
VALIDATION_BOUNDARY = 0.725         # FaceModelParameters::validation_boundary
REINIT_VIDEO_EVERY = 2              # FaceModelParameters::reinit_video_every


@dataclass(frozen=True)
class TrackingState:
    """What CLNF carries from frame to frame (CLNF members of the same names)."""

    params_global: np.ndarray | None = None   # (6,) float32
    params_local: np.ndarray | None = None    # (m,) float32
    landmarks_stacked: np.ndarray | None = None
    model_likelihood: np.float32 = np.float32(0)
    detection_success: bool = False
    detection_certainty: np.float32 = np.float32(0)
    tracking_initialised: bool = False
    failures_in_a_row: int = -1
    eyes: dict = field(default_factory=dict)  # the eye part models' last state (for gaze): name -> tuple

    @property
    def has_landmarks(self) -> bool:
        return self.landmarks_stacked is not None

    def with_result(self, res: LandmarkResult, certainty, success: bool) -> "TrackingState":
        return replace(self, params_global=np.asarray(res.params_global, np.float32).copy(),
                       params_local=np.asarray(res.params_local, np.float32).reshape(-1).copy(),
                       landmarks_stacked=np.asarray(res.landmarks_stacked, np.float32).reshape(-1).copy(),
                       model_likelihood=np.float32(res.model_likelihood), detection_success=bool(success),
                       detection_certainty=np.float32(certainty))


def validate(validator, gray_u8, res: LandmarkResult, rec: StageRecorder = NULL_RECORDER) -> tuple[np.float32, bool]:
    """CLNF::DetectLandmarks' tail: the CNN validator when the fit succeeded (records
    `validation/certainty`), else certainty 0 and failure; without a validator the fit's success."""
    if validator is None or not bool(res.success):
        ok = bool(res.success) if validator is None else False
        return np.float32(1.0 if ok else 0.0), ok
    g = np.asarray(res.params_global, dtype=np.float32)
    orientation = np.array([g[1], g[2], g[3]], dtype=np.float64)   # cv::Vec3d from the floats
    cert = np.float32(validator.check(orientation, gray_u8, res.landmarks_stacked))
    if rec.enabled:
        rec.save("validation/certainty", cert)
    return cert, bool(cert > np.float32(VALIDATION_BOUNDARY))


def track_frame(gray_u8, state: TrackingState, model: ClnfModel, validator=None, rec: StageRecorder = NULL_RECORDER, *,
                level: int = 1, responses_from=None, trace_prefix: str = "face00/") -> tuple[LandmarkResult, TrackingState]:
    """One tracked frame from an initialised `state`: records `init/...`, `fit/...`, `parts/...`,
    `parts_merged/...`, `refit/...`, `validation/certainty` in the caller's scope (the reference puts
    them under `face00/`). Updates success, certainty and failures_in_a_row as DetectLandmarksInVideo."""
    if not state.tracking_initialised or state.params_global is None:
        raise ValueError("track_frame needs an initialised TrackingState (fit the first frame from a box)")
    ws = WINDOW_SIZES_SMALL if state.detection_success else tuple(model.window_sizes)
    g = np.asarray(state.params_global, dtype=np.float32).copy()
    loc = np.asarray(state.params_local, dtype=np.float32).reshape(-1).copy()
    if rec.enabled:
        rec.save("init/params_global", g.copy())
        rec.save("init/params_local", loc.reshape(-1, 1))
        rec.save("init/window_sizes", np.asarray(ws, dtype=np.int32))
    gray_f32 = None if gray_u8 is None else np.asarray(gray_u8).astype(np.float32)
    res = detect_landmarks(gray_f32, model, g, loc, ws, rec=rec, responses_from=responses_from,
                           trace_prefix=trace_prefix, level=level)
    cert, ok = validate(validator, gray_u8, res, rec)
    fails = -1 if ok else state.failures_in_a_row + 1
    return res, replace(state.with_result(res, cert, ok), failures_in_a_row=fails)
