"""FaceLandmarkImg: MTCNN, then for every face the CLNF fit, the detection validator and the reported
outputs (exe/FaceLandmarkImg/FaceLandmarkImg.cpp with main_clnf_general.txt).

    models = load_openface_models(model_dir, aus=True)       # CLNF (or CE-CLM), validator, MTCNN folder, AU models
    faces = run_image(image_bgr, models, rec=rec)            # list[FaceOutput], one per MTCNN face

Stages, as the reference dumps name them: `mtcnn/...`, then per face `faceNN/clnf/input/bbox`,
`faceNN/clnf/input/gray` (level 2), `faceNN/clnf/hNN/...` (the fit), `faceNN/clnf/hNN/validation/certainty`,
`faceNN/output/...` (outputs.py), and with AU models `faceNN/au/...` (openface/au/static.py: FaceAnalyser's
PredictStaticAUsAndComputeFeatures on the image and the reported landmarks, for every face).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.conventions.intrinsics import Camera, openface_camera
from pyparity.errors import InputError, ModelError, TraceError
from pyparity.pipelines.openface.outputs import (FaceOutput, eye_gaze, gaze_angle,
                                                 head_pose, record_outputs, shape_3d_camera)
from pyparity.trace import NULL_RECORDER, StageRecorder, StageRef
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/clnf/input/bbox", "fit_face", "LandmarkDetectorFunc.cpp: DetectLandmarksInImage",
          "the face box given to the fit"),
    Stage("face*/clnf/input/gray", "fit_face", "LandmarkDetectorFunc.cpp: DetectLandmarksInImage",
          "the grayscale image the fit runs on (level 2)"),
)

BOX_STAGES = ("box", "clnf/input/bbox")


@dataclass
class OpenFaceModels:
    """What FaceLandmarkImg loads: the landmark model (CCNF `main_clnf_general.txt` or CE-CLM), the
    CNN detection validator, and the folder MTCNN reads its networks from."""

    model_dir: Path
    backend: str                 # "ccnf" | "ceclm"
    clnf: object                 # clnf.fitting.landmarks.ClnfModel, or CE-CLM's model object
    validator: object | None     # clnf.validator.DetectionValidator
    _ceclm_fit: object = field(default=None, repr=False)
    au: object | None = None     # openface.au.AuModels: FaceAnalyser's models (None: no AUs)

    @property
    def pdm(self):
        return self.clnf.pdm

    @property
    def parts(self) -> list:
        return list(getattr(self.clnf, "parts", []) or [])


def _resolve_model_dir(model_dir) -> Path:
    if model_dir is not None:
        return Path(model_dir)
    try:
        from pyparity.models import openface_model_dir
    except ImportError:
        raise ModelError("no model_dir given and the model manager is not available") from None
    return Path(openface_model_dir())


def load_openface_models(model_dir: str | os.PathLike | None = None, backend: str = "ccnf",
                         cen_dir: str | os.PathLike | None = None,
                         early_term: str | os.PathLike | None = None, *, aus: bool = False,
                         au_dir: str | os.PathLike | None = None, au_dynamic: bool = False) -> OpenFaceModels:
    """Load the landmark model and validator from an OpenFace model folder (None: the model manager's);
    with `aus`, FaceAnalyser's AU models from `au_dir` (OpenFace's AU_predictors folder; None: the model
    manager's): FaceLandmarkImg's static ones, or with `au_dynamic` FeatureExtraction's (static and
    dynamic, for a sequence)."""
    from pyparity.pipelines.clnf.validator.cnn import read_validator

    d = _resolve_model_dir(model_dir)
    if backend == "ccnf":
        from pyparity.pipelines.clnf.fitting.landmarks import load_clnf_model

        main = d / "main_clnf_general.txt"
        if not main.is_file():
            raise ModelError(f"{main}: no such model file (give the OpenFace model folder)", param="model_dir")
        clnf = load_clnf_model(main)
        fit = None
    elif backend == "ceclm":
        try:
            from pyparity.pipelines.clnf.ceclm.fit import fit_face_ceclm, load_ceclm_model
        except ImportError as exc:
            raise InputError(f"the CE-CLM pipeline is not available ({exc})", param="model", value=backend) from None
        clnf = load_ceclm_model(d, cen_dir=cen_dir, early_term_path=early_term)
        fit = fit_face_ceclm
    else:
        raise InputError(f"unknown landmark model {backend!r} (choose ccnf or ceclm)", param="model")
    vpath = getattr(getattr(clnf, "main", None), "validator", None) or d / "detection_validation" / "validator_cnn.txt"
    if not Path(vpath).is_file():
        raise ModelError(f"{vpath}: no such validator file")
    au = None
    if aus:
        from pyparity.pipelines.openface.au import load_au_models

        au = load_au_models(au_dir, dynamic=au_dynamic)
    return OpenFaceModels(d, backend, clnf, read_validator(vpath), fit, au)


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """Utilities::ConvertToGrayscale_8bit on what cv::imread(IMREAD_COLOR) returns: cvtColor BGR2GRAY
    (an (H, W) uint8 image is already gray)."""
    import cv2

    a = np.asarray(image)
    if a.dtype != np.uint8:
        raise InputError(f"expected an 8-bit image, got {a.dtype} (read files with pyparity.imageio.read_image_bgr)")
    if a.ndim == 2:
        return np.ascontiguousarray(a)
    if a.ndim == 3 and a.shape[2] == 1:
        return np.ascontiguousarray(a[:, :, 0])
    if a.ndim == 3 and a.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGR2GRAY)
    if a.ndim == 3 and a.shape[2] == 4:
        return cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_BGRA2GRAY)
    raise InputError(f"expected an (H, W) or (H, W, 3) image, got shape {a.shape}")


@dataclass
class FaceFit:
    """The CLNF model's state after DetectLandmarksInImage (+ validation) for one face."""

    result: object                    # LandmarkResult of the kept hypothesis
    hypothesis: int
    detection_certainty: np.float32
    detection_success: bool
    eyes: dict = field(default_factory=dict)   # eye part name -> (params_global, params_local, landmarks, PDM)


