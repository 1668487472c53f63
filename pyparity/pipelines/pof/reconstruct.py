"""Public API: POF prediction and 3D reconstruction, recording every stage under the dumps' names.

``reconstruct_3d`` is what upstream's ``CameraPOFInference.reconstruct_3d(pose_2d, visibility,
height_m)`` does (src/pof/inference.py), i.e. the app's call:

    predict_pof -> bone_lengths(height) -> metric_torso_scale = height / 3.4
    -> normalise 2D -> limb-by-limb LS depths -> head heuristic -> denormalise -> enforce bones

Inputs: ``pose_2d`` (T,17,2) float32 [0,1] image coords x = u/W, y = v/H (COCO-17 order),
``visibility`` (T,17) float32. Output: (T,17,3) float32 metres, camera-ish frame (x right, y down,
z away; pelvis depth 2.0 m by construction, not measured).

Upstream-exact by default. Each known defect has an option that fixes it (``Options``):
``fallback="signed"``, ``zsign="always"|"never"``, ``aspect="isotropic"``, ``torso="bone_table"``;
their expected divergences from upstream are declared in ``pyparity/policies/pof-fix-<name>.toml``.
``reconstruct_from_reference`` runs from a reference dump's intermediate values (stage isolation).
With recording off the non-temporal networks take all frames in one batch (the fast path).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof import nn
from pyparity.pipelines.pof.features import limb_features_2d, normalize_pose_2d
from pyparity.pipelines.pof.models import PofModel, structural_buffers
from pyparity.pipelines.pof.recording import LS_SCOPES, FrameSaver
from pyparity.pipelines.pof.solver import (
    bone_lengths_from_height, denormalize, enforce_bone_lengths, metric_torso_scale, solve_depths,
)
from pyparity.trace import NULL_RECORDER, StageRecorder, StageRef
from pyparity.trace.stage_index import Stage, declare


_UPSTREAM = "humanpose3d src/pof/"

STAGES = declare(
    __name__,
    Stage("const/adj*", "reconstruct_3d", _UPSTREAM + "gnn_model.py (structural buffers)",
          "the graph models' adjacency matrices"),
    Stage("frame*/input/*", "reconstruct_3d", _UPSTREAM + "inference.py: CameraPOFInference.reconstruct_3d",
          "the frame's keypoints and visibility"),
    Stage("frame*/metric/*", "_solve_metric", _UPSTREAM + "inference.py: CameraPOFInference.reconstruct_3d",
          "the POF, height, torso scale and bone lengths in metres"),
    Stage("frame*/output/reconstruct_3d", "_solve_metric",
          _UPSTREAM + "inference.py: CameraPOFInference.reconstruct_3d",
          "the 3D joints reconstruct_3d returns"),
    Stage("ls/input/*", "solve_least_squares", _UPSTREAM + "least_squares.py: reconstruct_skeleton_least_squares",
          "the solver's inputs", prefixes=LS_SCOPES),
    Stage("ls/bone_lengths_normalized", "solve_least_squares",
          _UPSTREAM + "least_squares.py: reconstruct_skeleton_least_squares",
          "bone lengths / metric torso scale", prefixes=LS_SCOPES),
    Stage("output/pose_3d_m", "solve_least_squares", _UPSTREAM + "least_squares.py: reconstruct_skeleton_least_squares",
          "the final joints, metres", prefixes=LS_SCOPES),
    Stage("frame*/zsign/*", "temporal_step", _UPSTREAM + "inference.py: _apply_z_sign_correction",
          "diagnostic z-sign probabilities and flips (not used downstream)"),
    Stage("frame*/zsign_path/*", "predict_pof_with_zsign", _UPSTREAM + "inference.py: _predict_pof_temporal_with_zsign",
          "the separate z-sign-corrected temporal run"),
)

F32 = np.float32


@dataclass(frozen=True)
class Options:
    """Reconstruction switches; the defaults reproduce upstream @ 396dac4 exactly.

    fallback: "upstream" (child always farther when |orient_xy|^2 <= 0.05) | "signed" (follow POF z).
    zsign: "upstream" (z-sign head applied only for a 1-frame clip, by the non-temporal branch of
        predict_pof) | "always" (every frame; uncorrected POF still fed back) | "never".
    aspect: "upstream" (x = u/W, y = v/H as given) | "isotropic" (y rescaled to v/W before use).
    torso: "upstream" (metric torso = H/3.4) | "bone_table" (0.288 H, the bone table's torso_side).
    image_size: (W, H) used by aspect="isotropic".
    use_2d_xy, enforce_bones, output_depth: upstream parameters (defaults as the app calls them).
    """

    fallback: str = "upstream"
    zsign: str = "upstream"
    aspect: str = "upstream"
    torso: str = "upstream"
    image_size: tuple[int, int] = (1920, 1080)
    use_2d_xy: bool = True
    enforce_bones: bool = True
    output_depth: float = C.DEFAULT_OUTPUT_DEPTH
    record_zsign_path: bool = True

    def __post_init__(self) -> None:
        for k, allowed in (("fallback", ("upstream", "signed")), ("zsign", ("upstream", "always", "never")),
                           ("aspect", ("upstream", "isotropic")), ("torso", ("upstream", "bone_table"))):
            if getattr(self, k) not in allowed:
                raise InputError(f"option {k}={getattr(self, k)!r}: expected one of {allowed}")


@dataclass
class Result:
    pose_3d_m: np.ndarray               # (T,17,3) float32 metres
    pof: np.ndarray                     # (T,14,3) POF used by the solver
    pof_raw: np.ndarray                 # (T,14,3) model POF before any z-sign correction
    z_sign_logits: np.ndarray | None    # (T,14) (semgcn-temporal)
    pose_3d_norm: np.ndarray            # (T,17,3) normalised solver output
    scale_factors: np.ndarray           # (T,14)
    quirks: dict = field(default_factory=dict)


def validate_inputs(pose_2d, visibility, height_m: float | None = None, source: str = "input"):
    """Check shapes/values; returns float32 copies (T,17,2), (T,17). One clear InputError otherwise."""
    kp = np.asarray(pose_2d)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[1:] != (C.NUM_JOINTS, 2):
        raise InputError(f"{source}: pose_2d must be (T,17,2) COCO-17 keypoints, got shape {tuple(np.shape(pose_2d))}")
    if kp.shape[0] == 0:
        raise InputError(f"{source}: no frames")
    kp = kp.astype(F32)
    if not np.all(np.isfinite(kp)):
        f, j = np.argwhere(~np.isfinite(kp).all(-1))[0]
        raise InputError(f"{source}: keypoint is NaN/inf at frame {f}, joint {j}")
    vis = np.ones(kp.shape[:2], F32) if visibility is None else np.asarray(visibility)
    if vis.ndim == 1:
        vis = vis[None]
    if vis.shape != kp.shape[:2]:
        raise InputError(f"{source}: visibility must be (T,17) matching pose_2d, got {tuple(vis.shape)}")
    vis = vis.astype(F32)
    if not np.all(np.isfinite(vis)):
        raise InputError(f"{source}: visibility holds NaN/inf")
    dead = np.where(~(vis > 0).any(axis=1))[0]
    if dead.size:
        raise InputError(f"{source}: all-zero visibility at frame {dead[0]}")
    l_t = np.linalg.norm(kp[:, C.L_SHOULDER] - kp[:, C.L_HIP], axis=-1)
    r_t = np.linalg.norm(kp[:, C.R_SHOULDER] - kp[:, C.R_HIP], axis=-1)
    zero = np.where((l_t + r_t) / 2 <= 1e-6)[0]
    if zero.size:
        raise InputError(f"{source}: zero 2D torso (shoulders on hips) at frame {zero[0]}")
    if height_m is not None and not (np.isfinite(height_m) and height_m > 0):
        raise InputError(f"{source}: height must be > 0 m, got {height_m}")
    return kp, vis


def _zsign_correct(pof: np.ndarray, logits: np.ndarray, eps: float = 1e-12):
    """inference.py _apply_z_sign_correction: flip pof_z where (sigmoid(logit)>0.5) != (pof_z>0),
    then F.normalize (default eps 1e-12). -> (prob, needs_flip, corrected)."""
    prob = nn.sigmoid(logits)
    flip = (prob > F32(0.5)) != (pof[..., 2] > 0)
    out = pof.copy()
    out[..., 2] = np.where(flip, -pof[..., 2], pof[..., 2])
    return prob, flip, nn.l2_normalize(out, eps)


def apply_aspect(pose_2d: np.ndarray, opts: Options) -> np.ndarray:
    if opts.aspect == "upstream":
        return pose_2d
    W, H = opts.image_size
    out = pose_2d.copy()
    out[..., 1] = (pose_2d[..., 1].astype(np.float64) * (H / W)).astype(F32)
    return out


def feedback(pof_raw: np.ndarray, z_sign_logits: np.ndarray | None) -> np.ndarray:
    """The temporal model's next ``prev_pof``: inference.py _predict_pof_temporal feeds back the
    *uncorrected* POF (``prev_pof = pof.detach()``; "correction makes things worse"). The free run and
    the per-step run (``reconstruct_from_reference(StageRef(ref, "model"))``) both go through this rule."""
    return pof_raw


def feedback_with_zsign(pof_raw: np.ndarray, z_sign_logits: np.ndarray) -> np.ndarray:
    """inference.py predict_pof_with_zsign's rule: the z-sign *corrected* POF is fed back."""
    return _zsign_correct(pof_raw, z_sign_logits)[2]


def temporal_step(model: PofModel, norm, vis, delta, length, prev, s: FrameSaver):
    """One frame of the temporal model (``prev`` None = zeros, frame 0); records the z-sign head's
    would-be correction as diagnostics (``zsign/*``, not used downstream). -> (pof (1,14,3), logits (1,14))."""
    pf, lg = model.forward(norm, vis, delta, length, prev, s)
    if s.enabled:
        prob, flip, corr = _zsign_correct(pf, lg)
        s.save("zsign/prob", prob)
        s.save("zsign/needs_flip", flip.astype(np.uint8))
        s.save("zsign/pof_corrected_diag", corr)
    return pf, lg


def predict_pof(model: PofModel, pose_2d, visibility, rec: StageRecorder = NULL_RECORDER, opts: Options = Options(),
                _consts: set | None = None):
    """POF (T,14,3) as upstream predict_pof: features per frame; temporal model frame by frame with
    prev_pof = zeros then the previous *uncorrected* POF; other models batched over frames.

    Returns (pof_used, pof_raw, logits | None, zsign_applied: bool).
    """
    consts = _consts if _consts is not None else set()
    T = pose_2d.shape[0]
    if getattr(rec, "enabled", False):
        # upstream computes features frame by frame and the dumps record them frame by frame
        norms, deltas, lengths = [], [], []
        for f in range(T):
            s = FrameSaver(rec, [f], "", consts)
            n, _, _ = normalize_pose_2d(pose_2d[f:f + 1], s)
            d, ln = limb_features_2d(n, s)
            norms.append(n); deltas.append(d); lengths.append(ln)
        norm = np.concatenate(norms); delta = np.concatenate(deltas); length = np.concatenate(lengths)
    else:  # fast path: element-wise per frame, so all frames at once give the same bits
        norm, _, _ = normalize_pose_2d(pose_2d)
        delta, length = limb_features_2d(norm)
    logits = None
    zsign_applied = False
    if model.temporal and T > 1:
        pofs, lgs = [], []
        prev = None
        for f in range(T):
            s = FrameSaver(rec, [f], "", consts)
            pf, lg = temporal_step(model, norm[f:f + 1], visibility[f:f + 1], delta[f:f + 1], length[f:f + 1], prev, s)
            pofs.append(pf); lgs.append(lg)
            prev = feedback(pf, lg)
        pof_raw = np.concatenate(pofs); logits = np.concatenate(lgs)
    else:
        s = FrameSaver(rec, range(T), "", consts)
        pof_raw, logits = model.forward(norm, visibility, delta, length, None, s)
    pof = pof_raw
    if logits is not None:
        apply = (opts.zsign == "always") or (opts.zsign == "upstream" and T == 1)
        if apply:
            pof = _zsign_correct(pof_raw, logits)[2]
            zsign_applied = True
    return pof, pof_raw, logits, zsign_applied


def predict_pof_with_zsign(model: PofModel, pose_2d, visibility, rec: StageRecorder = NULL_RECORDER, reference_prev=None):
    """inference.py predict_pof_with_zsign (temporal): correction applied *and* fed back as prev_pof.
    Records ``zsign_path/{logits,probs,pof_before,corrections,pof}``. -> corrected POF (T,14,3).

    ``reference_prev(f)``: per-step mode - frame f's prev_pof comes from the reference's frame f-1
    (``zsign_path/{pof_before,logits}``) through the same feedback rule, instead of our own frame f-1."""
    T = pose_2d.shape[0]
    n, _, _ = normalize_pose_2d(pose_2d)
    d, ln = limb_features_2d(n)
    prev = None
    out = []
    for f in range(T):
        if reference_prev is not None and f > 0:
            prev = reference_prev(f)
        pf, lg = model.forward(n[f:f + 1], visibility[f:f + 1], d[f:f + 1], ln[f:f + 1], prev)
        prob, flip, corr = _zsign_correct(pf, lg)
        s = FrameSaver(rec, [f], "zsign_path/")
        s.save("logits", lg); s.save("probs", prob); s.save("pof_before", pf)
        s.save("corrections", flip.astype(np.uint8)); s.save("pof", corr)
        out.append(corr)
        prev = feedback_with_zsign(pf, lg)
    return np.concatenate(out)


def solve_least_squares(pof, keypoints_2d, bone_lengths_m, height_m: float, rec: StageRecorder = NULL_RECORDER,
                        opts: Options = Options(), frames=None, inner: str = "", metric: bool = True):
    """upstream reconstruct_skeleton_least_squares(pof, kp, bone_lengths, pelvis_depth=0,
    denormalize=True, output_depth, metric_torso_scale, enforce_bones) on (T,..) batches.

    Records ``<inner>ls/...`` and ``<inner>output/pose_3d_m``. Returns (pose_m, pose_norm, scale_factors, quirks).
    """
    pof = np.asarray(pof, F32)
    kp = np.asarray(keypoints_2d, F32)
    T = pof.shape[0]
    s = FrameSaver(rec, range(T) if frames is None else frames, inner)
    mts = metric_torso_scale(height_m) if opts.torso == "upstream" else float(height_m) * C.PROPORTIONS["torso_side"]
    bl = np.asarray(bone_lengths_m, F32)
    s.save("ls/input/pof", pof)
    s.save("ls/input/keypoints_2d", kp)
    s.save_same("ls/input/bone_lengths_m", bl)
    norm, pelvis, torso = normalize_pose_2d(kp, s, "ls/normalize/", torch_names=True)
    # float32 tensor / Python float: torch divides in float32 by float32(scalar)
    bln = (bl / F32(mts)).astype(F32)
    s.save_same("ls/bone_lengths_normalized", bln)
    s.save_same("ls/bone_lengths_normalized", bln)
    pose_n, sf, dec = solve_depths(pof, norm, bln, 0.0, opts.use_2d_xy, opts.fallback, s)
    pose_m = denormalize(pose_n, pelvis, torso, opts.output_depth, mts, s)
    enf = np.zeros((T, len(C.ENFORCE_ORDER)), bool)
    if opts.enforce_bones:
        pose_m, enf = enforce_bone_lengths(pose_m, bl, s)
    s.save("output/pose_3d_m", pose_m)
    quirks = {"valid_solve": dec["valid"], "scale_clamped": dec["clamped"], "enforce_clamped": enf,
              "metric_torso_scale": mts}
    return pose_m, pose_n, sf, quirks


def _solve_metric(pof, kp_used, height_m, rec, opts: Options, s: FrameSaver):
    """The metric stages and the LS solve shared by a full run and a run from a reference's POF:
    records ``metric/*`` and ``output/reconstruct_3d`` through ``s``; returns solve_least_squares' result."""
    s.save("metric/pof", pof)
    bl = bone_lengths_from_height(height_m)
    s.save_same("metric/height_m", np.float64(height_m))
    s.save_same("metric/height_to_torso_ratio", np.float64(C.HEIGHT_TO_TORSO_RATIO))
    mts = metric_torso_scale(height_m) if opts.torso == "upstream" else float(height_m) * C.PROPORTIONS["torso_side"]
    s.save_same("metric/metric_torso_scale", np.float64(mts))
    s.save_same("metric/bone_lengths_m", bl)
    pose_m, pose_n, sf, q = solve_least_squares(pof, kp_used, bl, height_m, rec, opts)
    s.save("output/reconstruct_3d", pose_m)
    return pose_m, pose_n, sf, q


def reconstruct_3d(model: PofModel, pose_2d, visibility=None, height_m: float = 1.78, rec: StageRecorder = NULL_RECORDER,
                   opts: Options = Options(), record_inputs: bool = True) -> Result:
    """CameraPOFInference.reconstruct_3d for a clip; see module doc. Records the dumps' stage names."""
    kp, vis = validate_inputs(pose_2d, visibility, height_m)
    T = kp.shape[0]
    consts: set = set()
    if getattr(rec, "enabled", False):
        for name, buf in structural_buffers(model.variant).items():
            rec.save(f"const/{name}", model.params[name])
            consts.add(name)
        if record_inputs:
            for f in range(T):
                rec.save(f"frame{f:04d}/input/pose_2d", kp[f])
                rec.save(f"frame{f:04d}/input/visibility", vis[f])
    kp_used = apply_aspect(kp, opts)
    pof, pof_raw, logits, zapplied = predict_pof(model, kp_used, vis, rec, opts, consts)
    pose_m, pose_n, sf, q = _solve_metric(pof, kp_used, height_m, rec, opts, FrameSaver(rec, range(T), "", consts))
    if model.temporal and opts.record_zsign_path and getattr(rec, "enabled", False):
        predict_pof_with_zsign(model, kp_used, vis, rec)
    bad = np.argwhere(~np.isfinite(pose_m).all(-1))
    if bad.size:
        warnings.warn(f"POF output has NaN at frame {bad[0][0]}, joint {bad[0][1]}", RuntimeWarning, stacklevel=2)
    q.update({"zsign_applied": zapplied, "frames": T})
    return Result(pose_m, pof, pof_raw, logits, pose_n, sf, q)


START_STAGES = ("input", "model", "solver")


def reconstruct_from_reference(model: PofModel | None, start: StageRef, height_m: float | None = None,
                               rec: StageRecorder = NULL_RECORDER, opts: Options = Options()) -> Result:
    """Stage isolation: run from ``start.stage`` on a pof reference dump's own intermediate values.

    ``start.stage``: "input" (= reconstruct_3d on the dump's clip inputs), "model" (the network on the
    dump's ``frameNNNN/model/in/*`` tensors; then the solver on our POF) or "solver" (the LS solver on the
    dump's ``frameNNNN/metric/pof``; no model needed). Records the same stage names as a full run from
    that point on.

    For semgcn-temporal, "model" is the *per-step* run: frame f's prev_pof is the feedback rule applied
    to the reference's frame f-1 output (``model/out/pof``; the ``zsign_path`` recurrence likewise from
    its ``zsign_path/pof_before``), so float32 rounding cannot accumulate through the recurrence and
    each step is held to the policy on its own. Free-running differences that grow from frame to
    frame while every step matches are the recurrence amplifying rounding (see ``pyparity.app.specs.pof_drift``).
    """
    from pyparity.pipelines.pof.io import from_dump

    ref, start = start.reference, start.stage
    if start not in START_STAGES:
        raise InputError(f"expected one of {', '.join(START_STAGES)}", param="start", value=start)
    kp, vis, h_dump = from_dump(ref)
    h = height_m if height_m is not None else (h_dump if h_dump is not None else 1.78)
    if start != "solver" and model is None:
        raise InputError("needs a model", param="start", value=start)
    if start == "input":
        return reconstruct_3d(model, kp, vis, h, rec, opts)
    kp, vis = validate_inputs(kp, vis, h, str(ref.source))
    T = kp.shape[0]

    def need(name):
        if name not in ref:
            raise InputError(f"{ref.source}: reference dump has no stage {name} to start from", param="start",
                             value=start)
        return np.asarray(ref[name], F32)

    logits = None
    if start == "model":
        if model.temporal != ("frame0000/model/in/prev_pof" in ref):
            raise InputError(f"{ref.source}: reference dump was not recorded with a {model.variant} model")
        pofs, lgs = [], []
        consts: set = set()  # const/<stack>/adj_norm recorded once, not once per frame
        for f in range(T):
            g = lambda s: need(f"frame{f:04d}/model/in/{s}")[None]
            s = FrameSaver(rec, [f], "", consts)
            args = (g("pose_2d"), g("visibility"), g("limb_delta_2d"), g("limb_length_2d"))
            if model.temporal:
                # Per step: frame f is fed the reference's frame f-1 output through our own feedback
                # rule, so the rule is checked too (our model/in/prev_pof against the dump's).
                prev = None if f == 0 else feedback(need(f"frame{f - 1:04d}/model/out/pof")[None],
                                                    need(f"frame{f - 1:04d}/model/out/z_sign_logits")[None])
                pf, lg = temporal_step(model, *args, prev, s)
            else:
                pf, lg = model.forward(*args, None, s)
            pofs.append(pf)
            if lg is not None:
                lgs.append(lg)
        pof_raw = np.concatenate(pofs)
        logits = np.concatenate(lgs) if lgs else None
        pof = pof_raw
        if logits is not None and ((opts.zsign == "always") or (opts.zsign == "upstream" and T == 1)):
            pof = _zsign_correct(pof_raw, logits)[2]
    else:
        pof_raw = pof = np.stack([need(f"frame{f:04d}/metric/pof") for f in range(T)])
    kp_used = apply_aspect(kp, opts)
    pose_m, pose_n, sf, q = _solve_metric(pof, kp_used, h, rec, opts, FrameSaver(rec, range(T)))
    if (start == "model" and model.temporal and opts.record_zsign_path and getattr(rec, "enabled", False)
            and "frame0000/zsign_path/pof_before" in ref):
        predict_pof_with_zsign(model, kp_used, vis, rec, reference_prev=lambda f: feedback_with_zsign(
            need(f"frame{f - 1:04d}/zsign_path/pof_before")[None], need(f"frame{f - 1:04d}/zsign_path/logits")[None]))
    q.update({"zsign_applied": pof is not pof_raw, "frames": T, "start": start})
    return Result(pose_m, pof, pof_raw, logits, pose_n, sf, q)
