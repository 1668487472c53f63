"""CEN patch experts (OpenFace 2.0.2 CEN_patch_expert.cpp, Patch_experts::Read_CEN_patch_experts and
the CEN branch of Patch_experts::Response): reader, writer, responses, mirroring.

API
---
Files (one `cen_patches_*.dat` per scale): read_cen_patch_experts, write_cen_patch_experts,
build_cen_scale and the dataclasses CenScale, CenExpert, CenLayer are cen_format's (documented
there), re-exported here.

One expert (the same shape of interface as `ccnf.ccnf_response`: an area of interest in, a ws x ws
float32 response map out):

    landmark_response(sc, view_id, landmark, aoi, partner_aoi=None) -> (ws, ws) float32
        # one landmark's map with the mirroring rules (the partner's patch for frontal pairs)
    cen_response(expert, aoi) -> (ws, ws) float32               # CEN_patch_expert::Response (dense)
    cen_response_sparse(expert, aoi_left, aoi_right=None)        # CEN_patch_expert::ResponseSparse
        -> (resp_left | None, resp_right | None), each (ws, ws) float32
    aoi: (ws + height_support - 1, ws + width_support - 1) float32, the warped image around the
    landmark (Patch_experts::Response's warpAffine). `aoi_right` is the patch around the mirror
    partner *before* the flip: the expert is applied to its horizontal flip and the map is flipped
    back, so resp_right is in the partner's own (unflipped) frame.

All landmarks of one scale (what Patch_experts::Response does with CEN experts):

    cen_scale_responses(sc, aois, view_id, window_size, rec: StageRecorder = NULL_RECORDER, internals=())
        aois: (n, A, A) float32 areas of interest of every landmark (A = ws + 10 for 11x11 experts;
        only the rows of `landmarks_needing_aoi(sc, view_id)` are read)
        -> (n, ws, ws) float32; maps of landmarks that C++ leaves untouched (invisible) are zeros
    cen_areas_of_interest(gray_f32, landmarks_stacked, sim_ref_to_img, landmarks, aoi_size, use_cv2=False)
        -> (L, A, A) float32 (cv::warpAffine(WARP_INVERSE_MAP | INTER_LINEAR) exactly as C++; by
        default the compiled copy of it, `aoi.warp_areas`; the same function as aoi.areas_of_interest)
    experts = CenPatchExperts.from_files(paths)     # drop-in for patch_experts.PatchExperts:
    experts.n_scales, .patch_scaling, .n_landmarks, .visibility(s, v), .view_index(pg, s),
    experts.response(gray_f32, landmarks_stacked, reference_shape_stacked, params_global,
                     window_size, scale, rec: StageRecorder = NULL_RECORDER, internals=()) -> patch_experts.PatchResponse
    experts.confidence(scale, view) -> (n,) float64 (CEN_patch_expert::confidence; weight_factor only)

`internals` names landmarks whose CEN internals are recorded under `cen/lmNN/*` (plus
`cen/interp_matrix` first), as the level-2 reference dumps do for landmarks (0, 30, 36) of the
first-scale call; the caller opens the `fit/sK` scope and records `responses` etc. itself.

Mirroring (Patch_experts::Response): in the frontal view (view 0) a landmark whose expert is empty is
skipped; a stored landmark with a mirror partner (`mirror_inds[l] != l`) computes both maps in one
call, the partner's on its flipped patch. In other views an empty expert of a visible landmark is
replaced by `experts[mirror_views[v]][mirror_inds[l]]` on the flipped own patch. Calls run in
landmark order and a later call overwrites an earlier one's map (the sequential order in which the
reference dumps were recorded; C++ runs them in parallel, which only matters for files that store
both landmarks of a frontal pair). `mirror_inds`/`mirror_views` are members of C++'s Patch_experts
that every CEN file overwrites: CenPatchExperts uses the last file's for every scale, as C++ does.

Arithmetic is the reference's bit for bit (checked against the level-2 dumps): float32 im2col with
the sparse contrast normalisation of im2colBiasSparseContrastNorm; each layer the float32 sgemm of
OpenBLAS 0.3.21's Haswell kernel (the emulation shared with the CCNF experts, `f32kernels.sgemm_row_*`;
measured there for K <= 290 -- trained CEN files' 500/200-unit layers are beyond what was measured),
then `+ bias` in float, then the activation (sigmoid `1.0f/(1.0f + expf(-x))` with glibc's expf);
the interpolation to the full grid as OpenCV's float gemm (products summed in double).
All 68 landmarks of one scale run in one compiled call (`scale_kernel`): one whole
CenPatchExperts.response takes about 0.6 ms for window 11 and 0.3 ms for window 5 with the synthetic
experts on this machine (warps and similarity transform included).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.experts.aoi import areas_of_interest
# the file format, re-exported so that `from pyparity.pipelines.clnf.experts.cen import ...` keeps working
from pyparity.pipelines.clnf.experts.cen_format import (CenExpert, CenLayer, CenScale, build_cen_scale,  # noqa: F401
                                                read_cen_patch_experts, write_cen_patch_experts)
from pyparity.pipelines.clnf.experts.cen_kernels import (dense_layer, im2col_dense_cn, im2col_sparse_cn, interp_to_grid,
                                                 interpolation_matrix, interpolation_tables, scale_kernel)
from pyparity.pipelines.clnf.numerics.f32kernels import FMA_FUSED
from pyparity.pipelines.clnf.experts.views import ScaledExperts
from pyparity.pipelines.clnf.experts.patch_experts import PatchResponse, similarity_transforms
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.pipelines.clnf import scopes
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("fit/s*/cen/interp_matrix", "_record_internals", "CEN_patch_expert.cpp: interpolationMatrix",
          "the sparse-to-full interpolation matrix (level 2)"),
    Stage("fit/s*/cen/lm*/*", "_record_internals", "CEN_patch_expert.cpp: CEN_patch_expert::ResponseSparse",
          "per landmark: the expert used, warped patches, im2col input, each layer, the response (level 2)"),
    prefixes=scopes.FIT,
)


# ---------------------------------------------------------------------------------------------
# One expert
# ---------------------------------------------------------------------------------------------


def _window_size(expert: CenExpert, aoi: np.ndarray) -> int:
    a = np.asarray(aoi)
    if a.ndim != 2:
        raise InputError(f"a CEN area of interest must be 2-D, got shape {a.shape}")
    wy = a.shape[0] - expert.height_support + 1
    wx = a.shape[1] - expert.width_support + 1
    if wy < 1 or wx < 1 or wy != wx:
        raise InputError(f"CEN area of interest {a.shape} does not give a square response for a "
                         f"{expert.height_support}x{expert.width_support} expert")
    return wy


def _run_layers(expert: CenExpert, x: np.ndarray, dense_sigmoid: bool, layer_outputs: list | None = None) -> np.ndarray:
    acc = np.empty(x.shape[1], dtype=np.float32)
    for lay in expert.layers:
        o = np.empty((lay.units, x.shape[1]), dtype=np.float32)
        dense_layer(lay.w32, lay.b32, int(lay.activation), x, o, acc, FMA_FUSED, dense_sigmoid)
        if layer_outputs is not None:
            layer_outputs.append(o)
        x = o
    return x


def cen_response(expert: CenExpert, area_of_interest: np.ndarray) -> np.ndarray:
    """CEN_patch_expert::Response (the dense variant; Patch_experts uses ResponseSparse).
    area_of_interest (ws + h - 1, ws + w - 1) float32 -> (ws, ws) float32 (response[y, x])."""
    if expert.is_empty:
        raise ModelError("CEN_patch_expert::Response on an empty expert (no layers)")
    aoi = np.ascontiguousarray(area_of_interest, dtype=np.float32)
    ws = _window_size(expert, aoi)
    col = np.empty((expert.width_support * expert.height_support + 1, ws * ws), dtype=np.float32)
    im2col_dense_cn(aoi, expert.height_support, expert.width_support, col)
    out = _run_layers(expert, col, True)
    # response.t().reshape(1, response_height).t(): out[0] is x-major
    return np.ascontiguousarray(out[0].reshape(ws, ws).T)


@dataclass
class CenInternals:
    """What the level-2 dumps record of one ResponseSparse call (see STAGES.md `cen/lmNN/*`)."""

    input: np.ndarray | None = None          # (ns, K) float32 sparse im2col of the left patch
    input_mirror: np.ndarray | None = None   # (ns, K) of the flipped right patch
    layers: list = field(default_factory=list)   # per layer (units, P) float32 after activation


def cen_response_sparse(expert: CenExpert, aoi_left: np.ndarray | None, aoi_right: np.ndarray | None = None,
                        internals: CenInternals | None = None) -> tuple[np.ndarray | None, np.ndarray | None]:
    """CEN_patch_expert::ResponseSparse: the expert on `aoi_left` and on the horizontal flip of
    `aoi_right` (either may be None), both through the network in one sgemm (left positions first),
    each interpolated to (ws, ws) float32; the right map is flipped back. Inputs are not modified
    (C++ flips the right patch in place)."""
    if expert.is_empty:
        raise ModelError("CEN_patch_expert::ResponseSparse on an empty expert (no layers)")
    if aoi_left is None and aoi_right is None:
        return None, None
    h, w = expert.height_support, expert.width_support
    parts = [(a, f) for a, f in ((aoi_left, False), (aoi_right, True)) if a is not None]
    wss = {_window_size(expert, a) for a, _ in parts}
    if len(wss) != 1:
        raise InputError("CEN ResponseSparse: the two areas of interest differ in size")
    ws = wss.pop()
    _, nb, nbw = interpolation_tables(ws)
    ns = (ws * ws - 1) // 2
    col = np.empty((w * h + 1, ns * len(parts)), dtype=np.float32)
    for i, (a, f) in enumerate(parts):
        im2col_sparse_cn(np.ascontiguousarray(a, dtype=np.float32), h, w, f, col, i * ns)
    if internals is not None:
        if aoi_left is not None:
            internals.input = col[:, :ns].T.copy()
        if aoi_right is not None:
            internals.input_mirror = col[:, col.shape[1] - ns:].T.copy()
    x = _run_layers(expert, col, False, internals.layers if internals is not None else None)
    res = []
    for i, (a, f) in enumerate(parts):
        o = np.empty((ws, ws), dtype=np.float32)
        interp_to_grid(x[0], i * ns, nb, nbw, ws, f, o)
        res.append(o)
    if aoi_left is None:
        return None, res[0]
    return res[0], (res[1] if aoi_right is not None else None)


# ---------------------------------------------------------------------------------------------
# All landmarks of one scale
# ---------------------------------------------------------------------------------------------


@dataclass
class _Plan:
    """The ResponseSparse calls Patch_experts::Response makes in one view, in its landmark order."""

    calls: list[tuple[int, int, int, int, bool]]   # (left, right, expert_view, expert_landmark, own_mirrored)
    aoi_landmarks: np.ndarray
    h: int
    w: int
    packed: dict = field(default_factory=dict)


def make_plan(sc: CenScale, view: int) -> _Plan:
    where = f"{sc.path}: view {view}"
    if not 0 <= view < sc.n_views:
        raise InputError(f"{sc.path}: view {view} out of range ({sc.n_views} views)")
    n = sc.n_landmarks
    vis = sc.visibilities[view]
    calls = []
    supports = set()
    for lm in range(n):
        if not vis[lm]:
            continue
        e = sc.experts[view][lm]
        if view == 0:
            if e.is_empty:
                continue     # Collect_visible_landmarks: computed by its partner's call
            mid = int(sc.mirror_inds[lm])
            calls.append((lm, -1 if mid == lm else mid, view, lm, False))
            supports.add((e.height_support, e.width_support))
        elif not e.is_empty:
            calls.append((lm, -1, view, lm, False))
            supports.add((e.height_support, e.width_support))
        else:
            mv, ml = int(sc.mirror_views[view]), int(sc.mirror_inds[lm])
            me = sc.experts[mv][ml]
            if me.is_empty:
                raise ModelError(f"{where}: landmark {lm} is visible but neither it nor its mirror "
                                 f"(view {mv}, landmark {ml}) has an expert")
            if (me.height_support, me.width_support) != (e.height_support, e.width_support):
                raise ModelError(f"{where}: landmark {lm}'s support differs from its mirror expert's")
            calls.append((-1, lm, mv, ml, True))
            supports.add((e.height_support, e.width_support))
    if view == 0:
        covered = {c[0] for c in calls} | {c[1] for c in calls}
        missing = [lm for lm in range(n) if vis[lm] and lm not in covered]
        if missing:
            raise ModelError(f"{where}: visible landmarks {missing} have no expert and no partner that computes them")
    if len(supports) > 1:
        raise ModelError(f"{where}: CEN experts of different support sizes {sorted(supports)} in one view")
    h, w = supports.pop() if supports else (11, 11)
    lms = sorted({c[0] for c in calls if c[0] >= 0} | {c[1] for c in calls if c[1] >= 0})
    return _Plan(calls, np.array(lms, dtype=np.int64), h, w)


def plan_for(sc: CenScale, view_id: int) -> _Plan:
    """Which expert computes which landmark's map in this view (cached on the scale)."""
    p = sc._plans.get(view_id)
    if p is None:
        p = sc._plans[view_id] = make_plan(sc, view_id)
    return p