def _validate(models: OpenFaceModels, gray: np.ndarray, res, rec) -> tuple[np.float32, bool]:
    from pyparity.pipelines.clnf.fitting.tracking import validate

    return validate(models.validator, gray, res, rec)


def eye_parts(models: OpenFaceModels, result, ref=None, ref_prefix: str = "") -> dict:
    """The eye part models' (params_global, params_local, landmarks, PDM) after the fit, for gaze: the
    result's part states (clnf.fitting.landmarks.PartState). With `ref`, an eye part this run did not fit (stage
    isolation after the parts) comes from the reference's stages under `ref_prefix` (`faceNN/clnf/hNN/`):
    its fitted parameters, else PDM::CalcParams of its input landmarks (as DetectLandmarks)."""
    out = {}
    states = getattr(result, "parts", None) or {}
    for part, ppdm in models.parts:
        if part.name not in ("left_eye_28", "right_eye_28"):
            continue
        st = states.get(part.name)
        p = f"{ref_prefix}parts/{part.name}/"
        if st is not None:
            g, loc, lm = st.params_global, st.params_local, st.landmarks_stacked
        elif ref is not None and p + "output/landmarks_stacked" in ref:
            lm = ref[p + "output/landmarks_stacked"]
            if p + "fit/params_global" in ref:
                g, loc = ref[p + "fit/params_global"], ref[p + "fit/params_local"]
            else:
                g, loc = ppdm.calc_params_from_landmarks(np.asarray(ref[p + "input/landmarks_stacked"]).reshape(-1))
        else:
            continue
        out[part.name] = (np.asarray(g, np.float32).reshape(6), np.asarray(loc, np.float32).reshape(-1),
                          np.asarray(lm, np.float32).reshape(-1), ppdm)
    return out


