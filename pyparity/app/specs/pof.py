"""POF 3D body pose (humanpose3d's camera POF, `pyparity.pipelines.pof`) as a pipeline: upstream-exact
by default; each upstream defect has a named fix whose policy overlay declares what it changes.

For semgcn-temporal, a free-running divergence that the prev_pof feedback could explain is checked
after the diff (`pof_drift`): drift is reported as expected when every step, run from the reference's
previous POF, matches; ``strict_temporal`` turns the check off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from pyparity.app.spec import CheckContext, CheckResult, Fix, PipelineSpec, RunContext
from pyparity.errors import InputError

START_POINTS = ("input", "model", "solver")

FIXES = {f.name: f for f in (
    Fix("signed", {"fallback": "signed"}, "pof-fix-signed", "the fallback scale follows the POF's z sign"),
    Fix("zsign", {"zsign": "always"}, "pof-fix-zsign", "the z-sign head corrects every frame"),
    Fix("isotropic", {"aspect": "isotropic"}, "pof-fix-isotropic", "y rescaled to v/W before use"),
    Fix("bone_table", {"torso": "bone_table"}, "pof-fix-bone_table", "metric torso from the bone table"),
)}


class Variant(str, Enum):
    """The four POF networks (upstream's model_type)."""

    semgcn_temporal = "semgcn-temporal"
    semgcn = "semgcn"
    gcn = "gcn"
    transformer = "transformer"


Start = Enum("PofStart", {s: s for s in START_POINTS}, type=str)
FixName = Enum("FixName", {name: name for name in FIXES}, type=str)
Fallback = Enum("Fallback", {"upstream": "upstream", "signed": "signed"}, type=str)
ZSign = Enum("ZSign", {"upstream": "upstream", "always": "always", "never": "never"}, type=str)
Aspect = Enum("Aspect", {"upstream": "upstream", "isotropic": "isotropic"}, type=str)
Torso = Enum("Torso", {"upstream": "upstream", "bone_table": "bone_table"}, type=str)


def _value(x):
    return None if x is None else str(getattr(x, "value", x))


@dataclass(frozen=True)
class PofOptions:
    """model: the variant; weights: upstream .pth (needs torch) or .npz, or ``synthetic``; height: the
    subject's height in m (default: the dump's, else 1.78); trc/fps: also write the 3D joints as TRC;
    fallback/zsign/aspect/torso: upstream's behaviour or a fix (``fixes`` sets them by name);
    image_size: (W, H) of the source image for aspect isotropic; strict_temporal: no drift check."""

    model: str = "semgcn-temporal"
    weights: Path | None = None
    synthetic: bool = False
    height: float | None = None
    trc: Path | None = None
    fps: float = 30.0
    fallback: str = "upstream"
    zsign: str = "upstream"
    aspect: str = "upstream"
    torso: str = "upstream"
    fixes: tuple[str, ...] = ()
    image_size: tuple[int, int] = (1920, 1080)
    strict_temporal: bool = False

    def resolved(self) -> "PofOptions":
        """The options with every named fix applied (plain strings throughout)."""
        kw = {k: _value(getattr(self, k)) for k in ("model", "fallback", "zsign", "aspect", "torso")}
        for name in map(_value, self.fixes):
            if name not in FIXES:
                raise InputError(f"expected one of {', '.join(FIXES)}", param="fix", value=name)
            kw.update(FIXES[name].options)
        return replace(self, fixes=tuple(map(_value, self.fixes)), **kw)

    def applied_fixes(self) -> list[str]:
        """The fixes these options amount to, whichever way they were asked for."""
        o = self.resolved()
        return [f.name for f in FIXES.values() if all(getattr(o, k) == v for k, v in f.options.items())]


def parse_image_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InputError("expected WxH, e.g. 1920x1080", param="image_size", value=text) from None
    if w <= 0 or h <= 0:
        raise InputError("width and height must be > 0", param="image_size", value=text)
    return w, h


@dataclass
class PofRun:
    """What the post-diff check needs of a run: the model, the height used and the options."""

    result: object
    model: object
    height: float | None
    options: object


def run(ctx: RunContext) -> PofRun:
    from pyparity.pipelines.pof.checkpoint import load_checkpoint, synthetic_model
    from pyparity.pipelines.pof.io import read_keypoints, write_trc
    from pyparity.pipelines.pof.reconstruct import Options, reconstruct_3d, reconstruct_from_reference

    o = ctx.options.resolved()
    solver_only = ctx.start is not None and ctx.start.stage == "solver"
    if not solver_only and (o.weights is None) == (not o.synthetic):
        raise InputError("give exactly one of a weights file and synthetic weights", param="weights")
    if o.height is not None and not (math.isfinite(o.height) and o.height > 0):
        raise InputError("must be > 0 m (and finite)", param="height", value=o.height)
    if not (math.isfinite(o.fps) and o.fps > 0):
        raise InputError("must be > 0 (and finite)", param="fps", value=o.fps)
    model = None
    if not solver_only:
        model = synthetic_model(o.model) if o.synthetic else load_checkpoint(o.weights, None)
        if not o.synthetic and model.variant != o.model:
            raise InputError(f"{o.weights}: the checkpoint is a {model.variant} model", param="model", value=o.model)
    opts = Options(fallback=o.fallback, zsign=o.zsign, aspect=o.aspect, torso=o.torso, image_size=tuple(o.image_size))
    height = o.height
    if ctx.start is not None:
        res = reconstruct_from_reference(model, ctx.start, o.height, ctx.rec, opts)
    else:
        kp, vis, h_dump = read_keypoints(ctx.input)
        height = o.height if o.height is not None else (h_dump if h_dump is not None else 1.78)
        res = reconstruct_3d(model, kp, vis, height, ctx.rec, opts)
    if o.trc is not None:
        write_trc(o.trc, res.pose_3d_m, o.fps)
    ctx.models = model
    return PofRun(res, model, height, opts)


def check_temporal_drift(ctx: CheckContext) -> CheckResult:
    """semgcn-temporal, run free: where the diff fails only in stages the prev_pof feedback reaches after
    frame 0 and no decision changed, rerun each step from the reference's previous POF; if every step
    matches, the free-running differences are drift (expected divergences), else the divergence stands."""
    from pyparity.app.compare import compare
    from pyparity.app.specs import pof_drift
    from pyparity.pipelines.pof.reconstruct import reconstruct_from_reference
    from pyparity.trace import Recorder, StageRef

    free, run_ = ctx.report, ctx.run
    pof_run: PofRun = ctx.result
    options = ctx.options.resolved()
    if (free.ok or run_ is None or run_.start is not None or pof_run.model is None or not pof_run.model.temporal
            or options.strict_temporal or not pof_drift.could_be_drift(free, ctx.policy)):
        return CheckResult(free)
    try:
        rec = Recorder()
        reconstruct_from_reference(pof_run.model, StageRef(ctx.reference, "model"), pof_run.height, rec,
                                   pof_run.options)
    except InputError as e:  # the reference lacks the per-frame model inputs: the free diff stands
        return CheckResult(free, [f"per-step check not possible ({e}); the free-running divergence stands"])
    steps = rec.finish()
    per_step = compare(steps, ctx.reference, policy=ctx.policy, scope=_groups(steps))
    if not per_step.ok:
        return CheckResult(free, ["per-step run (each frame from the reference's previous POF) diverges too:\n"
                                  + per_step.summary()])
    reason = pof_drift.drift_reason(free, per_step)
    report = compare(ctx.trace, ctx.reference, ctx.reports, policy=pof_drift.drift_policy(ctx.policy, reason),
                     scope=_groups(ctx.trace))
    return CheckResult(report, ["semgcn-temporal: the free-running differences above are drift through the "
                                "feedback, not a defect (the strict-temporal option makes them fail)"])


def _groups(trace):
    from pyparity.app.spec import recorded_groups

    return recorded_groups(trace)


POF = PipelineSpec(
    name="pof", about="POF 3D body pose (semgcn-temporal, semgcn, gcn, transformer): network, LS solver, bones",
    policy="pof", run=run, options=PofOptions, start_points=START_POINTS, fixes=FIXES,
    producer=lambda o: {"model": _value(o.model), "fixes": o.applied_fixes()}, check=check_temporal_drift,
    key_outputs=("frame*/output/pose_3d_m",),
)