def landmarks_needing_aoi(sc: CenScale, view_id: int) -> np.ndarray:
    """(L,) sorted landmark indices whose areas of interest the view's calls read."""
    return plan_for(sc, view_id).aoi_landmarks


def landmark_response(sc: CenScale, view_id: int, landmark: int, aoi: np.ndarray,
                      partner_aoi: np.ndarray | None = None) -> np.ndarray:
    """One landmark's (ws, ws) float32 map as Patch_experts::Response leaves it: the call that writes
    it last, with its own expert or the mirror rule. `partner_aoi` is the area of interest around
    `mirror_inds[landmark]`, needed in the frontal view for a mirror pair: C++ runs both patches
    through one sgemm, and the kernel's blocking (so the last bits) depends on that. Zeros for a
    landmark no call writes (invisible in the view)."""
    plan = plan_for(sc, view_id)
    call = None
    for c in plan.calls:
        if landmark in (c[0], c[1]):
            call = c
    a = np.asarray(aoi, dtype=np.float32)
    if call is None:
        e = sc.experts[view_id][landmark]
        return np.zeros((a.shape[0] - e.height_support + 1,) * 2, dtype=np.float32)
    left, right, ev, el, _ = call
    if left >= 0 and right >= 0 and partner_aoi is None:
        raise InputError(f"landmark {landmark} is computed together with its mirror partner in view "
                         f"{view_id}: pass the partner's area of interest")
    p = None if partner_aoi is None else np.asarray(partner_aoi, dtype=np.float32)
    a_l = (a if left == landmark else p) if left >= 0 else None
    a_r = (a if right == landmark else p) if right >= 0 else None
    rl, rr = cen_response_sparse(sc.experts[ev][el], a_l, a_r)
    return rl if left == landmark else rr


