"""CLNF::Fit: the scale loop (responses, per-scale adapted settings, rigid then non-rigid NU-RLMS).

Response sources (stage isolation): `ExpertResponses` computes CCNF responses from the image with the
patch experts (patch_experts.py); `TraceResponses` replays the reference's own response maps, similarity
transforms and view ids from a dump, so the optimiser can be checked on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol, Sequence

import numpy as np

from pyparity.errors import TraceError
from pyparity.pipelines.clnf import scopes
from pyparity.pipelines.clnf.numerics.lapack_threads import single_thread_lapack
from pyparity.pipelines.clnf.fitting.nu_rlms import nu_rlms, weight_matrix_diag
from pyparity.pipelines.clnf.model.pdm import PDM
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("fit/s*/window_size", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit", "the response window of scale K"),
    Stage("fit/s*/patch_scaling", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit", "the patch experts' scale K"),
    Stage("fit/s*/responses", "clnf_fit", "Patch_experts.cpp: Patch_experts::Response",
          "patch-expert response maps (n, ws, ws); zeros where a landmark is hidden"),
    Stage("fit/s*/sim_ref_to_img", "clnf_fit", "Patch_experts.cpp: Patch_experts::Response",
          "similarity from the reference shape to the image"),
    Stage("fit/s*/sim_img_to_ref", "clnf_fit", "Patch_experts.cpp: Patch_experts::Response", "its inverse"),
    Stage("fit/s*/view_id", "clnf_fit", "Patch_experts.cpp: Patch_experts::GetViewIdx", "the view the experts use"),
    Stage("fit/s*/reg_factor", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit", "the regularisation of scale K"),
    Stage("fit/s*/sigma", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit", "the KDE sigma of scale K"),
    Stage("fit/s*/weight_factor", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit",
          "the NU-RLMS weight factor of scale K"),
    Stage("fit/s*/base_shape_stacked", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit",
          "landmarks at the start of scale K, stacked (2n, 1)"),
    Stage("fit/s*/params_global", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit",
          "global parameters after scale K"),
    Stage("fit/s*/params_local", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::Fit", "local parameters after scale K"),
    Stage("fit/success", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks", "whether the fit converged"),
    Stage("fit/params_global", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "global parameters after the fit"),
    Stage("fit/params_local", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "local parameters after the fit"),
    Stage("fit/landmarks_stacked", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "landmarks after the fit, stacked (2n, 1)"),
    Stage("fit/model_likelihood", "clnf_fit", "LandmarkDetectorModel.cpp: CLNF::DetectLandmarks",
          "the fit's model likelihood"),
    prefixes=scopes.FIT,
)

_f = np.float32


@dataclass
class FitSettings:
    """The FaceModelParameters that CLNF::Fit reads (float32 in C++)."""

    reg_factor: float = 25.0
    sigma: float = 1.5
    weight_factor: float = 0.0
    refine_parameters: bool = True
    num_optimisation_iteration: int = 5


@dataclass
class ScaleResponse:
    responses: np.ndarray        # (n, ws, ws) float32
    sim_ref_to_img: np.ndarray   # (2, 2) float32
    sim_img_to_ref: np.ndarray   # (2, 2) float32
    view_id: int
    visible: np.ndarray          # (n,) int32 visibilities[scale][view_id]
    confidences: np.ndarray | None = None   # (n,) patch confidences (needed when weight_factor > 0)


class ResponseSource(Protocol):
    patch_scaling: list[float]

    def __call__(self, scale: int, window_size: int, params_global: np.ndarray, params_local: np.ndarray,
                 landmarks_stacked: np.ndarray) -> ScaleResponse: ...


class ExpertResponses:
    """Patch_experts::Response on an image (gray_f32: (H, W) float32 of the 8-bit grayscale image)."""

    def __init__(self, experts, pdm: PDM, gray_f32: np.ndarray):
        self.experts = experts
        self.pdm = pdm
        self.gray = gray_f32
        self.patch_scaling = list(experts.patch_scaling)

    def __call__(self, scale, window_size, params_global, params_local, landmarks_stacked) -> ScaleResponse:
        ref_g = np.array([self.patch_scaling[scale], 0, 0, 0, 0, 0], dtype=np.float32)
        ref_shape = self.pdm.calc_shape_2d(params_local, ref_g)
        with single_thread_lapack():   # Sigma (window 11) is computed on first use, by sposv
            r = self.experts.response(self.gray, landmarks_stacked, ref_shape, params_global, window_size, scale)
        vis, conf = _visibility_confidence(self.experts, scale, int(r.view_id))
        return ScaleResponse(r.responses, r.sim_ref_to_img, r.sim_img_to_ref, int(r.view_id), vis, conf)


def _visibility_confidence(experts, scale: int, view: int) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int32 visibilities and (n,) float64 patch confidences of one scale and view of CCNF experts,
    built once per experts object (read-only: shared by every fit)."""
    cache = experts.__dict__.setdefault("_fit_vis_conf", {})
    key = (scale, view)
    if key not in cache:
        vis = np.asarray(experts.visibility(scale, view), dtype=np.int32).copy()
        conf = np.array([e.patch_confidence for e in experts.scales[scale].experts[view]], dtype=np.float64)
        vis.flags.writeable = conf.flags.writeable = False
        cache[key] = (vis, conf)
    return cache[key]