def fit_face(gray: np.ndarray, bbox_xywh, models: OpenFaceModels, rec: StageRecorder = NULL_RECORDER, multi_view: bool = False,
             level: int = 2) -> FaceFit:
    """LandmarkDetector::DetectLandmarksInImage (+ the validator in every hypothesis's DetectLandmarks)
    from one face box. Records `input/bbox`, `input/gray` (level 2), `hNN/...` in the caller's scope
    (`faceNN/clnf`)."""
    box = np.asarray(bbox_xywh, dtype=np.float64).reshape(-1)
    if rec.enabled:
        rec.save("input/bbox", box.copy())
        if level >= 2:
            rec.save("input/gray", gray)
    fit_level = level if rec.enabled else 1
    if models.backend == "ceclm":
        # CE-CLM runs the validator after every completed hypothesis itself (hNN/validation/certainty);
        # its detection_certainty is what C++ leaves in the model (without early termination the last
        # completed hypothesis's, not the kept one's)
        res = models._ceclm_fit(gray, box, models.clnf, rec, multi_view=multi_view, level=fit_level,
                                validator=models.validator)
        hyp = int(getattr(res, "hypothesis", 0))
        cert = getattr(res, "detection_certainty", None)
        if cert is None:   # the fit failed (or no validator): DetectLandmarks' certainty 1 / 0
            cert = 1.0 if (res.success and models.validator is None) else 0.0
        return FaceFit(res, hyp, np.float32(cert), bool(res.success), eye_parts(models, res))

    from pyparity.pipelines.clnf.fitting.landmarks import ROTATION_HYPOTHESES, fit_landmarks

    hyps = ROTATION_HYPOTHESES if multi_view else ((0.0, 0.0, 0.0),)
    best = None
    for i, rot in enumerate(hyps):
        res = fit_landmarks(gray, box, models.clnf, rec=rec, hypothesis=i, rotation=rot, level=fit_level)
        with rec.scope(f"h{i:02d}"):
            cert, ok = _validate(models, gray, res, rec)
        # DetectLandmarksInImageMultiHypBasic: the first of the most likely hypotheses
        if best is None or best.result.model_likelihood < res.model_likelihood:
            best = FaceFit(res, i, cert, ok, eye_parts(models, res))
    return best


def face_outputs(fit: FaceFit, models: OpenFaceModels, cam: Camera, gaze: bool = True) -> FaceOutput:
    """What FaceLandmarkImg or FeatureExtraction reports for a fitted face. Gaze is EstimateGaze's when
    `gaze` (FeatureExtraction: only after a successful frame, zeros otherwise)."""
    r = fit.result
    g = np.asarray(r.params_global, np.float32).reshape(6)
    loc = np.asarray(r.params_local, np.float32).reshape(-1)
    lm = np.asarray(r.landmarks_stacked, np.float32).reshape(-1)
    pose = head_pose(models.pdm, g, loc, lm, cam)
    out = FaceOutput(lm, g, loc, pose, fit.detection_certainty, fit.detection_success, np.float32(r.model_likelihood),
                     cam)
    s3 = shape_3d_camera(models.pdm, g, loc, lm, cam)
    out.landmarks_3d = s3
    names = [p.name for p, _ in models.parts if p.name in fit.eyes]
    if names:
        # CalculateAllEyeLandmarks: the eye parts' landmarks in model order, as (x, y) points
        pts = [fit.eyes[n][2].reshape(2, -1) for n in names]
        out.eye_landmarks_stacked = np.concatenate([np.concatenate([q[0] for q in pts]),
                                                    np.concatenate([q[1] for q in pts])]).astype(np.float32)
    if "left_eye_28" in fit.eyes and "right_eye_28" in fit.eyes:
        if gaze:
            gz = []
            for name, left in (("left_eye_28", True), ("right_eye_28", False)):
                pg, pl, plm, ppdm = fit.eyes[name]
                gz.append(eye_gaze(s3, shape_3d_camera(ppdm, pg, pl, plm, cam), pose, left))
            out.gaze = np.concatenate(gz + [gaze_angle(gz[0], gz[1])]).astype(np.float32)
        else:
            out.gaze = np.zeros(8, dtype=np.float32)
    return out