_DUMMY_W = np.zeros((1, 1, 1), dtype=np.float32)
_DUMMY_B = np.zeros((1, 1), dtype=np.float32)
_DUMMY_A = np.zeros(1, dtype=np.int64)


def _pack(sc: CenScale, plan: _Plan):
    """Stack the experts of the plan's calls per layer if they share one architecture (else None)."""
    if "stack" in plan.packed:
        return plan.packed["stack"]
    keys = []
    index: dict[tuple[int, int], int] = {}
    for (_, _, ev, el, _) in plan.calls:
        if (ev, el) not in index:
            index[(ev, el)] = len(keys)
            keys.append((ev, el))
    exps = [sc.experts[v][l] for v, l in keys]
    arch = {tuple(lay.w32.shape for lay in e.layers) for e in exps}
    stack = None
    if len(arch) == 1 and 1 <= len(exps[0].layers) <= 4:
        nl = len(exps[0].layers)
        layers = []
        for li in range(4):
            if li < nl:
                layers += [np.stack([e.layers[li].w32 for e in exps]), np.stack([e.layers[li].b32 for e in exps]),
                           np.array([int(e.layers[li].activation) for e in exps], dtype=np.int64)]
            else:
                layers += [_DUMMY_W, _DUMMY_B, _DUMMY_A]
        call_expert = np.array([index[(c[2], c[3])] for c in plan.calls], dtype=np.int64)
        stack = (layers, nl, call_expert)
    plan.packed["stack"] = stack
    return stack