class TraceResponses:
    """Replays `<prefix>fit/sK/{responses, sim_ref_to_img, sim_img_to_ref, view_id, patch_scaling}`.

    Visibility is read from the responses (the reference zeroes invisible landmarks' maps; CCNF
    responses of visible ones are strictly positive). Confidences come from `experts` if given, else
    from the dump's weight matrix divided by the scale's weight factor (only needed for weighted parts)."""

    def __init__(self, trace, prefix: str, experts=None):
        self.t = trace
        self.prefix = prefix
        self.experts = experts
        if experts is not None:
            self.patch_scaling = list(experts.patch_scaling)
        else:
            ps = []
            for k in range(16):
                name = f"{prefix}fit/s{k}/patch_scaling"
                ps.append(float(trace[name]) if name in trace else None)
            while ps and ps[-1] is None:
                ps.pop()
            # a scale that did not run (tracking skips s0) keeps NaN: Fit reads only the running scale's
            ps = [float("nan") if p is None else p for p in ps]
            self.patch_scaling = ps

    def __call__(self, scale, window_size, params_global, params_local, landmarks_stacked) -> ScaleResponse:
        p = f"{self.prefix}fit/s{scale}/"  # K is the patch scale index (tracking starts at s1)
        name = p + "responses"
        if name not in self.t:
            raise TraceError(f"reference trace has no {name}")
        resp = np.asarray(self.t[name], dtype=np.float32)
        if resp.shape[1] != window_size:
            raise TraceError(f"{name}: window {resp.shape[1]} in the trace, {window_size} expected")
        vis = (np.abs(resp).reshape(resp.shape[0], -1).max(axis=1) > 0).astype(np.int32)
        view = int(self.t[p + "view_id"])
        conf = None
        if self.experts is not None:
            sc = self.experts.scales[scale]
            vis = np.asarray(self.experts.visibility(scale, view), dtype=np.int32)
            conf = np.array([e.patch_confidence for e in sc.experts[view]], dtype=np.float64)
        else:
            wf = float(self.t[p + "weight_factor"])
            if wf > 0:
                wd = np.asarray(self.t[p + "nonrigid/weight_matrix_diag"], dtype=np.float64).reshape(-1)
                conf = wd[:resp.shape[0]] / wf
        return ScaleResponse(resp, np.asarray(self.t[p + "sim_ref_to_img"], dtype=np.float32),
                             np.asarray(self.t[p + "sim_img_to_ref"], dtype=np.float32), view, vis, conf)