def _reference_boxes(ref) -> np.ndarray:
    boxes = []
    for i in range(1000):
        name = f"face{i:02d}/clnf/input/bbox"
        if name not in ref:
            break
        boxes.append(np.asarray(ref[name], dtype=np.float64).reshape(4))
    if not boxes:
        raise TraceError(f"{getattr(ref, 'source', 'reference')}: no faceNN/clnf/input/bbox stage to start from")
    return np.stack(boxes)


def run_image(image: np.ndarray, models: OpenFaceModels, rec: StageRecorder = NULL_RECORDER,
              start: StageRef | None = None, multi_view: bool = False, level: int = 2,
              boxes_xywh=None) -> list[FaceOutput]:
    """FaceLandmarkImg on one image: (H, W, 3) uint8 BGR (as cv::imread gives it) or (H, W) uint8 gray.

    start: where to start from the reference (`StageRef`): stage `au` runs only the AUs (models.au), of every face the reference
    holds, from its landmarks (`faceNN/au/input/landmarks_stacked`, else `faceNN/output/landmarks_stacked`);
    `box` (or `clnf/input/bbox`) takes every face's box from the reference instead of running MTCNN; an MTCNN start stage (`mtcnn/pnet/merged`, ...) starts MTCNN
    there; a `faceNN/clnf/...` stage starts that face's fit from the reference's own state (when the
    CLNF package provides `fit_from_reference`). boxes_xywh: (N, 4) face boxes to fit instead of
    detecting (no MTCNN stages). No face: an empty list (nothing under `faceNN/`).
    """
    from pyparity.pipelines.mtcnn import START_STAGES, detect

    img = np.asarray(image)
    gray = to_gray_u8(img)
    h, w = gray.shape
    cam = openface_camera(w, h)
    ref, stage = (start.reference, start.stage) if start is not None else (None, None)
    if stage in AU_STAGES:
        return _aus_from_reference(img, models, ref, rec)
    face_start = None
    if boxes_xywh is not None:
        if stage is not None:
            raise InputError("give either face boxes or a reference stage to start from, not both", param="start",
                             value=stage)
        boxes = np.asarray(boxes_xywh, dtype=np.float64).reshape(-1, 4)
    elif stage is None or stage in START_STAGES or stage.startswith("mtcnn/"):
        det = detect(img if img.ndim == 3 else gray, model_dir=models.model_dir, rec=rec, start=start)
        boxes = np.asarray(det.boxes_xywh, dtype=np.float32).astype(np.float64).reshape(-1, 4)
    elif stage in BOX_STAGES or (stage.endswith("clnf/input/bbox") and stage.startswith("face")):
        boxes = _reference_boxes(ref)
    elif _FACE_START.match(stage) or _HYP_START.match(stage):
        boxes = _reference_boxes(ref)
        face_start = stage
    else:
        raise TraceError(f"cannot start from here: choose box, an MTCNN stage ({', '.join(START_STAGES)}), "
                         "faceNN/clnf/hNN/... or hNN/... (every face), or au (the AUs from the reference's landmarks)",
                         param="start", value=stage)
    faces = []
    for i, box in enumerate(boxes):
        fprefix = f"face{i:02d}"
        with rec.scope(fprefix):
            with rec.scope("clnf"):
                rel = _relative_start(face_start, fprefix)
                if rel is not None:
                    fit = _fit_from_reference(ref, fprefix, rel, gray, box, models, rec, level)
                else:
                    fit = fit_face(gray, box, models, rec, multi_view=multi_view, level=level)
            out = face_outputs(fit, models, cam)
            record_outputs(rec, out)
            if models.au is not None:
                out.aus = _face_aus(img, out.landmarks_stacked, models, rec)
        faces.append(out)
    return faces


AU_STAGES = ("au", "au/input")


def _face_aus(image: np.ndarray, landmarks_stacked: np.ndarray, models: OpenFaceModels, rec):
    """PredictStaticAUsAndComputeFeatures(rgb_image, detected_landmarks) in the caller's `faceNN` scope."""
    from pyparity.pipelines.openface.au import predict_static_aus

    with rec.scope("au"):
        return predict_static_aus(image, landmarks_stacked, models.au, rec)