def cen_scale_responses(sc: CenScale, aois: np.ndarray, view_id: int, window_size: int, rec: StageRecorder = NULL_RECORDER,
                        internals: Sequence[int] = ()) -> np.ndarray:
    """The CEN maps of every landmark in one view (Patch_experts::Response's CEN branch).

    aois: (n, A, A) float32, aois[l] = the area of interest around landmark l (A = ws + support - 1;
    only rows `landmarks_needing_aoi(sc, view_id)` are read), or (L, A, A) for exactly those
    landmarks in that order. Returns (n, ws, ws) float32; landmarks no call writes are zero.
    internals: landmarks whose CEN internals are recorded (`cen/interp_matrix`, `cen/lmNN/...`)."""
    plan = plan_for(sc, view_id)
    ws = int(window_size)
    n = sc.n_landmarks
    imat, nb, nbw = interpolation_tables(ws)
    aois = np.asarray(aois)
    A = (ws + plan.h - 1, ws + plan.w - 1)
    if aois.dtype != np.float32 or aois.ndim != 3 or aois.shape[1:] != A or aois.shape[0] not in (n, len(plan.aoi_landmarks)):
        raise InputError(f"CEN responses need (n or L, {A[0]}, {A[1]}) float32 areas of interest for window "
                         f"{ws}, got {aois.dtype} {aois.shape}")
    if aois.shape[0] == n:
        aoi_index = np.arange(n, dtype=np.int64)
    else:
        aoi_index = np.full(n, -1, dtype=np.int64)
        aoi_index[plan.aoi_landmarks] = np.arange(len(plan.aoi_landmarks))
    out = np.zeros((n, ws, ws), dtype=np.float32)
    stack = _pack(sc, plan)
    if plan.calls:
        if stack is not None:
            layers, nl, call_expert = stack
            cl = np.array([c[0] for c in plan.calls], dtype=np.int64)
            cr = np.array([c[1] for c in plan.calls], dtype=np.int64)
            scale_kernel(np.ascontiguousarray(aois), aoi_index, cl, cr, call_expert, ws, plan.h, plan.w, nb, nbw,
                          *layers, nl, FMA_FUSED, out)
        else:
            for (left, right, ev, el, _) in plan.calls:
                rl, rr = cen_response_sparse(sc.experts[ev][el], aois[aoi_index[left]] if left >= 0 else None,
                                             aois[aoi_index[right]] if right >= 0 else None)
                if rl is not None:
                    out[left] = rl
                if rr is not None:
                    out[right] = rr
    if rec.enabled and internals:
        _record_internals(sc, plan, aois, aoi_index, view_id, ws, imat, rec, internals)
    return out


