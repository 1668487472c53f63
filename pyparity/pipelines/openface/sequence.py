"""FeatureExtraction's landmark tracking over an image folder or a video
(exe/FeatureExtraction/FeatureExtraction.cpp, LandmarkDetector::DetectLandmarksInVideo).

Per frame (state carried in a clnf.tracking.TrackingState):
- tracking initialised: CLNF::DetectLandmarks from the previous frame's parameters with the small
  window sizes (the initial ones after a failed frame) and the validator, stages under `face00/`;
- not initialised (first frame, then every 12th failed one) or tracking failed (every 2nd failure):
  MTCNN's widest face (`face00/mtcnn/...`) and DetectLandmarksInImage with the 11 rotation hypotheses
  (`face00/clnf/input/bbox`, `face00/clnf/hNN/...`); a failed re-detection restores the previous state;
- with AU models (`load_openface_models(..., aus=True, au_dynamic=True)`), FaceAnalyser::AddNextFrame
  (`face00/au/...`, openface/au/video.py: running medians, dynamic models);
- then `face00/output/...` (landmarks, parameters, GetPose with the capture's default camera,
  certainty, success, likelihood, camera; and what FeatureExtraction writes to its CSV but the dumps
  do not hold: 3D landmarks, gaze, eye landmarks).
After the last frame, with AU models, one more item: the end-of-video post-processing of the AUs
(PostprocessOutputFile), named VIDEO_DUMP (`video`), its stages under `video/au/...`.

    frames = frames_of(folder_or_video)    # iterable of (name, BGR uint8), with .timestamp(i)
    for i, (name, out, trace) in enumerate(run_sequence(frames, models, recorder_for=lambda i, name: Recorder())):
        ...   # out: FaceOutput (None before a face is found); the last, name == VIDEO_DUMP: au.video.VideoAus
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.fitting.tracking import REINIT_VIDEO_EVERY, TrackingState, track_frame
from pyparity.pipelines.openface.image import (OpenFaceModels, eye_parts, face_outputs, fit_face,
                                               to_gray_u8)
from pyparity.conventions.intrinsics import openface_camera
from pyparity.pipelines.openface.outputs import FaceOutput, record_outputs
from pyparity.trace import NULL_RECORDER, StageRecorder

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")   # SequenceCapture::OpenImageFiles


VIDEO_DUMP = "video"        # the end-of-video item's name (a frame is named after its file or frameNNNN)
TIMESTAMPS = "video/au/history/timestamps"


def end_of_video_stages(reference, from_folder: bool) -> tuple[list[str], str]:
    """The `video` stages to compare with a reference's `video` dump, and a note naming what is left
    out. FeatureExtraction stamps a video's frames frame·(1/fps) and an image folder's 0, and the dump
    names its video (`input.file`, empty for a folder): between a video and a folder (its frames saved
    by `reference openface record --save-frames`) the time stamps cannot agree and are not compared."""
    ref_from_folder = not (getattr(reference, "meta", None) or {}).get("input", {}).get("file")
    if ref_from_folder == from_folder:
        return ["video/**"], ""
    kinds = ("a video", "an image folder") if from_folder else ("an image folder", "a video")
    return ([n for n in reference.names if n != TIMESTAMPS],
            f"time stamps not compared: the reference read {kinds[0]}, this run {kinds[1]}")


class FrameSource:
    """An image folder or a video: iterable of (name, BGR uint8), read lazily (an unreadable input is an
    InputError when iteration starts), and the time stamp SequenceCapture gives frame i."""

    def __init__(self, frames: Callable[[], Iterator[tuple[str, np.ndarray]]], fps: Callable[[], float] | None):
        self._frames, self._fps = frames, fps

    def __iter__(self) -> Iterator[tuple[str, np.ndarray]]:
        return self._frames()

    def timestamp(self, i: int) -> float:
        """SequenceCapture::CaptureThread: frame_num · (1 / fps) for a video (fps 30 where the container
        gives none), 0 for an image folder."""
        return 0.0 if self._fps is None else i * (1.0 / self._fps())


def _folder_images(d: Path) -> Iterator[tuple[str, np.ndarray]]:
    from pyparity.imageio import read_image_bgr

    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise InputError(f"{d}: no images (.jpg, .jpeg, .png, .bmp) in this folder")
    for p in files:
        yield p.name, read_image_bgr(p)


def image_folder_frames(folder: str | os.PathLike) -> FrameSource:
    """The folder's images in sorted name order (SequenceCapture sorts them), read as cv::imread."""
    d = Path(folder)
    return FrameSource(lambda: _folder_images(d), None)


def _video_fps(p: Path) -> float:
    import cv2

    cap = cv2.VideoCapture(str(p))
    try:
        fps = float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()
    return fps if fps == fps and fps > 0 else 30.0    # SequenceCapture::OpenVideoFile's fallback


