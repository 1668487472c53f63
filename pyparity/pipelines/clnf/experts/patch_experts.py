"""Patch experts of a CLNF model: per-scale CCNF response maps (OpenFace Patch_experts.cpp).

API summary (what the fitting code calls):

    from pyparity.pipelines.clnf.model.files import read_main_model
    from pyparity.pipelines.clnf.experts.patch_experts import load_patch_experts, gray_to_float
    from pyparity.pipelines.clnf.validator.cnn import read_validator

    model = read_main_model(model_dir / "main_clnf_general.txt")  # MainModel: .clnf.pdm, .clnf.patches_ccnf,
                                                                  # .parts[i].{name, model, mappings, parameters}, .validator
    experts = load_patch_experts(model)                          # main model; load_patch_experts(part.model) for a part
    experts.n_scales, experts.patch_scaling[scale]               # float64 per scale
    experts.view_index(params_global, scale) -> int              # Patch_experts::GetViewIdx (nearest_view)
    experts.visibility(scale, view_id) -> (n,) int32             # visibilities[scale][view_id]
    res = experts.response(gray_f32, landmarks_stacked, reference_shape_stacked,
                           params_global, window_size, scale)     # Patch_experts::Response
    res.responses (n, ws, ws) float32   (zeros for landmarks invisible in the view)
    res.sim_ref_to_img, res.sim_img_to_ref  (2, 2) float32
    res.view_id int
    res.record(rec)       # saves responses, sim_ref_to_img, sim_img_to_ref, view_id (reference names/dtypes)
    validator = read_validator(model.validator)
    certainty = validator.check(params_global[1:4], gray_u8, landmarks_stacked)   # DetectionValidator::Check

    align_shapes_with_scale(src_xy, dst_xy) -> (2, 2) float32     # Utilities::AlignShapesWithScale
    invert_2x2(m) -> (2, 2) float32                               # cv::Matx22f::inv(DECOMP_LU)
    gray_to_float(gray_u8) -> float32 image                       # CLNF::DetectLandmarks convertTo
    nearest_view(centers, params_global) -> int                   # Patch_experts::GetViewIdx
    aoi.areas_of_interest(...)                                    # the warped windows (shared with CEN)

Inputs, as C++ Patch_experts::Response computes them itself from the PDM:
  - gray_f32: (H, W) float32, the 8-bit grayscale image converted to float (`gray_to_float`).
  - landmarks_stacked: (2n,) or (2n, 1) float32, pdm.CalcShape2D(params_local, params_global).
  - reference_shape_stacked: (2n,) float32, pdm.CalcShape2D(params_local, [patch_scaling[scale], 0,0,0,0,0])
    (a cv::Vec6f in C++: the scaling rounded to float32; the rotation is the identity).
  - params_global: (6,) float32 [scale, rx, ry, rz, tx, ty] (only the rotation picks the view).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.experts.aoi import areas_of_interest
from pyparity.pipelines.clnf.experts.ccnf import FMA_FUSED, CcnfScale, ccnf_responses_batch, read_ccnf_patch_experts
from pyparity.pipelines.clnf.experts.views import ScaledExperts, nearest_view  # noqa: F401 (nearest_view: API)
from pyparity.pipelines.clnf.model.pdm_kernels import cv_sum_f32
from pyparity.trace.recorder import StageRecorder


@dataclass
class PatchResponse:
    responses: np.ndarray        # (n, ws, ws) float32
    sim_ref_to_img: np.ndarray   # (2, 2) float32
    sim_img_to_ref: np.ndarray   # (2, 2) float32
    view_id: int

    def record(self, rec: StageRecorder) -> None:
        """Record as the reference dumps name them inside the caller's `fit/sK` scope. The reference
        records window_size and patch_scaling before these, and reg_factor... after view_id."""
        rec.save("responses", self.responses)
        rec.save("sim_ref_to_img", self.sim_ref_to_img)
        rec.save("sim_img_to_ref", self.sim_img_to_ref)
        rec.save("view_id", np.int32(self.view_id))


def gray_to_float(gray: np.ndarray) -> np.ndarray:
    """CLNF::DetectLandmarks: `image.convertTo(gray_image_flt, CV_32F)` of the 8-bit gray image."""
    g = np.asarray(gray)
    if g.ndim != 2:
        raise InputError(f"CLNF needs a single-channel grayscale image, got shape {g.shape}")
    return g.astype(np.float32)


def _mean_f32(v: np.ndarray) -> np.float32:
    # cv::mean: the float values summed in double (exact here), times 1/n, cast to float
    # (np.add.reduce is what np.sum runs for an ndarray, without its Python-level dispatch)
    return np.float32(np.add.reduce(v.astype(np.float64)) * (1.0 / v.shape[0]))


def _gemm_at_b(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # cv::gemm of small float matrices (GEMMSingleMul<float,double>): products summed in double,
    # rounded to float at the end
    return (a.astype(np.float64).T @ b.astype(np.float64)).astype(np.float32)


def _align_shapes_kabsch_2d(align_from: np.ndarray, align_to: np.ndarray) -> np.ndarray:
    """Utilities::AlignShapesKabsch2D (float32 in and out; cv::SVD of the float 2x2 matrix)."""
    m = _gemm_at_b(align_from, align_to)
    w, u, vt = cv2.SVDecomp(m)
    v_ut = (vt.astype(np.float64).T @ u.astype(np.float64).T).astype(np.float32)
    d = float(v_ut[0, 0]) * float(v_ut[1, 1]) - float(v_ut[0, 1]) * float(v_ut[1, 0])
    corr = np.eye(2, dtype=np.float32)
    corr[1, 1] = 1.0 if d > 0 else -1.0
    # vt.t() * Mat(corr) * u.t(): two float gemms, left to right
    t = (vt.astype(np.float64).T @ corr.astype(np.float64)).astype(np.float32)
    return (t.astype(np.float64) @ u.astype(np.float64).T).astype(np.float32)


def align_shapes_with_scale(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Utilities::AlignShapesWithScale(src, dst): the 2x2 scaled rotation A (float32) with
    A·src ≈ dst after removing the means. src, dst: (n, 2) float32."""
    src = np.asarray(src, dtype=np.float32)
    dst = np.asarray(dst, dtype=np.float32)
    n = src.shape[0]
    src_n = np.empty_like(src)
    dst_n = np.empty_like(dst)
    for c in range(2):
        src_n[:, c] = src[:, c] - _mean_f32(src[:, c])
        dst_n[:, c] = dst[:, c] - _mean_f32(dst[:, c])
    # cv::pow(x, 2) is a float multiply; cv::sum as the reference's OpenCV 4.6 sums floats (cv_sum_f32:
    # its float-added tail makes the scale differ from an exact double sum in the last bit)
    s_src = np.float32(np.sqrt(cv_sum_f32((src_n * src_n).ravel()) / n))
    s_dst = np.float32(np.sqrt(cv_sum_f32((dst_n * dst_n).ravel()) / n))
    # `mat / s` is Mat::convertTo with alpha = 1/s, applied as a float multiplier
    src_n = src_n * np.float32(1.0 / np.float64(s_src))
    dst_n = dst_n * np.float32(1.0 / np.float64(s_dst))
    s = np.float32(s_dst / s_src)
    r = _align_shapes_kabsch_2d(src_n, dst_n)
    return (s * r).astype(np.float32)