@dataclass
class FitResult:
    success: bool
    params_global: np.ndarray     # (6,) float32
    params_local: np.ndarray      # (m,) float32
    landmarks_stacked: np.ndarray  # (2n,) float32
    model_likelihood: np.float32
    landmark_likelihoods: np.ndarray | None
    view_id: int = 0
    scales: list = field(default_factory=list)


def adapted_settings(settings: FitSettings, patch_scaling: list[float], scale: int) -> tuple[np.float32, np.float32, np.float32]:
    """Per-scale reg_factor, sigma, weight_factor (CLNF::Fit, refine_parameters): float32 each."""
    reg, sig, wf = _f(settings.reg_factor), _f(settings.sigma), _f(settings.weight_factor)
    if not settings.refine_parameters:
        return reg, sig, wf
    smax = 2 if scale >= 2 else scale
    l2 = math.log(patch_scaling[smax] / 0.25) / math.log(2)
    reg = _f(float(reg) - 15 * l2)
    if reg <= 0:
        reg = _f(0.001)
    sig2 = _f(float(sig) + 0.25 * l2)
    wf2 = _f(float(wf) + 2 * float(wf) * l2)
    return reg, sig2, wf2


@dataclass
class FitResume:
    """Start CLNF::Fit inside a scale's NU_RLMS loop (stage isolation from a recorded iteration).

    The scale `scale` computes its responses and base shape from clnf_fit's params (the state at the
    scale's start, as C++ does), then runs `phase` ('rigid' or 'nonrigid') from `iteration` with these
    parameters (that iteration's input); 'nonrigid' skips the rigid phase. previous_shape, dxs, dys:
    iteration-1's shape_stacked, dxs, dys (see nu_rlms). rigid_params_global: for a 'nonrigid' resume,
    the parameters the rigid phase ended with (C++ decides whether this is the last scale, which
    computes the likelihoods, from their scale); None: the resume parameters."""

    scale: int
    phase: str
    iteration: int
    params_global: np.ndarray
    params_local: np.ndarray
    previous_shape: np.ndarray | None = None
    dxs: np.ndarray | None = None
    dys: np.ndarray | None = None
    rigid_params_global: np.ndarray | None = None