def _video_images(p: Path) -> Iterator[tuple[str, np.ndarray]]:
    import cv2

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


def video_frames(path: str | os.PathLike) -> FrameSource:
    """Frames of a video file through cv2.VideoCapture (8-bit BGR), named frameNNNN."""
    p = Path(path)
    fps: list[float] = []

    def rate() -> float:
        if not fps:
            fps.append(_video_fps(p))
        return fps[0]

    return FrameSource(lambda: _video_images(p), rate)


def frames_of(source: str | os.PathLike) -> FrameSource:
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
                      rec: StageRecorder = NULL_RECORDER, level: int = 1) -> tuple[bool, TrackingState]:
    """LandmarkDetector::DetectLandmarksInVideo (MTCNN detector, reinit_video_every 2): returns the
    success it reports and the new state. Records in the caller's scope (`face00/`)."""
    if models.backend != "ccnf":
        raise InputError("tracking (openface-sequence) is implemented for the CCNF model only")
    initial_detection = not state.tracking_initialised
    if state.tracking_initialised:
        res, state = track_frame(gray, state, models.clnf, models.validator, rec, level=level if rec.enabled else 1)
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


def _finished(rec, body):
    """Run body() recording into rec; the finished trace (None when not recording), or rec aborted."""
    try:
        value = body()
        return value, rec.finish() if rec.enabled else None
    except BaseException:
        if rec.enabled:
            rec.abort()
        raise


def run_sequence(frames: Iterable[tuple[str, np.ndarray]], models: OpenFaceModels,
                 recorder_for: Callable[[int, str], object] | None = None, level: int = 1,
                 max_frames: int | None = None,
                 reference_for: Callable[[int], object] | None = None) -> Iterator[tuple[str, object, object]]:
    """Track face00 through `frames`; yields (frame name, FaceOutput or None, the frame's finished trace
    or None), and with AU models (models.au) a last item (VIDEO_DUMP, au.video.VideoAus, its trace).
    recorder_for(index, name) gives each frame's recorder (None: nothing recorded); the end of the video
    is recorder_for(number of frames, VIDEO_DUMP). reference_for(index) -> the reference frame's trace
    (or None): each tracked frame then starts from the reference's own initial parameters (per-frame
    stage isolation; the AUs run on the frame's own landmarks)."""
    from pyparity.pipelines.openface.au.video import VideoAuState, add_next_frame, postprocess

    timestamp = frames.timestamp if isinstance(frames, FrameSource) else (lambda i: 0.0)
    state, aus = TrackingState(), VideoAuState()
    meta = au_meta(models.au) if models.au is not None else None
    n = 0
    for i, (name, image) in enumerate(frames):
        if max_frames is not None and i >= max_frames:
            break
        if reference_for is not None:
            state = _reference_start(state, reference_for(i))
        rec = recorder_for(i, name) if recorder_for is not None else NULL_RECORDER
        if meta is not None:
            rec.update_meta(**meta)

        def frame():
            nonlocal state
            gray = to_gray_u8(image)
            h, w = gray.shape
            cam = openface_camera(w, h)
            out = None
            with rec.scope("face00"):
                success, state = track_video_frame(image, gray, state, models, rec, level)
                frame_aus = None
                if models.au is not None:
                    with rec.scope("au"):
                        # FeatureExtraction hands FaceAnalyser the model's landmarks and detection_success
                        frame_aus = add_next_frame(aus, image, state.landmarks_stacked, success, models.au, rec,
                                                   level=level, timestamp=timestamp(i))
                if state.has_landmarks:
                    # FeatureExtraction estimates gaze only after a successful frame (zeros otherwise)
                    out = face_outputs(_StateFit(state, success), models, cam, gaze=success)
                    out.aus = frame_aus
                    record_outputs(rec, out)
            return out

        out, trace = _finished(rec, frame)
        n = i + 1
        yield name, out, trace
    if models.au is not None and n:
        rec = recorder_for(n, VIDEO_DUMP) if recorder_for is not None else NULL_RECORDER
        rec.update_meta(**meta)

        def end():
            with rec.scope(VIDEO_DUMP):
                return postprocess(aus, models.au, rec)

        final, trace = _finished(rec, end)
        yield VIDEO_DUMP, final, trace


def au_meta(au_models) -> dict:
    """What a trace's meta.json says of the AU models: their files' sha256 (as the reference dumps list
    them) and, under parameters, the AU names in stage order (the diff's report labels presences)."""
    from pyparity.pipelines.openface.au.video import au_names

    reg, cls = au_names(au_models)
    return {"models": au_models.sha256,
            "parameters": {"au_dynamic": bool(au_models.dynamic), "au_reg_names": list(reg),
                           "au_class_names": list(cls)}}
