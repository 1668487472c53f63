"""Free-running drift through semgcn-temporal's feedback, told apart from a port defect.

The temporal model feeds each frame's POF back as the next frame's ``prev_pof``. Run free, two
float32 implementations of the same model (upstream on two CPUs, upstream and its own float64 run,
upstream and this port) drift apart from frame to frame: the recurrence amplifies last-bit rounding
(measured on a 33-frame clip: upstream float32 vs float64 7.9e-5, this port vs upstream 3.0e-4,
while every single step agrees to <= 3e-6). A free-running difference above the policy is therefore
not evidence of a defect by itself. It is accepted as drift only when:

* it starts after frame 0 and stays in the stages the feedback reaches (``RECURRENT``);
* no discrete decision changed (the policy's exact rules are kept in force); and
* the per-step run - every frame fed the reference's previous output through the same feedback rule
  (``reconstruct_from_reference(StageRef(ref, "model"))``) - matches the reference under the policy at every
  stage, so each step of the port, and the feedback rule itself, is right.

Then the free-running stages are reported as expected divergences with that reason; otherwise the
divergence stands.
"""

from __future__ import annotations

from pyparity.diff.policy import Policy
from pyparity.diff.report import DiffReport
from pyparity.trace.trace import glob_match

# Stages (below frameNNNN/) that depend on prev_pof. The layers before temporal_combine see the
# current frame only and stay held to the policy.
RECURRENT = (
    "model/in/prev_pof", "model/prev_pof_used", "model/prev_encoder/**", "model/temporal_combine/**",
    "model/temporal_combine", "model/pof_head/**", "model/z_sign_head/**", "model/out/*", "zsign/*",
    "zsign_path/*", "metric/pof", "ls/**", "output/*",
)
# frame0001 and later (frame0000 has no feedback yet: zeros)
LATER_FRAMES = ("frame000[1-9]", "frame00[1-9]?", "frame0[1-9]??", "frame[1-9]???")
RECURRENT_LATER = tuple(f"{f}/{s}" for f in LATER_FRAMES for s in RECURRENT)


def is_feedback_stage(name: str) -> bool:
    return any(glob_match(name, p) for p in RECURRENT_LATER)


def could_be_drift(report: DiffReport, policy: Policy) -> bool:
    """Every failing stage lies downstream of the feedback after frame 0, and none is a decision."""
    failing = report.failing
    return bool(failing) and all(is_feedback_stage(s.name) and not policy.tolerance_for(s.name).exact
                                 for s in failing)


def drift_policy(base: Policy, reason: str) -> Policy:
    """``base`` with the feedback stages after frame 0 declared expected divergences (``reason``),
    each under its own base tolerance; exact stages (decisions) are left as they are, so a flipped
    decision still fails."""
    return base.with_expected(RECURRENT_LATER, reason, "temporal drift")


def drift_reason(free: DiffReport, per_step: DiffReport) -> str:
    """One line for the report: where the free run drifts, and how close each step is."""
    worst_free = free.worst
    aligned = [s for s in per_step.stages if s.max_abs is not None and is_feedback_stage(s.name)]
    worst_step = max(aligned, key=lambda s: s.max_abs, default=None)
    first = free.first_divergence or "?"
    frame = first.split("/")[0]
    return (f"temporal feedback drift: float32 rounding amplified through prev_pof, from {frame} on "
            f"(free run worst {worst_free.max_abs:.3g} at {worst_free.name}); each step run from the "
            f"reference's previous POF matches (worst {worst_step.max_abs if worst_step else 0.0:.3g}"
            + (f" at {worst_step.name})" if worst_step else ")"))