def reference_landmarks(ref) -> list[np.ndarray]:
    """Every face's landmarks in a reference dump, for AUs from the reference (`--start au`):
    `faceNN/au/input/landmarks_stacked`, else `faceNN/output/landmarks_stacked`; (2n,) float32 each."""
    out = []
    for i in range(1000):
        for name in (f"face{i:02d}/au/input/landmarks_stacked", f"face{i:02d}/output/landmarks_stacked"):
            if name in ref:
                out.append(np.asarray(ref[name], dtype=np.float32).reshape(-1))
                break
        else:
            break
    if not out:
        raise TraceError(f"{getattr(ref, 'source', 'reference')}: no faceNN/au/input/landmarks_stacked or "
                         "faceNN/output/landmarks_stacked stage to start the AUs from")
    return out


def _aus_from_reference(image: np.ndarray, models: OpenFaceModels, ref, rec) -> list[FaceOutput]:
    """`--start au`: the AU stages of every face of the reference, from its landmarks (stage isolation:
    nothing of MTCNN or the fit runs)."""
    if models.au is None:
        raise InputError("needs the AU models (the run was asked to skip the action units)", param="start",
                         value="au")
    faces = []
    for i, lm in enumerate(reference_landmarks(ref)):
        with rec.scope(f"face{i:02d}"):
            out = FaceOutput.from_landmarks(lm)
            out.aus = _face_aus(image, lm, models, rec)
        faces.append(out)
    return faces


_FACE_START = re.compile(r"^(face\d\d)/clnf/(h\d\d/.+|h\d\d)$")
_HYP_START = re.compile(r"^h\d\d(/.+)?$")


def _relative_start(start: str | None, fprefix: str) -> str | None:
    """The start point inside face `fprefix`'s fit (`hNN/...`), or None when this face runs normally."""
    if start is None:
        return None
    m = _FACE_START.match(start)
    if m is not None:
        return m.group(2) if m.group(1) == fprefix else None
    return start if _HYP_START.match(start) else None


def _fit_from_reference(ref, fprefix: str, start: str, gray, box, models: OpenFaceModels, rec, level: int) -> FaceFit:
    """Stage isolation inside a face's fit: clnf.fitting.landmarks.fit_from_reference starts at `start` (`hNN/init`,
    `hNN/fit/sK[/rigid|nonrigid/itNN]`, `hNN/parts[/<name>]`, `hNN/refit`) from the reference's own
    state; the validator and the outputs then run as usual (eye parts the run did not refit come from
    the reference)."""
    from pyparity.pipelines.clnf.fitting import landmarks as clnf_detect

    if models.backend == "ceclm":
        from pyparity.pipelines.clnf.ceclm.isolation import ceclm_fit_from_reference
        if rec.enabled:
            rec.save("input/bbox", np.asarray(box, np.float64).copy())
        res = ceclm_fit_from_reference(ref, fprefix + "/clnf/", start, models.clnf, gray, rec,
                                       level=level if rec.enabled else 1, validator=models.validator)
        hyp = res.best_hypothesis
        cert = 0.0 if res.detection_certainty is None else res.detection_certainty
        return FaceFit(res, hyp, np.float32(cert), bool(res.success),
                       eye_parts(models, res, ref, f"{fprefix}/clnf/h{hyp:02d}/"))
    if models.backend != "ccnf" or not hasattr(clnf_detect, "fit_from_reference"):
        raise InputError("starting inside the fit is not available for this model; start at box or an MTCNN stage",
                         param="start", value=start)
    if rec.enabled:
        rec.save("input/bbox", np.asarray(box, np.float64).copy())
    res = clnf_detect.fit_from_reference(ref, fprefix + "/clnf/", start, models.clnf, gray, rec,
                                         level=level if rec.enabled else 1)
    hyp = int(start[1:3])
    with rec.scope(f"h{hyp:02d}"):
        cert, ok = _validate(models, gray, res, rec)
    return FaceFit(res, hyp, cert, ok, eye_parts(models, res, ref, f"{fprefix}/clnf/h{hyp:02d}/"))
