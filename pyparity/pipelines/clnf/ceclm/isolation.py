"""Stage isolation inside the CE-CLM fit: run from the reference's own state at a recorded point.

    res = ceclm_fit_from_reference(ref, "face00/clnf/", start, model, gray_u8=None, rec=rec, level=2,
                                   validator=None) -> ceclm.CeclmResult

start (relative to the face's `faceNN/clnf/`):
  box                                   the whole fit from `input/bbox` (multi-view when the reference
                                        recorded more than one hypothesis)
  hNN/init                              hypothesis NN from the reference's `hNN/init/*`: its first-scale
                                        fit, the early-termination test, and its completion when it passes
                                        or when the reference completed it (`hNN/resume/*` recorded; the
                                        start is then our first-scale state with the local parameters the
                                        C++ shallow copy leaves, see ceclm.py)
  hNN/first_scale/fit/s0/{rigid,nonrigid}/itNN
                                        inside that first-scale fit, then as hNN/init
  hNN/resume                            the completion from the reference's `hNN/resume/*`
  hNN/fit/sK, hNN/fit/sK/{rigid,nonrigid}/itNN
                                        the completion from scale K (K >= 1) / inside it, from the
                                        reference's state there
  hNN/parts, hNN/parts/<name>, hNN/refit
                                        the part models / one part / the refit from the reference's
                                        `hNN/fit/*` (landmarks.fit_from_reference: the CCNF path's code)
gray_u8 None replays the reference's response maps (then every scale that runs must have them).
Records, in the caller's scope, the reference's names from the start point on (`hNN/...`).
"""

from __future__ import annotations

import re

import numpy as np

from pyparity.errors import InputError
from pyparity.pipelines.clnf.ceclm.fit import CeclmModel, CeclmResult, HypothesisFitter, fit_succeeded, fit_face_ceclm
from pyparity.pipelines.clnf.fitting import landmarks
from pyparity.trace.recorder import StageRecorder

START_NAMES_HELP = ("box, hNN/init, hNN/first_scale/fit/s0/{rigid,nonrigid}/itNN, hNN/resume, hNN/fit/sK, "
                    "hNN/fit/sK/{rigid,nonrigid}/itNN, hNN/parts, hNN/parts/<part name>, hNN/refit")
_START_RE = re.compile(r"^h(\d\d)/(init|first_scale/fit/s0/(rigid|nonrigid)/it(\d\d)|resume|"
                       r"fit/s(\d+)(?:/(rigid|nonrigid)/it(\d\d))?|parts(?:/[A-Za-z0-9_.-]+)?|refit)$")


def _arr(ref, name: str, start: str) -> np.ndarray:
    if name not in ref:
        raise InputError(f"start point {start!r}: the reference has no {name}")
    return np.asarray(ref[name])


def _n_hypotheses(ref, face_prefix: str) -> int:
    return sum(1 for n in ref.names if n.startswith(face_prefix + "h") and n.endswith("/rotation_hypothesis"))


def _result(h: int, out, early: bool) -> CeclmResult:
    res, g, loc, lm, cert, parts = out
    return CeclmResult(fit_succeeded(res, cert), lm, g, loc, res.model_likelihood, res.landmark_likelihoods, parts,
                       best_hypothesis=h,
                       early_terminated=early, view_id=int(getattr(res, "view_id", 0)),
                       detection_certainty=None if cert is None else float(cert))


