"""Public CLNF API: fit 68 landmarks in an image from a face box (LandmarkDetector::DetectLandmarksInImage
with one rotation hypothesis, as FaceLandmarkImg with main_clnf_general.txt).

    model = load_clnf_model(model_dir / "main_clnf_general.txt")
    res = fit_landmarks(gray_u8, bbox_xywh, model=model, rec=rec)                 # experts compute responses
    res = fit_landmarks(None, bbox_xywh, model=model, responses_from=ref_trace)  # replay the reference's
                                                                                  # response maps (stage isolation)
    res = fit_from_reference(ref_trace, "face00/clnf/", "h00/fit/s1", model, gray_u8, rec)  # stage isolation
                                                                                  # from a recorded point
Records `faceNN/clnf/...`-relative stages under the caller's scope: `hNN/rotation_hypothesis`,
`hNN/init/...`, `hNN/fit/...`, `hNN/parts/<name>/...`, `hNN/parts_merged/...`, `hNN/refit/...`.
Landmarks are `landmarks_stacked` (2n,) float32 [x0..xn-1, y0..yn-1] in OpenCV pixel coordinates.
On the OpenFace 2.0.2 image dumps every recorded stage is bit-identical with the reference's responses
(tests/pipelines/clnf/fitting/test_nu_rlms.py), and from the image with our own responses within 3.1e-5 px
(tests/pipelines/clnf/fitting/test_landmarks_e2e.py).
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.fitting.fit import ExpertResponses, FitResume, FitSettings, TraceResponses, clnf_fit
from pyparity.pipelines.clnf.fitting.parts import PartSpec, fit_part, merge_and_refit
from pyparity.pipelines.clnf.experts.patch_experts import gray_to_float
from pyparity.pipelines.clnf.model.pdm import PDM, read_pdm
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("face*/clnf/h*/rotation_hypothesis", "fit_landmarks",
          "LandmarkDetectorFunc.cpp: DetectLandmarksInImageMultiHypBasic",
          "the initial rotation of hypothesis NN"),
    Stage("face*/clnf/h*/init/*", "fit_landmarks", "PDM.cpp: PDM::CalcParams",
          "parameters from the box and the window sizes, before fitting (CE-CLM: ceclm.fit_face_ceclm)"),
)


@dataclass
class ClnfModel:
    pdm: PDM
    main: object                       # model_files.MainModel
    window_sizes: tuple[int, ...] = (11, 9, 7, 5)
    settings: FitSettings = field(default_factory=FitSettings)
    parts: list = field(default_factory=list)   # [(PartModel, PDM)]
    _experts: dict = field(default_factory=dict, repr=False)

    def load_experts(self) -> "ClnfModel":
        """Read every patch expert file now (main model and parts) instead of on first use, so a
        corrupt or missing file is reported (ModelError naming it) before any fitting. Returns self."""
        self.experts("main", self.main)
        for part, _ in self.parts:
            self.experts(part.name, part.model)
        return self

    def experts(self, key, files):
        """Patch experts, loaded on first use (key: 'main' or a part name)."""
        if key not in self._experts:
            from pyparity.pipelines.clnf.experts.patch_experts import load_patch_experts
            self._experts[key] = load_patch_experts(files)
        return self._experts[key]


def load_clnf_model(main_path: str | Path) -> ClnfModel:
    """Read main_clnf_general.txt (model_files.read_main_model) and every PDM it names."""
    from pyparity.errors import ModelError
    from pyparity.pipelines.clnf.model.files import read_main_model
    main = read_main_model(main_path)
    pdm = read_pdm(main.clnf.pdm)
    parts = [(p, read_pdm(p.model.clnf.pdm)) for p in main.parts]
    for p, ppdm in parts:
        for mi, pi in p.mappings:
            if not (0 <= mi < pdm.n_points and 0 <= pi < ppdm.n_points):
                raise ModelError(f"{main_path}: part {p.name} maps landmark {mi} -> {pi}, outside the PDMs "
                                 f"({pdm.n_points} and {ppdm.n_points} points)")
    return ClnfModel(pdm, main, parts=parts)


@dataclass(frozen=True)
class PartState:
    """A hierarchical part model's state after CLNF::DetectLandmarks (gaze reads the eyes'): its fitted
    parameters, or PDM::CalcParams of its input landmarks when it was not fitted, and its landmarks."""
    params_global: np.ndarray       # (6,) float32
    params_local: np.ndarray        # (m_part,) float32
    landmarks_stacked: np.ndarray   # (2·n_part,) float32


@dataclass
class LandmarkResult:
    success: bool
    landmarks_stacked: np.ndarray   # (2n,) float32
    params_global: np.ndarray       # (6,) float32
    params_local: np.ndarray        # (m,) float32
    model_likelihood: np.float32
    landmark_likelihoods: np.ndarray | None
    parts: dict = field(default_factory=dict)   # part name -> PartState, for the parts this run fitted


def checked_box(bbox, shape) -> np.ndarray:
    b = np.asarray(bbox, dtype=np.float64).reshape(-1)
    if b.size != 4 or not np.all(np.isfinite(b)):
        raise InputError(f"face box must be 4 finite numbers x,y,w,h, got {b.tolist()}")
    if b[2] <= 0 or b[3] <= 0:
        raise InputError(f"face box has zero or negative size: {b.tolist()}")
    if shape is not None:
        h, w = shape[:2]
        if b[0] >= w or b[1] >= h or b[0] + b[2] <= 0 or b[1] + b[3] <= 0:
            raise InputError(f"face box {b.tolist()} lies outside the {w}x{h} image")
    return b


def _part_spec(model: ClnfModel, part, ppdm, responses_from, trace_prefix: str):
    """PartSpec and response-source factory of one hierarchical part."""
    pp = part.parameters
    settings = FitSettings(pp.reg_factor, pp.sigma, pp.weight_factor, pp.refine_parameters)
    pprefix = f"{trace_prefix}parts/{part.name}/"
    experts = None
    if responses_from is None or pp.weight_factor > 0 or f"{pprefix}fit/s0/patch_scaling" not in responses_from:
        experts = model.experts(part.name, part.model)
    ps0 = experts.patch_scaling[0] if experts is not None else float(responses_from[f"{pprefix}fit/s0/patch_scaling"])
    spec = PartSpec(part.name, ppdm, part.mappings, tuple(pp.window_sizes_init), settings, ps0)
    return spec, experts, pprefix


def parts_and_refit(gray_f32, model: ClnfModel, params_global, params_local, landmarks_stacked, *,
                    rec: StageRecorder = NULL_RECORDER, responses_from=None, trace_prefix: str = "", level: int = 2,
                    only: str | None = None,
                    reference=None, reference_prefix: str = ""):
    """The hierarchical part of CLNF::DetectLandmarks after Fit: every part model from the main
    landmarks, then (if any part was fitted) merge + PDM::CalcParams refit. Returns (params_global,
    params_local, landmarks_stacked) float32 (the main fit's own when no part was used) and
    {part name: PartState} of the parts run here.

    only: fit just this part; the others' outputs (and whether they were fitted) come from
    `reference` (a Trace, its stages under `reference_prefix`), for stage isolation of one part."""
    g, loc, lm = params_global, params_local, landmarks_stacked
    states: dict[str, PartState] = {}
    if not model.parts:
        return g, loc, lm, states
    fitted = []
    any_used = False
    for part, ppdm in model.parts:
        spec, experts, pprefix = _part_spec(model, part, ppdm, responses_from, trace_prefix)
        if only is not None and part.name != only:
            rp = f"{reference_prefix}parts/{part.name}/"
            plm = np.asarray(reference[rp + "output/landmarks_stacked"], dtype=np.float32).reshape(-1)
            used = rp + "init/params_global" in reference
        else:
            def factory(spec, experts=experts, pprefix=pprefix):
                if responses_from is not None:
                    return TraceResponses(responses_from, pprefix, experts)
                return ExpertResponses(experts, spec.pdm, gray_f32)

            with rec.scope(f"parts/{part.name}"):
                plm, used, pg, ploc = fit_part(spec, lm, g[0], model.pdm.n_points, factory, rec, level)
            states[part.name] = PartState(pg, ploc, plm)
        any_used |= used
        fitted.append((spec, plm))
    if any_used:
        g, loc, lm = merge_and_refit(model.pdm, lm, fitted, rec)
    return g, loc, lm, states


def detect_landmarks(gray_f32, model: ClnfModel, params_global, params_local, window_sizes, *,
                     rec: StageRecorder = NULL_RECORDER, responses_from=None, trace_prefix: str = "",
                     parts: bool = True, level: int = 2,
                     scales=None, resume=None) -> LandmarkResult:
    """CLNF::DetectLandmarks from given parameters: Fit, hierarchical parts, merge + refit (no validator).

    gray_f32: (H, W) float32 image (None with responses_from); params_global (6,), params_local (m,)
    float32; window_sizes: per patch scale (0 = skip). Records fit/..., parts/..., parts_merged/...,
    refit/... in the caller's scope; `trace_prefix` is where the same stages sit in responses_from.
    scales: only these patch-scale indices of the main fit run (clnf_fit's `scales`); None: all.
    resume: start inside a scale's NU-RLMS loop (fit.FitResume)."""
    pdm = model.pdm
    if responses_from is not None:
        src = TraceResponses(responses_from, trace_prefix)
    else:
        src = ExpertResponses(model.experts("main", model.main), pdm, gray_f32)
    res = clnf_fit(pdm, src, params_global, params_local, window_sizes, model.settings, rec=rec, level=level,
                   scales=scales, resume=resume)
    g, loc, lm = res.params_global, res.params_local, res.landmarks_stacked
    states = {}
    if parts:
        g, loc, lm, states = parts_and_refit(gray_f32, model, g, loc, lm, rec=rec, responses_from=responses_from,
                                             trace_prefix=trace_prefix, level=level)
    return LandmarkResult(res.success, lm, g, loc, res.model_likelihood, res.landmark_likelihoods, states)


def fit_landmarks(image, bbox_xywh, model: ClnfModel, rec: StageRecorder = NULL_RECORDER, *, responses_from=None,
                  trace_prefix: str = "face00/clnf/h00/", hypothesis: int = 0, rotation=(0.0, 0.0, 0.0),
                  parts: bool = True, level: int = 2) -> LandmarkResult:
    """CLNF landmark fitting from a box with one rotation hypothesis (DetectLandmarksInImage's loop body).

    image: (H, W) uint8 grayscale (needed unless responses_from is given); bbox_xywh (4,) float64;
    rotation: the initial Euler angles (float64, as cv::Vec3d). responses_from: a reference Trace whose
    `<trace_prefix>fit/sK/responses` (and the parts') replace the patch experts. Records under
    `hNN/` in the caller's scope. Does not run the detection validator (validator.py)."""
    shape = None if image is None else np.asarray(image).shape
    if image is None and responses_from is None:
        raise InputError("fit_landmarks needs an image (or responses_from=<reference trace>)")
    if image is not None and np.asarray(image).dtype != np.uint8:
        raise InputError(f"CLNF fits an 8-bit grayscale image (as OpenFace converts it), got {np.asarray(image).dtype}")
    b = checked_box(bbox_xywh, shape)
    gray_f32 = None if image is None else gray_to_float(np.asarray(image))
    pdm = model.pdm
    rot = np.asarray(rotation, dtype=np.float64).reshape(3)
    with rec.scope(f"h{hypothesis:02d}"):
        if rec.enabled:
            rec.save("rotation_hypothesis", rot.copy())
        loc0 = np.zeros(pdm.n_modes, dtype=np.float32)
        g0 = pdm.calc_params_from_box(b, loc0, rot)
        if rec.enabled:
            rec.save("init/params_global", g0)
            rec.save("init/params_local", loc0.reshape(-1, 1))
            rec.save("init/window_sizes", np.asarray(model.window_sizes, dtype=np.int32))
        return detect_landmarks(gray_f32, model, g0, loc0, model.window_sizes, rec=rec, responses_from=responses_from,
                                trace_prefix=trace_prefix, parts=parts, level=level)


# FeatureExtraction's multi_view hypotheses (DetectLandmarksInImage, cv::Vec3d radians)
ROTATION_HYPOTHESES = ((0, 0, 0), (0, -0.5236, 0), (0, 0.5236, 0), (0, -0.96, 0), (0, 0.96, 0), (0, 0, 0.5236),
                       (0, 0, -0.5236), (0, -1.57, 0), (0, 1.57, 0), (0, -1.22, 0.698), (0, 1.22, -0.698))


def fit_landmarks_multi(image, bbox_xywh, model: ClnfModel, rec: StageRecorder = NULL_RECORDER, *, responses_from=None,
                        trace_prefix: str = "face00/clnf/", hypotheses=ROTATION_HYPOTHESES, level: int = 2):
    """DetectLandmarksInImageMultiHypBasic: every hypothesis, keep the first with the highest
    model likelihood (strictly greater replaces). Returns (best LandmarkResult, its index)."""
    best, best_i = None, -1
    for i, rot in enumerate(hypotheses):
        r = fit_landmarks(image, bbox_xywh, model, rec, responses_from=responses_from,
                          trace_prefix=f"{trace_prefix}h{i:02d}/", hypothesis=i, rotation=rot, parts=True, level=level)
        if best is None or best.model_likelihood < r.model_likelihood:
            best, best_i = r, i
    return best, best_i


_START_RE = re.compile(r"^(?:h(\d\d)/)?(init|fit/s(\d+)(?:/(rigid|nonrigid)/it(\d\d))?|parts(?:/([A-Za-z0-9_.-]+))?"
                       r"|refit)$")

START_NAMES_HELP = ("box, hNN/init, hNN/fit/sK, hNN/fit/sK/rigid/itNN, hNN/fit/sK/nonrigid/itNN, hNN/parts, "
                    "hNN/parts/<part name>, hNN/refit (without hNN/ for tracking-mode frames)")


def _ref_array(ref, name: str, start: str) -> np.ndarray:
    if name not in ref:
        raise InputError(f"cannot start at {start!r}: the reference has no {name}")
    return np.asarray(ref[name])


def _scale_start(ref, hp: str, k: int, start: str) -> tuple[np.ndarray, np.ndarray]:
    """The parameters scale k starts from in the reference: the last earlier scale's, else init."""
    for j in range(k - 1, -1, -1):
        if f"{hp}fit/s{j}/params_global" in ref:
            return (np.asarray(ref[f"{hp}fit/s{j}/params_global"], dtype=np.float32),
                    np.asarray(ref[f"{hp}fit/s{j}/params_local"], dtype=np.float32).reshape(-1))
    return (_ref_array(ref, hp + "init/params_global", start).astype(np.float32),
            _ref_array(ref, hp + "init/params_local", start).astype(np.float32).reshape(-1))


def iteration_resume(ref, hp: str, k: int, phase: str, it: int, start: str, g0, loc0) -> FitResume:
    """FitResume at `fit/sK/<phase>/itNN`: that iteration's input parameters from the reference."""
    sp = f"{hp}fit/s{k}/"
    _ref_array(ref, f"{sp}{phase}/it{it:02d}/shape_stacked", start)   # the point must have been recorded
    rigid_last = None
    if phase == "nonrigid":
        n_rigid = int(_ref_array(ref, sp + "rigid/iterations", start))
        rigid_last = f"{sp}rigid/it{n_rigid - 1:02d}/" if n_rigid > 0 else None
    if it > 0:
        prev = f"{sp}{phase}/it{it - 1:02d}/"
        g, loc = ref[prev + "params_global"], ref[prev + "params_local"]
        kw = dict(previous_shape=ref[prev + "shape_stacked"], dxs=ref[prev + "dxs"], dys=ref[prev + "dys"])
    elif rigid_last is not None:
        g, loc, kw = ref[rigid_last + "params_global"], ref[rigid_last + "params_local"], {}
    else:
        g, loc, kw = g0, loc0, {}
    rigid_g = ref[rigid_last + "params_global"] if rigid_last is not None else (g0 if phase == "nonrigid" else None)
    return FitResume(k, phase, it, np.asarray(g, dtype=np.float32), np.asarray(loc, dtype=np.float32).reshape(-1),
                     rigid_params_global=rigid_g, **kw)


def fit_from_reference(ref_trace, face_prefix: str, start: str, model: ClnfModel, gray_u8=None,
                       rec: StageRecorder = NULL_RECORDER, level: int = 2) -> LandmarkResult:
    """Stage isolation: run the CLNF fitting from the reference's own state at a recorded point.

    ref_trace: a reference Trace (e.g. an OpenFace dump); face_prefix: where that face's CLNF stages
    sit, e.g. "face00/clnf/". gray_u8: the (H, W) uint8 grayscale image; None replays the reference's
    own response maps (then every scale and part that runs must have them). Records, in the caller's
    scope, the stages from the start point on under the reference's names (`hNN/fit/...`,
    `hNN/parts/...`, `hNN/parts_merged/...`, `hNN/refit/...`).

    start (names relative to face_prefix):
      box                          from `input/bbox` (PDM::CalcParams, then everything), as h00
      hNN/init                     from the reference's `hNN/init/*` parameters and window sizes
      hNN/fit/sK                   scale K onwards, from the parameters scale K-1 ended with (init for
                                   the first scale)
      hNN/fit/sK/rigid/itNN        inside scale K: responses and base shape from the scale's start
      hNN/fit/sK/nonrigid/itNN     state, then that phase from iteration NN's input parameters (the
                                   reference's iteration NN-1 output), the rest of the scale, the later
                                   scales, parts and refit
      hNN/parts                    every part model from the reference's `hNN/fit/*`, then merge + refit
      hNN/parts/<name>             that part only (the others' outputs from the reference), merge + refit
      hNN/refit                    PDM::CalcParams from the reference's `hNN/parts_merged/landmarks_stacked`
    The same names without `hNN/` address tracking-mode frames, whose stages sit directly under the
    face prefix (e.g. face_prefix "face00/", start "fit/s1"; tracking fits from `init/*`, the previous
    frame's parameters). Anything else (or a point the reference did not record) raises InputError."""
    if gray_u8 is None:
        responses_from, gray_f32 = ref_trace, None
    else:
        if np.asarray(gray_u8).dtype != np.uint8:
            raise InputError(f"CLNF fits an 8-bit grayscale image, got {np.asarray(gray_u8).dtype}")
        responses_from = None
        gray_f32 = gray_to_float(np.asarray(gray_u8))
    if start == "box":
        bbox = _ref_array(ref_trace, face_prefix + "input/bbox", start)
        return fit_landmarks(gray_u8, bbox, model, rec, responses_from=responses_from, trace_prefix=face_prefix + "h00/",
                             level=level)
    m = _START_RE.match(start)
    if m is None:
        raise InputError(f"unknown start point {start!r}; accepted: {START_NAMES_HELP}")
    hyp, what, k, phase, it, part = m.groups()
    hp = face_prefix if hyp is None else f"{face_prefix}h{hyp}/"
    ref = ref_trace
    with (nullcontext() if hyp is None else rec.scope(f"h{hyp}")):
        if what == "init" or what.startswith("fit/"):
            ws = _ref_array(ref, hp + "init/window_sizes", start).astype(np.int32).reshape(-1)
            if what == "init":
                g0 = _ref_array(ref, hp + "init/params_global", start).astype(np.float32)
                loc0 = _ref_array(ref, hp + "init/params_local", start).astype(np.float32).reshape(-1)
                return detect_landmarks(gray_f32, model, g0, loc0, ws, rec=rec, responses_from=responses_from,
                                        trace_prefix=hp, level=level)
            k = int(k)
            _ref_array(ref, f"{hp}fit/s{k}/window_size", start)
            g0, loc0 = _scale_start(ref, hp, k, start)
            resume = None if phase is None else iteration_resume(ref, hp, k, phase, int(it), start, g0, loc0)
            scales = [j for j in range(k, len(ws))]
            return detect_landmarks(gray_f32, model, g0, loc0, ws, rec=rec, responses_from=responses_from,
                                    trace_prefix=hp, level=level, scales=scales, resume=resume)
        success = bool(int(_ref_array(ref, hp + "fit/success", start)))
        ll = np.float32(_ref_array(ref, hp + "fit/model_likelihood", start))
        if what.startswith("parts"):
            names = [p.name for p, _ in model.parts]
            if part is not None and part not in names:
                raise InputError(f"unknown part {part!r} in start point {start!r}; the model's parts: {names}")
            if part is not None:
                _ref_array(ref, f"{hp}parts/{part}/input/landmarks_stacked", start)
            g = _ref_array(ref, hp + "fit/params_global", start).astype(np.float32)
            loc = _ref_array(ref, hp + "fit/params_local", start).astype(np.float32).reshape(-1)
            lm = _ref_array(ref, hp + "fit/landmarks_stacked", start).astype(np.float32).reshape(-1)
            g, loc, lm, states = parts_and_refit(gray_f32, model, g, loc, lm, rec=rec, responses_from=responses_from,
                                                 trace_prefix=hp, level=level, only=part, reference=ref,
                                                 reference_prefix=hp)
            return LandmarkResult(success, lm, g, loc, ll, None, states)
        merged = _ref_array(ref, hp + "parts_merged/landmarks_stacked", start).astype(np.float32).reshape(-1)
        g, loc = model.pdm.calc_params_from_landmarks(merged, fast=not rec.enabled)
        lm = model.pdm.calc_shape_2d(loc, g)
        if rec.enabled:
            rec.save("refit/params_global", g.copy())
            rec.save("refit/params_local", loc.reshape(-1, 1))
            rec.save("refit/landmarks_stacked", lm.reshape(-1, 1))
        return LandmarkResult(success, lm, g, loc, ll, None)
