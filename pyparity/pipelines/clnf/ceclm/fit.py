"""CE-CLM landmark fitting from a face box, as FaceLandmarkImg -mloc model/main_ceclm_general.txt runs it
(LandmarkDetector::DetectLandmarksInImage -> DetectLandmarksInImageMultiHypEarlyTerm, OpenFace 2.0.2).

    model = load_ceclm_model(model_dir, cen_dir=None, early_term_path=None)
    res = fit_face_ceclm(gray_u8, bbox_xywh, model, rec)                        # CEN experts on the image
    res = fit_face_ceclm(None, bbox_xywh, model, rec, responses_from=ref)       # replay the reference's
                                                                                 # response maps (stage isolation)
Per rotation hypothesis (one, or the 11 of `-multi_view 1`): PDM::CalcParams from the box, a fit at the
first scale only (window sizes [11, 0, 0, 0], no parts, no validation), the early-termination test on
its likelihood; a hypothesis that passes is completed at once (windows [0, 9, 7, 5], part models, refit)
and kept. Otherwise the 3 most likely are completed and the best model likelihood kept.

C++ quirk kept on purpose: the stored local parameters of each hypothesis are shallow cv::Mat copies of
`clnf_model.params_local`, whose buffer the next hypothesis zeroes (`params_local.setTo(0.0)`) before
NU_RLMS gives the model a fresh buffer. So every stored hypothesis but the last one resumes from zero
local parameters (the `hNN/resume/params_local` records of images-multiview-full show it).

Records under the caller's scope (`faceNN/clnf/`): hNN/rotation_hypothesis, hNN/init/*,
hNN/first_scale/fit/..., hNN/early_term/*, [completion_order], hNN/resume/*, hNN/fit/...,
hNN/parts/..., hNN/parts_merged/*, hNN/refit/*, [hNN/validation/certainty if a validator is given],
early_terminated, best_hypothesis. Not faceNN/output/* (the pipeline's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.ceclm.model import CeclmModel, load_ceclm_model
from pyparity.pipelines.clnf.fitting.landmarks import ROTATION_HYPOTHESES, LandmarkResult, checked_box, parts_and_refit
from pyparity.pipelines.clnf.fitting.fit import ScaleResponse, TraceResponses, clnf_fit
from pyparity.trace import NULL_RECORDER, Recorder, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/clnf/h*/resume/*", "HypothesisFitter.complete",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypEarlyTerm",
          "the state the completing fit starts from"),
    Stage("face*/clnf/completion_order", "fit_face_ceclm",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypEarlyTerm",
          "without early termination: the hypotheses completed, best first"),
    Stage("face*/clnf/early_terminated", "fit_face_ceclm",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypEarlyTerm",
          "whether a hypothesis passed its cutoff"),
    Stage("face*/clnf/best_hypothesis", "fit_face_ceclm",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypEarlyTerm",
          "the hypothesis kept"),
)

__all__ = ["load_ceclm_model", "fit_face_ceclm", "CeclmResult", "CeclmModel", "CenResponses",
           "CenTraceResponses"]

FIRST_SCALE_WINDOWS = (11, 0, 0, 0)     # DetectLandmarksInImageMultiHypEarlyTerm: window_sizes_init, rest 0
MAX_COMPLETED = 3                       # "Pick 3 best hypotheses and complete them"
CEN_INTERNALS = (0, 30, 36)             # landmarks whose CEN internals the level-2 dumps record


@dataclass
class CeclmResult(LandmarkResult):
    best_hypothesis: int = 0
    early_terminated: bool = True
    view_id: int = 0
    # with a validator: the model's detection_certainty after DetectLandmarksInImage (the kept hypothesis's,
    # or without early termination the last completed one's, as C++ leaves it); None without
    detection_certainty: float | None = None

    @property
    def hypothesis(self) -> int:
        """The kept hypothesis (the name the image pipeline reads)."""
        return self.best_hypothesis


class _InternalsRecorder:
    """Proxy of the caller's recorder for a first-scale fit whose CEN internals are recorded: the
    reference records them after `fit/s0/{window_size, patch_scaling}` and before `responses`, while
    clnf_fit records those two after asking the response source. The source leaves the internals here
    (`pending`) and they are written just before the next `responses`, in the same scope."""

    enabled = True

    def __init__(self, rec: StageRecorder):
        self._rec = rec
        self.pending: list[tuple[str, np.ndarray]] = []

    @property
    def prefix(self) -> str:
        return self._rec.prefix

    def scope(self, prefix: str):
        return self._rec.scope(prefix)

    def save(self, name: str, value) -> None:
        if name == "responses" and self.pending:
            for n, v in self.pending:
                self._rec.save(n, v)
            self.pending = []
        self._rec.save(name, value)

    def update_meta(self, **kw) -> None:
        self._rec.update_meta(**kw)


class CenResponses:
    """ResponseSource (fit.py) for the CEN experts: Patch_experts::Response on the image. With
    `internals` and an _InternalsRecorder, the CEN internals of those landmarks (`cen/...`) are
    computed and handed to it to be recorded in the reference's place."""

    def __init__(self, experts, pdm, gray_f32, rec: StageRecorder | None = None, internals=()):
        self.experts = experts
        self.pdm = pdm
        self.gray = gray_f32
        self.rec = rec
        self.internals = tuple(internals)
        self.patch_scaling = list(experts.patch_scaling)

    def __call__(self, scale, window_size, params_global, params_local, landmarks_stacked) -> ScaleResponse:
        ref_g = np.array([self.patch_scaling[scale], 0, 0, 0, 0, 0], dtype=np.float32)
        ref_shape = self.pdm.calc_shape_2d(params_local, ref_g)
        if self.internals and self.rec is not None:
            mem = Recorder()
            r = self.experts.response(self.gray, landmarks_stacked, ref_shape, params_global, window_size, scale,
                                      mem, self.internals)
            got = mem.finish()
            self.rec.pending = [(n, got[n]) for n in got.names]
        else:
            r = self.experts.response(self.gray, landmarks_stacked, ref_shape, params_global, window_size, scale)
        v = int(r.view_id)
        vis, conf = _visibility_confidence(self.experts, scale, v)
        return ScaleResponse(r.responses, r.sim_ref_to_img, r.sim_img_to_ref, v, vis, conf)


