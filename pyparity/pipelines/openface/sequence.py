"""FeatureExtraction's landmark tracking over an image folder or a video
(exe/FeatureExtraction/FeatureExtraction.cpp, LandmarkDetector::DetectLandmarksInVideo).

Per frame (state carried in a clnf.tracking.TrackingState):
- tracking initialised: CLNF::DetectLandmarks from the previous frame's parameters with the small
  window sizes (the initial ones after a failed frame) and the validator, stages under `face00/`;
- not initialised (first frame, then every 12th failed one) or tracking failed (every 2nd failure):
  MTCNN's widest face (`face00/mtcnn/...`) and DetectLandmarksInImage with the 11 rotation hypotheses
  (`face00/clnf/input/bbox`, `face00/clnf/hNN/...`); a failed re-detection restores the previous state;
- then `face00/output/...` (landmarks, parameters, GetPose with the capture's default camera,
  certainty, success, likelihood, camera; and what FeatureExtraction writes to its CSV but the dumps
  do not hold: 3D landmarks, gaze, eye landmarks).

    frames = image_folder_frames(folder)   # or video_frames(path): iterator of (name, BGR uint8)
    for i, (name, out) in enumerate(run_sequence(frames, models, recorder_for=lambda i, name: Recorder())):
        ...
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.tracking import REINIT_VIDEO_EVERY, TrackingState, track_frame
from pyparity.pipelines.openface.image import (OpenFaceModels, eye_parts, face_outputs, fit_face,
                                               to_gray_u8)
from pyparity.pipelines.openface.outputs import FaceOutput, default_camera, record_outputs
from pyparity.trace import NULL_RECORDER

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")   # SequenceCapture::OpenImageFiles


def image_folder_frames(folder: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """The folder's images in sorted name order (SequenceCapture sorts them), read as cv::imread."""
    from pyparity.imageio import read_image_bgr

    d = Path(folder)
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InputError(f"{d}: no images (.jpg, .jpeg, .png, .bmp) in this folder")
    for p in files:
        yield p.name, read_image_bgr(p)


def video_frames(path: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """Frames of a video file through cv2.VideoCapture (8-bit BGR), named frameNNNN."""
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such video file or image folder")
    from pyparity.imageio import check_image_size

    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        raise InputError(f"{p}: not a readable video")
    try:
        # the container's frame size, checked before a frame is decoded (as an image's header is)
        check_image_size(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), p)
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok or frame is None or frame.size == 0:
                break
            check_image_size(frame.shape[1], frame.shape[0], f"{p} frame {i}")
            yield f"frame{i:04d}", np.ascontiguousarray(frame)
            i += 1
        if i == 0:
            raise InputError(f"{p}: no frame could be decoded")
    finally:
        cap.release()


def frames_of(source: str | os.PathLike) -> Iterator[tuple[str, np.ndarray]]:
    """An image folder or a video file."""
    p = Path(source)
    if p.is_dir():
        return image_folder_frames(p)
    return video_frames(p)


def _detect_widest(image: np.ndarray, models: OpenFaceModels, rec) -> np.ndarray | None:
    """DetectSingleFaceMTCNN without a preference: the widest box (first of equals), or None."""
    from pyparity.pipelines.mtcnn import detect

    det = detect(image, model_dir=models.model_dir, rec=rec)
    boxes = np.asarray(det.boxes_xywh, dtype=np.float32).reshape(-1, 4)
    if len(boxes) == 0:
        return None
    best = 0
    for i in range(1, len(boxes)):
        if boxes[i, 2] > boxes[best, 2]:
            best = i
    return boxes[best].astype(np.float64)