def clnf_fit(pdm: PDM, source: ResponseSource, params_global, params_local, window_sizes,
             settings: FitSettings | None = None, *, rec: StageRecorder = NULL_RECORDER, level: int = 2,
             scales: Sequence[int] | None = None, resume: FitResume | None = None) -> FitResult:
    """CLNF::Fit from the given parameters. window_sizes: one per patch scale (0 skips the scale).

    scales: if given, only these patch-scale indices run (the others behave as window size 0, exactly
    as C++ Fit called with those windows zeroed: e.g. CE-CLM's first scale `[0]` = windows [11,0,0,0],
    its resume `[1, 2, 3]` = [0,9,7,5]); stages are still recorded as `sK` with the absolute K, and the
    last running scale computes the likelihoods. None runs every scale with a non-zero window.

    resume: start inside scale `resume.scale` (which must run; earlier scales are skipped), see FitResume.

    Records `fit/sK/...` and `fit/{success,params_global,params_local,landmarks_stacked,model_likelihood}`
    inside the caller's scope. Returns the fitted parameters and CalcShape2D landmarks."""
    settings = settings or FitSettings()
    g = np.asarray(params_global, dtype=np.float32).reshape(6).copy()
    loc = np.asarray(params_local, dtype=np.float32).reshape(-1).copy()
    n = pdm.n_points
    ps = source.patch_scaling
    num_scales = len(ps)
    ws_all = [int(w) for w in window_sizes] + [0] * max(0, num_scales - len(window_sizes))
    if scales is not None:
        keep = {int(k) for k in scales}
        ws_all = [w if k in keep else 0 for k, w in enumerate(ws_all)]
    if resume is not None:
        if resume.phase not in ("rigid", "nonrigid"):
            raise ValueError(f"resume phase must be 'rigid' or 'nonrigid', not {resume.phase!r}")
        if not 0 <= resume.scale < num_scales or ws_all[resume.scale] == 0:
            raise ValueError(f"resume scale {resume.scale} does not run (window sizes {ws_all})")
        ws_all = [w if k >= resume.scale else 0 for k, w in enumerate(ws_all)]
    model_ll = np.float32(0)
    lhoods = None
    success = True
    view_id = 0
    with rec.scope("fit"):
        for scale in range(num_scales):
            ws = int(ws_all[scale])
            if ws == 0:
                continue
            cur = pdm.calc_shape_2d(loc, g)
            r = source(scale, ws, g, loc, cur)
            reg, sig, wf = adapted_settings(settings, ps, scale)
            view_id = r.view_id
            with rec.scope(f"s{scale}"):
                if rec.enabled:
                    rec.save("window_size", np.int32(ws))
                    rec.save("patch_scaling", np.float64(ps[scale]))
                    rec.save("responses", r.responses)
                    rec.save("sim_ref_to_img", r.sim_ref_to_img)
                    rec.save("sim_img_to_ref", r.sim_img_to_ref)
                    rec.save("view_id", np.int32(r.view_id))
                    rec.save("reg_factor", reg)
                    rec.save("sigma", sig)
                    rec.save("weight_factor", wf)
                    rec.save("base_shape_stacked", cur.reshape(-1, 1))
                w = weight_matrix_diag(n, wf, r.confidences)
                here = resume if resume is not None and resume.scale == scale else None
                kw = {}
                if here is not None:
                    g = np.asarray(here.params_global, dtype=np.float32).reshape(6).copy()
                    loc = np.asarray(here.params_local, dtype=np.float32).reshape(-1).copy()
                    kw = dict(start_iteration=here.iteration, previous_shape=here.previous_shape, dxs=here.dxs,
                              dys=here.dys)
                if here is None or here.phase == "rigid":
                    with rec.scope("rigid"):
                        res = nu_rlms(pdm, r.responses, g, loc, cur, r.sim_img_to_ref, r.sim_ref_to_img, ws, r.visible,
                                      w, reg_factor=reg, sigma=sig, rigid=True, compute_lhood=False,
                                      n_iterations=settings.num_optimisation_iteration, rec=rec, level=level, **kw)
                    g, loc = res.params_global, res.params_local
                    kw = {}
                g_rigid = g
                if here is not None and here.phase == "nonrigid" and here.rigid_params_global is not None:
                    g_rigid = np.asarray(here.rigid_params_global, dtype=np.float32).reshape(6)
                last = scale == num_scales - 1 or ws_all[scale + 1] == 0 or g_rigid[0] < 0.30
                with rec.scope("nonrigid"):
                    res = nu_rlms(pdm, r.responses, g, loc, cur, r.sim_img_to_ref, r.sim_ref_to_img, ws, r.visible, w,
                                  reg_factor=reg, sigma=sig, rigid=False, compute_lhood=last,
                                  n_iterations=settings.num_optimisation_iteration, rec=rec, level=level, **kw)
                g, loc = res.params_global, res.params_local
                if last:
                    model_ll = res.loglikelihood
                    lhoods = res.landmark_likelihoods
                if rec.enabled:
                    rec.save("params_global", g.copy())
                    rec.save("params_local", loc.reshape(-1, 1))
            if g[0] < 0.25:
                # "Face too small for landmark detection"
                success = False
                break
        lm = pdm.calc_shape_2d(loc, g)
        if rec.enabled:
            rec.save("success", np.int32(success))
            rec.save("params_global", g.copy())
            rec.save("params_local", loc.reshape(-1, 1))
            rec.save("landmarks_stacked", lm.reshape(-1, 1))
            rec.save("model_likelihood", np.float32(model_ll))
    return FitResult(success, g, loc, lm, np.float32(model_ll), lhoods, view_id)