def _record_internals(sc, plan, aois, aoi_index, view_id, ws, imat, rec: StageRecorder, internals) -> None:
    """Recompute the calls of the chosen landmarks one at a time and record them as the level-2
    dumps do (names and order of STAGES.md `cen/lmNN/*`)."""
    rec.save("cen/interp_matrix", imat)
    want = set(int(i) for i in internals)
    for (left, right, ev, el, own_mirrored) in plan.calls:
        lm = right if own_mirrored else left
        if lm not in want:
            continue
        it = CenInternals()
        a_l = aois[aoi_index[left]] if left >= 0 else None
        a_r = aois[aoi_index[right]] if right >= 0 else None
        rl, rr = cen_response_sparse(sc.experts[ev][el], a_l, a_r, it)
        with rec.scope(f"cen/lm{lm:02d}"):
            rec.save("view_id", np.int32(view_id))
            rec.save("expert_view", np.int32(ev))
            rec.save("expert_landmark", np.int32(el))
            rec.save("expert_mirrored", np.int32(own_mirrored))
            rec.save("mirror_landmark", np.int32(right if (right >= 0 and not own_mirrored) else -1))
            if own_mirrored:
                rec.save("area_of_interest", a_r)
                rec.save("input_mirror", it.input_mirror)
            else:
                rec.save("area_of_interest", a_l)
                if a_r is not None:
                    rec.save("area_of_interest_mirror", a_r)
                rec.save("input", it.input)
                if a_r is not None:
                    rec.save("input_mirror", it.input_mirror)
            for i, lo in enumerate(it.layers):
                rec.save(f"layer{i}", lo)
            if own_mirrored:
                rec.save("response", rr)
            else:
                rec.save("response", rl)
                if rr is not None:
                    rec.save("response_mirror", rr)


# Patch_experts::Response warps the CEN areas of interest exactly as the CCNF ones
cen_areas_of_interest = areas_of_interest


# ---------------------------------------------------------------------------------------------
# The Patch_experts equivalent (all scales)
# ---------------------------------------------------------------------------------------------