def track_video_frame(image: np.ndarray, gray: np.ndarray, state: TrackingState, models: OpenFaceModels,
                      rec=NULL_RECORDER, level: int = 1) -> tuple[bool, TrackingState]:
    """LandmarkDetector::DetectLandmarksInVideo (MTCNN detector, reinit_video_every 2): returns the
    success it reports and the new state. Records in the caller's scope (`face00/`)."""
    if models.backend != "ccnf":
        raise InputError("tracking (openface-sequence) is implemented for the CCNF model only")
    initial_detection = not state.tracking_initialised
    if state.tracking_initialised:
        res, state = track_frame(gray, state, models.clnf, models.validator, rec, level if rec.enabled else 1)
        state = replace(state, eyes=eye_parts(models, res))
    redetect = ((not state.tracking_initialised and (state.failures_in_a_row + 1) % (REINIT_VIDEO_EVERY * 6) == 0)
                or (state.tracking_initialised and not state.detection_success
                    and state.failures_in_a_row % REINIT_VIDEO_EVERY == 0))
    if redetect:
        box = _detect_widest(image, models, rec)
        if box is not None:
            previous = state
            with rec.scope("clnf"):
                fit = fit_face(gray, box, models, rec, multi_view=True, level=level)
            state = replace(state.with_result(fit.result, fit.detection_certainty, fit.detection_success),
                            tracking_initialised=True, eyes=fit.eyes)
            if not initial_detection and not fit.detection_success:
                # the previous parameters and landmarks come back; success and certainty stay the new ones
                state = replace(state, params_global=previous.params_global, params_local=previous.params_local,
                                landmarks_stacked=previous.landmarks_stacked,
                                model_likelihood=previous.model_likelihood)
                return False, state
            return True, replace(state, failures_in_a_row=-1)
    if not state.tracking_initialised:
        state = replace(state, failures_in_a_row=state.failures_in_a_row + 1)
    if state.failures_in_a_row > 100:
        state = replace(state, tracking_initialised=False)
    return state.detection_success, state


class _StateFit:
    """face_outputs' view of a TrackingState."""

    def __init__(self, st: TrackingState, success: bool):
        from types import SimpleNamespace

        self.result = SimpleNamespace(params_global=st.params_global, params_local=st.params_local,
                                      landmarks_stacked=st.landmarks_stacked, model_likelihood=st.model_likelihood)
        self.detection_certainty = st.detection_certainty
        self.detection_success = success
        self.eyes = st.eyes


def _reference_start(state: TrackingState, ref) -> TrackingState:
    """Stage isolation per frame: a tracked frame starts from the reference frame's own
    `face00/init/params_*` instead of the previous frame's result (errors do not carry over)."""
    if ref is None or not state.tracking_initialised or "face00/init/params_global" not in ref:
        return state
    return replace(state, params_global=np.asarray(ref["face00/init/params_global"], np.float32).reshape(6).copy(),
                   params_local=np.asarray(ref["face00/init/params_local"], np.float32).reshape(-1).copy())


def run_sequence(frames: Iterable[tuple[str, np.ndarray]], models: OpenFaceModels,
                 recorder_for: Callable[[int, str], object] | None = None, level: int = 1,
                 max_frames: int | None = None,
                 reference_for: Callable[[int], object] | None = None) -> Iterator[tuple[str, FaceOutput | None, object]]:
    """Track face00 through `frames`; yields (frame name, FaceOutput or None, the frame's finished trace
    or None). recorder_for(index, name) gives each frame's recorder (None: nothing recorded).
    reference_for(index) -> the reference frame's trace (or None): each tracked frame then starts from
    the reference's own initial parameters (per-frame stage isolation)."""
    state = TrackingState()
    for i, (name, image) in enumerate(frames):
        if max_frames is not None and i >= max_frames:
            break
        if reference_for is not None:
            state = _reference_start(state, reference_for(i))
        rec = recorder_for(i, name) if recorder_for is not None else NULL_RECORDER
        try:
            gray = to_gray_u8(image)
            h, w = gray.shape
            cam = default_camera(w, h)
            out = None
            with rec.scope("face00"):
                success, state = track_video_frame(image, gray, state, models, rec, level)
                if state.has_landmarks:
                    # FeatureExtraction estimates gaze only after a successful frame (zeros otherwise)
                    out = face_outputs(_StateFit(state, success), models, cam, gaze=success)
                    record_outputs(rec, out)
            trace = rec.finish() if rec.enabled else None
        except BaseException:
            if rec.enabled:
                rec.abort()
            raise
        yield name, out, trace
