"""Diagnosis: cheap hypotheses that could explain why a stage diverged.

Each hypothesis says how the candidate B relates to the reference A (``B ≈ f(A)``); it is reported
only when applying it leaves a residual within the stage's tolerance. Each one carries the
alignment transform (in the probe-file syntax) that maps B back into A's convention. This module
runs them in order (most specific first); they live one module per bug family under `hypotheses/`.

The hypotheses cover the bug classes that cost ports the most time: transposed or permuted axes
(an im2col that swapped H and W), stacked ``[x0..xn, y0..yn]`` vs interleaved ``[x0, y0, ...]``
layouts (Jacobians, landmarks), BGR/RGB, constant offsets (a crop at (x, y) instead of
(x-1, y-1); half-pixel centres), uniform scale, sign, xywh vs xyxy boxes, row order, rounding,
values that belong to another stage (stale inputs), NMS run on other scores, and landmarks
denormalised with another box.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np

from pyparity.diff.hypotheses import clnf, intrinsics, layout, nms, rotations, rows, stages, transforms, values
from pyparity.diff.hypothesis import MAX_SIZE, Context, Hypothesis
from pyparity.diff.policy import Tolerance

#: Tried in this order, most specific first.
HYPOTHESES: list[Callable] = [
    stages.decision_flip, values.size_off_by_one, intrinsics.intrinsics, rotations.rotations, clnf.mean_shift_grid,
    clnf.mean_shift_similarity, layout.layout, layout.axes, layout.reshape, layout.channels, transforms.boxes,
    values.similarity, values.box_coefficients, transforms.offset, transforms.sign, transforms.scale, rows.row_order,
    values.rows_differ, nms.nms_tie_break, rows.row_subset, values.rounding_modes, transforms.rounding,
    stages.landmark_box, nms.nms_scores, stages.stale,
]
#: For one number on each side, an offset or a scale fits anything: say both values instead.
SINGLE_VALUE_HYPOTHESES: list[Callable] = [stages.decision_flip, values.single_value, stages.stale]

#: What applying each hypothesis's transform means (see hypothesis.FIX_KINDS).
_FIX_KIND = {"transposed": "convention", "transposed-reshaped": "convention", "reshaped": "convention",
             "interleaved": "convention", "stacked": "convention", "xy-rows": "convention",
             "channel-order": "convention", "xyxy": "convention", "xywh": "convention", "offset": "mask",
             "scale": "mask", "sign": "mask", "rounding": "mask"}


def diagnose(a: np.ndarray, b: np.ndarray, tol: Tolerance, ctx: Context | None = None,
             limit: int = 3) -> list[Hypothesis]:
    """The hypotheses (most specific first) that explain how ``b`` diverged from ``a``."""
    ctx = ctx or Context(stage="")
    if a.size > MAX_SIZE or b.size > MAX_SIZE:
        return []
    found: list[Hypothesis] = []
    single = a.size == 1 and b.size == 1
    with np.errstate(all="ignore"):
        for h in (SINGLE_VALUE_HYPOTHESES if single else HYPOTHESES):
            try:
                for hyp in h(a, b, tol, ctx):
                    if not hyp.fix_kind and not hyp.transform.startswith("#"):
                        hyp.fix_kind = ("convention" if hyp.id == "offset" and "half-pixel" in hyp.title
                                        else _FIX_KIND.get(hyp.id, "mask"))
                    if all(f.id != hyp.id for f in found):
                        found.append(hyp)
            except (ValueError, TypeError, FloatingPointError, IndexError, KeyError):
                continue  # a hypothesis that does not apply to these arrays is no explanation
            if len(found) >= limit:
                break
        if any(h.id == "rows-differ" for h in found):
            found = [h for h in found if h.id != "row-set"]  # rows that moved, not another selection
        if not found and not single:
            try:
                # nothing explains it: say at least where it is, or that it is small and everywhere
                found = list(values.localised(a, b, tol, ctx)) or list(values.spread(a, b, tol, ctx))
            except (ValueError, TypeError, FloatingPointError, IndexError, KeyError):
                pass
    return found


def explain(hypotheses: Iterable[Hypothesis]) -> str:
    return "; ".join(h.title for h in hypotheses)