def invert_2x2(m: np.ndarray) -> np.ndarray:
    """cv::Matx22f::inv(DECOMP_LU) (Matx_FastInvOp<float, 2>): float32 determinant, 1/d, products."""
    a = np.asarray(m, dtype=np.float32)
    d = np.float32(a[0, 0] * a[1, 1]) - np.float32(a[0, 1] * a[1, 0])
    d = np.float32(d)
    if d == 0:
        return np.zeros((2, 2), dtype=np.float32)
    d = np.float32(np.float32(1.0) / d)
    b = np.empty((2, 2), dtype=np.float32)
    b[1, 1] = a[0, 0] * d
    b[0, 0] = a[1, 1] * d
    b[0, 1] = -a[0, 1] * d
    b[1, 0] = -a[1, 0] * d
    return b


def similarity_transforms(landmarks_stacked: np.ndarray, reference_shape_stacked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sim_img_to_ref = AlignShapesWithScale(image shape, reference shape); sim_ref_to_img its inverse.
    Both (2, 2) float32, as Patch_experts::Response."""
    img = np.asarray(landmarks_stacked, dtype=np.float32).reshape(2, -1).T
    ref = np.asarray(reference_shape_stacked, dtype=np.float32).reshape(2, -1).T
    img_to_ref = align_shapes_with_scale(img, ref)
    return invert_2x2(img_to_ref), img_to_ref


@dataclass
class _Packed:
    """The visible landmarks' experts of one (scale, view, window size), stacked for the batch kernel."""

    landmarks: np.ndarray        # (L,) landmark indices
    ph: int
    pw: int
    wms: np.ndarray
    n_neurons: np.ndarray
    actives: np.ndarray
    n_active: np.ndarray
    two_alphas: np.ndarray
    sigmas_t: np.ndarray         # (L, ws², ws²) Sigma transposed


@dataclass
class PatchExperts(ScaledExperts):
    """All scales of a CLNF model's CCNF patch experts (Patch_experts with CCNF experts only)."""

    scales: list[CcnfScale]
    _packed: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_files(cls, paths: Sequence[str | Path]) -> "PatchExperts":
        if not paths:
            raise ModelError("no CCNF patch expert files given (the model names no PatchesCCNF)")
        return cls([read_ccnf_patch_experts(p) for p in paths])

    def _pack(self, scale: int, view_id: int, window_size: int) -> _Packed:
        key = (scale, view_id, window_size)
        pk = self._packed.get(key)
        if pk is not None:
            return pk
        sc = self.scales[scale]
        vis = np.nonzero(sc.visibilities[view_id])[0]
        exps = [sc.experts[view_id][i] for i in vis]
        if any(not e.visible for e in exps):
            raise ModelError(f"{sc.path}: a landmark marked visible in view {view_id} has no patch expert")
        ph, pw = exps[0].height, exps[0].width
        # C++ sizes the area of interest per expert but offsets it by its width in both directions;
        # square experts of one size (all OpenFace CCNF models) keep that exact
        if ph != pw or any((e.height, e.width) != (ph, pw) for e in exps):
            raise ModelError(f"{sc.path}: non-square or mixed-size patch experts are not supported")
        L = len(exps)
        nn = max(len(e.neurons) for e in exps)
        K = ph * pw + 1
        wms = np.zeros((L, nn, K), dtype=np.float32)
        actives = np.zeros((L, nn), dtype=np.int64)
        n_active = np.zeros(L, dtype=np.int64)
        n_neurons = np.array([len(e.neurons) for e in exps], dtype=np.int64)
        two_alphas = np.zeros((L, nn), dtype=np.float64)
        n2 = window_size * window_size
        sigmas = np.zeros((L, n2, n2), dtype=np.float32)
        for j, (lm, e) in enumerate(zip(vis, exps)):
            wms[j, :len(e.neurons)] = e.weight_matrix
            na = len(e.active_rows)
            actives[j, :na] = e.active_rows
            n_active[j] = na
            two_alphas[j, :na] = e.two_alphas
            sigmas[j] = sc.sigma(view_id, int(lm), window_size).T  # the kernel takes Sigma transposed
        pk = _Packed(vis, ph, pw, wms, n_neurons, actives, n_active, two_alphas, sigmas)
        self._packed[key] = pk
        return pk

    def areas_of_interest(self, gray_f32: np.ndarray, landmarks_stacked: np.ndarray, sim_ref_to_img: np.ndarray,
                          landmarks: np.ndarray, aoi_size: int, use_cv2: bool = False) -> np.ndarray:
        """aoi.areas_of_interest: the (L, aoi, aoi) float32 windows around the given landmarks."""
        return areas_of_interest(gray_f32, landmarks_stacked, sim_ref_to_img, landmarks, aoi_size, use_cv2)

    def response(self, gray_f32: np.ndarray, landmarks_stacked: np.ndarray, reference_shape_stacked: np.ndarray,
                 params_global: np.ndarray, window_size: int, scale: int) -> PatchResponse:
        """Patch_experts::Response with CCNF experts (see module docstring for the inputs)."""
        if gray_f32.dtype != np.float32 or gray_f32.ndim != 2:
            raise InputError(f"patch expert responses need a 2-D float32 image, got {gray_f32.dtype} {gray_f32.shape}")
        if not 0 <= scale < self.n_scales:
            raise InputError(f"scale {scale} out of range (the model has {self.n_scales} scales)")
        view_id = self.view_index(params_global, scale)
        n = self.n_landmarks
        if np.asarray(landmarks_stacked).size != 2 * n or np.asarray(reference_shape_stacked).size != 2 * n:
            raise InputError(f"patch expert responses need {2 * n} stacked landmark values "
                             f"(got {np.asarray(landmarks_stacked).size} and {np.asarray(reference_shape_stacked).size})")
        sim_ref_to_img, sim_img_to_ref = similarity_transforms(landmarks_stacked, reference_shape_stacked)
        pk = self._pack(scale, view_id, window_size)
        L = len(pk.landmarks)
        # every landmark visible (the frontal views): the kernel writes the maps in place
        every = L == n
        responses = (np.empty if every else np.zeros)((n, window_size, window_size), dtype=np.float32)
        if L:
            aoi = window_size + pk.ph - 1
            aois = self.areas_of_interest(np.ascontiguousarray(gray_f32), landmarks_stacked, sim_ref_to_img,
                                          pk.landmarks, aoi)
            out = responses if every else np.empty((L, window_size, window_size), dtype=np.float32)
            ccnf_responses_batch(aois, pk.ph, pk.pw, pk.wms, pk.n_neurons, pk.actives, pk.n_active, pk.two_alphas,
                                 pk.sigmas_t, window_size, out, FMA_FUSED)
            if not every:
                responses[pk.landmarks] = out
        return PatchResponse(responses, sim_ref_to_img, sim_img_to_ref, view_id)


def load_patch_experts(clnf_files) -> PatchExperts:
    """PatchExperts of a parsed model (`model_files.ClnfModelFiles`, or a MainModel's `.clnf`)."""
    files = getattr(clnf_files, "clnf", clnf_files)
    if files.patches_svr or files.patches_cen:
        raise ModelError(f"{files.path}: only CCNF patch experts are supported (SVR/CEN given)")
    return PatchExperts.from_files(files.patches_ccnf)