def _visibility_confidence(experts, scale: int, view: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int32 visibilities and (n,) float64 confidences of one scale and view, built once per experts."""
    cache = experts.__dict__.setdefault("_ceclm_vis_conf", {})
    key = (scale, view)
    if key not in cache:
        vis = np.array(experts.visibility(scale, view), dtype=np.int32).reshape(-1)
        conf = np.array(experts.confidence(scale, view), dtype=np.float64).reshape(-1)
        vis.flags.writeable = conf.flags.writeable = False      # shared by every call
        cache[key] = (vis, conf)
    return cache[key]


class CenTraceResponses(TraceResponses):
    """Replays the reference's CEN response maps (`<prefix>fit/sK/responses`, sim transforms, view id),
    with visibility and confidences from the CEN experts (a visible CEN map can be all zeros only in
    theory; the experts say which landmarks are visible)."""

    def __init__(self, trace, prefix, experts):
        super().__init__(trace, prefix, None)
        self.cen = experts
        self.patch_scaling = list(experts.patch_scaling)

    def __call__(self, scale, window_size, params_global, params_local, landmarks_stacked) -> ScaleResponse:
        r = super().__call__(scale, window_size, params_global, params_local, landmarks_stacked)
        vis, conf = _visibility_confidence(self.cen, scale, r.view_id)
        return ScaleResponse(r.responses, r.sim_ref_to_img, r.sim_img_to_ref, r.view_id, vis, conf)


class HypothesisFitter:
    """One face: the response sources and the two DetectLandmarks calls of the early-termination path."""

    def __init__(self, gray_u8, model: CeclmModel, rec: StageRecorder, responses_from, trace_prefix, level, validator):
        self.model = model
        self.rec = rec
        self.ref = responses_from
        self.tp = trace_prefix
        self.level = level
        self.validator = validator
        self.gray_u8 = gray_u8
        self.gray = None if gray_u8 is None else np.asarray(gray_u8).astype(np.float32)

    def source(self, prefix: str, rec: StageRecorder | None = None, internals=()):
        if self.ref is not None:
            return CenTraceResponses(self.ref, prefix, self.model.experts)
        return CenResponses(self.model.experts, self.model.clnf.pdm, self.gray, rec, internals)

    def first_scale(self, h: int, g, loc, resume=None):
        """DetectLandmarks with window sizes [11, 0, 0, 0], no parts, no validation (hNN/first_scale/);
        resume: a fit.FitResume inside that scale (stage isolation)."""
        rec = self.rec
        src = self.source(f"{self.tp}h{h:02d}/first_scale/")
        if self.level >= 2 and rec.enabled and self.ref is None:
            rec = _InternalsRecorder(rec)
            src = self.source(f"{self.tp}h{h:02d}/first_scale/", rec, CEN_INTERNALS)
        with rec.scope("first_scale"):
            return clnf_fit(self.model.clnf.pdm, src, g, loc, FIRST_SCALE_WINDOWS, self.model.clnf.settings,
                            rec=rec, level=self.level, resume=resume)

    def complete(self, h: int, g, loc, scales=None, resume=None, record_start: bool = True):
        """DetectLandmarks with window sizes [0, 9, 7, 5], the part models and (if given) the validator.
        scales / resume: only these scales / from inside one (fit.clnf_fit; stage isolation, then the
        starting state is the reference's and `resume/*` is not recorded).
        Returns (CLNF fit result, params_global, params_local, landmarks, certainty or None,
        {part name: PartState})."""
        clnf = self.model.clnf
        ws = (0,) + tuple(clnf.window_sizes[1:])
        rec = self.rec
        if rec.enabled and record_start:
            rec.save("resume/params_global", np.asarray(g, dtype=np.float32).copy())
            rec.save("resume/params_local", np.asarray(loc, dtype=np.float32).reshape(-1, 1))
            rec.save("resume/window_sizes", np.asarray(ws, dtype=np.int32))
        prefix = f"{self.tp}h{h:02d}/"
        res = clnf_fit(clnf.pdm, self.source(prefix), g, loc, ws, clnf.settings, rec=rec, level=self.level,
                       scales=scales, resume=resume)
        g2, loc2, lm = res.params_global, res.params_local, res.landmarks_stacked
        # the hierarchical part models, merge and refit: the CCNF path's own code
        g2, loc2, lm, parts = parts_and_refit(self.gray, clnf, g2, loc2, lm, rec=rec, responses_from=self.ref,
                                              trace_prefix=prefix, level=self.level)
        certainty = None
        if self.validator is not None and self.gray_u8 is not None:
            # CLNF::DetectLandmarks' tail with validate_detections on (tracking.validate: the CNN
            # validator when the fit succeeded, records `validation/certainty`)
            from pyparity.pipelines.clnf.fitting.tracking import validate
            certainty, _ = validate(self.validator, self.gray_u8,
                                    LandmarkResult(res.success, lm, g2, loc2, res.model_likelihood, None), rec)
        return res, g2, loc2, lm, certainty, parts


def fit_face_ceclm(gray_u8, bbox_xywh, model: CeclmModel, rec: StageRecorder = NULL_RECORDER, *, multi_view: bool = False,
                   responses_from=None, trace_prefix: str = "face00/clnf/", level: int = 2,
                   validator=None) -> CeclmResult:
    """CE-CLM landmarks of one face from its box (DetectLandmarksInImageMultiHypEarlyTerm).

    gray_u8: (H, W) uint8 grayscale (None only with responses_from); bbox_xywh: (4,) x, y, w, h;
    multi_view: the 11 rotation hypotheses of `-multi_view 1` instead of the frontal one;
    responses_from: a reference Trace whose response maps replace the CEN and part experts
    (`trace_prefix` is this face's `faceNN/clnf/` in it); validator: an optional
    validator.DetectionValidator run after every completion (`hNN/validation/certainty`).
    Returns the kept hypothesis's landmarks (after the part refit) as a CeclmResult."""
    if gray_u8 is None and responses_from is None:
        raise InputError("fit_face_ceclm needs an image (or responses_from=<reference trace>)")
    if gray_u8 is not None:
        g8 = np.asarray(gray_u8)
        if g8.ndim != 2 or g8.dtype != np.uint8:
            raise InputError(f"fit_face_ceclm needs a 2-D uint8 grayscale image, got {g8.dtype} {g8.shape}")
    b = checked_box(bbox_xywh, None if gray_u8 is None else np.asarray(gray_u8).shape)
    pdm = model.clnf.pdm
    f = HypothesisFitter(gray_u8, model, rec, responses_from, trace_prefix, level, validator)
    hyps = ROTATION_HYPOTHESES if multi_view else ((0.0, 0.0, 0.0),)
    stored = []      # (likelihood, params_global, params_local) of the hypotheses that did not pass
    done = None
    for h, rot in enumerate(hyps):
        with rec.scope(f"h{h:02d}"):
            rot64 = np.asarray(rot, dtype=np.float64).reshape(3)
            if rec.enabled:
                rec.save("rotation_hypothesis", rot64.copy())
            loc0 = np.zeros(pdm.n_modes, dtype=np.float32)
            g0 = pdm.calc_params_from_box(b, loc0, rot64)
            if rec.enabled:
                rec.save("init/params_global", g0.copy())
                rec.save("init/params_local", loc0.reshape(-1, 1))
                rec.save("init/window_sizes", np.asarray(FIRST_SCALE_WINDOWS, dtype=np.int32))
            fs = f.first_scale(h, g0, loc0)
            d = model.early_term.decide(fs.model_likelihood, fs.view_id)
            if rec.enabled:
                with rec.scope("early_term"):
                    d.record(rec)
            if d.passes:
                done = (h,) + f.complete(h, fs.params_global, fs.params_local)
                break
            stored.append((d.likelihood, fs.params_global.copy(), fs.params_local.copy()))
    if done is not None:
        h, res, g, loc, lm, cert, parts = done
        early = True
    else:
        early = False
        order = _completion_order([s[0] for s in stored])
        if rec.enabled:
            rec.save("completion_order", np.asarray(order, dtype=np.int32))
        done = None
        for i in order:
            lh, g_s, loc_s = stored[i]
            # the shallow-copy quirk: only the last hypothesis's stored buffer was not zeroed since
            loc_start = loc_s if i == len(stored) - 1 else np.zeros_like(loc_s)
            with rec.scope(f"h{i:02d}"):
                out = f.complete(i, g_s, loc_start)
            if done is None or done[1].model_likelihood < out[0].model_likelihood:
                done = (i,) + out
            last_cert = out[4]
        h, res, g, loc, lm, cert, parts = done
        # C++ restores the best completion's parameters, landmarks and detection_success, but not its
        # detection_certainty: the model keeps the last completion's
        success = fit_succeeded(res, cert)
        cert = last_cert
    if rec.enabled:
        rec.save("early_terminated", np.int32(early))
        rec.save("best_hypothesis", np.int32(h))
    if early:
        success = fit_succeeded(res, cert)
    return CeclmResult(success, lm, g, loc, res.model_likelihood, res.landmark_likelihoods, parts,
                       best_hypothesis=h, early_terminated=early, view_id=res.view_id,
                       detection_certainty=None if cert is None else float(cert))


def _completion_order(likelihoods) -> list[int]:
    from pyparity.pipelines.clnf.ceclm.early_termination import completion_order
    return completion_order(likelihoods, MAX_COMPLETED)


def fit_succeeded(res, certainty) -> bool:
    """CLNF::DetectLandmarks' detection_success: the validator's verdict when it ran, else the fit's."""
    return bool(res.success) if certainty is None else bool(res.success and certainty > _validation_boundary())


def _validation_boundary() -> np.float32:
    """FaceModelParameters::validation_boundary (0.725 for CE-CLM as for CCNF), as tracking.validate."""
    from pyparity.pipelines.clnf.fitting.tracking import VALIDATION_BOUNDARY
    return np.float32(VALIDATION_BOUNDARY)