@dataclass
class CenPatchExperts(ScaledExperts):
    """All scales of a CE-CLM model's CEN experts, with the interface of patch_experts.PatchExperts.

    mirror_inds / mirror_views: the last file's (C++ keeps one copy in Patch_experts, overwritten by
    every CEN file read); each scale's own copy stays in `scales[k]`."""

    scales: list[CenScale]

    def __post_init__(self):
        if not self.scales:
            raise ModelError("no CEN patch expert files given (the model names no PatchesCEN)")
        first = self.scales[0]
        for sc in self.scales[1:]:
            if sc.n_landmarks != first.n_landmarks:
                raise ModelError(f"{sc.path}: {sc.n_landmarks} landmarks, but {first.path} has {first.n_landmarks}")
        last = self.scales[-1]
        for sc in self.scales[:-1]:
            # the shared mirror tables must fit every scale's views and landmarks
            if sc.n_views != last.n_views:
                raise ModelError(f"{sc.path}: {sc.n_views} views, but {last.path} (whose mirror_views C++ "
                                 f"applies to every scale) has {last.n_views}")
            if not (np.array_equal(sc.mirror_inds, last.mirror_inds) and np.array_equal(sc.mirror_views, last.mirror_views)):
                # rebuild this scale's plans with the shared tables, as C++ would use them
                sc.mirror_inds = last.mirror_inds
                sc.mirror_views = last.mirror_views
                sc._plans.clear()

    @classmethod
    def from_files(cls, paths: Sequence[str | Path]) -> "CenPatchExperts":
        return cls([read_cen_patch_experts(p) for p in paths])

    @property
    def n_views(self) -> int:
        """centers[0].size(): the view count the early-termination file is read with."""
        return self.scales[0].n_views

    def confidence(self, scale: int, view_id: int) -> np.ndarray:
        return self.scales[scale].confidences(view_id)

    def response(self, gray_f32: np.ndarray, landmarks_stacked: np.ndarray, reference_shape_stacked: np.ndarray,
                 params_global: np.ndarray, window_size: int, scale: int, rec: StageRecorder = NULL_RECORDER,
                 internals: Sequence[int] = ()):
        """Patch_experts::Response with CEN experts -> patch_experts.PatchResponse (responses (n, ws, ws)
        float32, zeros for landmarks no call computes; sim_ref_to_img, sim_img_to_ref (2, 2) float32;
        view_id). Inputs as PatchExperts.response. With `internals` and an enabled recorder, records
        `cen/interp_matrix` and `cen/lmNN/*` in the caller's scope (the caller records `responses`...)."""
        g = np.asarray(gray_f32)
        if g.dtype != np.float32 or g.ndim != 2:
            raise InputError(f"patch expert responses need a 2-D float32 image, got {g.dtype} {g.shape}")
        if not 0 <= scale < self.n_scales:
            raise InputError(f"scale {scale} out of range (the model has {self.n_scales} scales)")
        n = self.n_landmarks
        if np.asarray(landmarks_stacked).size != 2 * n or np.asarray(reference_shape_stacked).size != 2 * n:
            raise InputError(f"patch expert responses need {2 * n} stacked landmark values "
                             f"(got {np.asarray(landmarks_stacked).size} and {np.asarray(reference_shape_stacked).size})")
        ws = int(window_size)
        interpolation_tables(ws)    # odd window sizes only
        view_id = self.view_index(params_global, scale)
        sim_ref_to_img, sim_img_to_ref = similarity_transforms(landmarks_stacked, reference_shape_stacked)
        sc = self.scales[scale]
        plan = plan_for(sc, view_id)
        if plan.h != plan.w:
            raise ModelError(f"{sc.path}: non-square CEN supports ({plan.h}x{plan.w}) are not supported")
        aois = cen_areas_of_interest(g, landmarks_stacked, sim_ref_to_img, plan.aoi_landmarks, ws + plan.w - 1)
        responses = cen_scale_responses(sc, aois, view_id, ws, rec, internals)
        return PatchResponse(responses, sim_ref_to_img, sim_img_to_ref, view_id)


def load_cen_patch_experts(clnf_files) -> CenPatchExperts:
    """CenPatchExperts of a parsed model (`model_files.ClnfModelFiles` or a MainModel's `.clnf`)."""
    files = getattr(clnf_files, "clnf", clnf_files)
    if not files.patches_cen:
        raise ModelError(f"{files.path}: the model names no CEN patch experts (PatchesCEN)")
    return CenPatchExperts.from_files(files.patches_cen)
