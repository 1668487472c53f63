"""The CLNF fit: CLNF::DetectLandmarks from a box or from the previous frame (tracking)."""

from pyparity.pipelines.clnf.fitting.landmarks import (ROTATION_HYPOTHESES, ClnfModel, LandmarkResult, fit_from_reference,
                                                       fit_landmarks, load_clnf_model)
from pyparity.pipelines.clnf.fitting.tracking import TrackingState, track_frame, validate

__all__ = ["ROTATION_HYPOTHESES", "ClnfModel", "LandmarkResult", "fit_from_reference", "fit_landmarks",
           "load_clnf_model", "TrackingState", "track_frame", "validate"]