def ceclm_fit_from_reference(ref, face_prefix: str, start: str, model: CeclmModel, gray_u8=None, rec: StageRecorder | None = None,
                             level: int = 2, validator=None) -> CeclmResult:
    """See the module doc. validator: run after the completion (as fit_face_ceclm), recorded as
    `hNN/validation/certainty`; the result's detection_certainty (None without a validator)."""
    from pyparity.trace import NULL_RECORDER
    rec = NULL_RECORDER if rec is None else rec
    if start == "box":
        return fit_face_ceclm(gray_u8, _arr(ref, face_prefix + "input/bbox", start), model, rec,
                              multi_view=_n_hypotheses(ref, face_prefix) > 1,
                              responses_from=ref if gray_u8 is None else None, trace_prefix=face_prefix,
                              level=level, validator=validator)
    m = _START_RE.match(start)
    if m is None:
        raise InputError(f"unknown CE-CLM start point {start!r}; accepted: {START_NAMES_HELP}")
    hyp, what, fs_phase, fs_it, k, phase, it = m.groups()
    h = int(hyp)
    hp = f"{face_prefix}h{hyp}/"
    f = HypothesisFitter(gray_u8, model, rec, ref if gray_u8 is None else None, face_prefix, level, validator)
    if what.startswith("parts") or what == "refit":
        r = landmarks.fit_from_reference(ref, face_prefix, start, model.clnf, gray_u8, rec, level)
        cert = None
        if validator is not None and gray_u8 is not None:
            from pyparity.pipelines.clnf.fitting.tracking import validate
            with rec.scope(f"h{hyp}"):
                cert, _ = validate(validator, gray_u8, r, rec)
        early = bool(ref.get(face_prefix + "early_terminated", 1))
        return _result(h, (r, r.params_global, r.params_local, r.landmarks_stacked, cert, r.parts), early)
    with rec.scope(f"h{hyp}"):
        if what == "init" or what.startswith("first_scale"):
            g0 = _arr(ref, hp + "init/params_global", start).astype(np.float32).reshape(6)
            loc0 = _arr(ref, hp + "init/params_local", start).astype(np.float32).reshape(-1)
            resume = None
            if fs_phase is not None:
                resume = landmarks.iteration_resume(ref, hp + "first_scale/", 0, fs_phase, int(fs_it), start, g0, loc0)
            fs = f.first_scale(h, g0, loc0, resume)
            d = model.early_term.decide(fs.model_likelihood, fs.view_id)
            if rec.enabled:
                with rec.scope("early_term"):
                    d.record(rec)
            completed_in_ref = hp + "resume/params_global" in ref
            if not (d.passes or completed_in_ref):
                return CeclmResult(fs.success, fs.landmarks_stacked, fs.params_global, fs.params_local,
                                   fs.model_likelihood, fs.landmark_likelihoods, best_hypothesis=h,
                                   early_terminated=False, view_id=fs.view_id)
            loc_start = fs.params_local
            if not d.passes and h != _n_hypotheses(ref, face_prefix) - 1:
                loc_start = np.zeros_like(fs.params_local)      # the shallow-copy quirk (ceclm.py)
            return _result(h, f.complete(h, fs.params_global, loc_start), d.passes)
        early = bool(ref.get(face_prefix + "early_terminated", 1))
        if what == "resume":
            g = _arr(ref, hp + "resume/params_global", start).astype(np.float32).reshape(6)
            loc = _arr(ref, hp + "resume/params_local", start).astype(np.float32).reshape(-1)
            return _result(h, f.complete(h, g, loc), early)
        k = int(k)
        if k < 1:
            raise InputError(f"start point {start!r}: the CE-CLM completion starts at scale 1 "
                             f"(scale 0 is hNN/first_scale/fit/s0)")
        _arr(ref, f"{hp}fit/s{k}/window_size", start)
        if f"{hp}fit/s{k - 1}/params_global" in ref:
            g = np.asarray(ref[f"{hp}fit/s{k - 1}/params_global"], dtype=np.float32).reshape(6)
            loc = np.asarray(ref[f"{hp}fit/s{k - 1}/params_local"], dtype=np.float32).reshape(-1)
        else:
            g = _arr(ref, hp + "resume/params_global", start).astype(np.float32).reshape(6)
            loc = _arr(ref, hp + "resume/params_local", start).astype(np.float32).reshape(-1)
        resume = None if phase is None else landmarks.iteration_resume(ref, hp, k, phase, int(it), start, g, loc)
        n_scales = len(model.experts.patch_scaling)
        return _result(h, f.complete(h, g, loc, scales=list(range(k, n_scales)), resume=resume, record_start=False),
                       early)
