"""What every diagnosis hypothesis shares: the `Hypothesis` it reports, the `Context` it may look at,
and `explains`, the test that a predicted array matches the candidate within the stage's tolerance."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pyparity.diff.compare import compute_metrics
from pyparity.diff.policy import Tolerance

#: What applying a hypothesis's transform means. A *convention* fix aligns two ways of writing the same
#: values (a layout, an axis order, a box format): the port may be right. A *mask* makes the numbers
#: agree by undoing what the port computed (an offset, a scale, a rounding): it hides a difference
#: that is most likely a bug, unless the reference is known to use that convention.
FIX_KINDS = ("convention", "mask")

#: Arrays larger than this (elements) are not diagnosed: the hypotheses would cost more than the report.
MAX_SIZE = 20_000_000


@dataclass
class Hypothesis:
    """One explanation of a divergence. ``transform`` aligns B to A (probe-file syntax), or starts with
    ``#`` when there is nothing to align (a hint where to look); ``fix_kind`` says whether that
    transform is a convention fix or a mask (`FIX_KINDS`)."""

    id: str
    title: str
    detail: str
    transform: str
    residual: float
    fix_kind: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Context:
    """What a hypothesis may look at besides the two arrays."""

    stage: str
    reference: object = None          # the reference Trace (A), for cross-stage hypotheses
    candidate: object = None          # the candidate Trace (B)
    earlier: tuple[str, ...] = ()     # A's stage names recorded before this one


def explains(predicted: np.ndarray, b: np.ndarray, tol: Tolerance) -> float | None:
    """Residual max abs error when ``predicted`` matches ``b`` within tolerance, else None."""
    if predicted.shape != b.shape:
        return None
    t = tol if not tol.exact else Tolerance()
    m = compute_metrics(predicted.astype(np.result_type(predicted.dtype, b.dtype), copy=False), b, t)
    return None if m.n_over else m.max_abs


def f64(x: np.ndarray) -> np.ndarray:
    return np.asarray(x).astype(np.float64, copy=False)


def earlier_in_scope(ctx: Context, leaf_filter=None) -> list[str]:
    """The reference's earlier stages, nearest first, that share the stage's scope (its parent folders,
    innermost first)."""
    if ctx.reference is None:
        return []
    parts = ctx.stage.split("/")
    out = []
    for depth in range(len(parts) - 1, 0, -1):
        scope = "/".join(parts[:depth]) + "/"
        for n in reversed(ctx.earlier):
            if n.startswith(scope) and n not in out and (leaf_filter is None or leaf_filter(n)):
                out.append(n)
    return out
