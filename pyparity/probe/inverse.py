"""Alignment transforms run backwards: a reference's value brought into a port's own layout.

A capture's transform maps what the port computed into the reference's conventions. To *inject* the
reference's value at that point, the steps run in reverse. Several steps lose information going
forward (``rows`` selects, ``dtype`` casts, ``sort_rows`` reorders, ``concat`` joins), so the forward
pass keeps a `Tape`: the input of every step, from the port's own value at that call. Undoing a step
then takes what it needs from there (the port's dtype, its row order, the sizes of the joined parts,
the rows a selection left out). `transforms.INVERSE` says, step by step, how each one is undone.

Undoing is exact where a step is a bijection (transpose, layout, boxes, flip, offset, scale); where
it is not, the result is a value that the forward steps map onto the reference's exactly (a
right-inverse): rounding keeps the reference's already rounded value, a cast goes back to the port's
dtype.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyparity.conventions import (
    interleaved_to_stacked, stacked_to_interleaved, stacked_to_xy, xy_to_stacked, xywh_to_xyxy, xyxy_to_xywh,
)
from pyparity.diff.compare import row_order
from pyparity.errors import PyparityError
from pyparity.probe.transforms import JOINS, TransformError, apply_steps, as_parts


class InverseError(PyparityError):
    """A reference value that the capture's transform cannot bring back into the port's layout."""


@dataclass
class Tape:
    """What the forward pass saw: each step's input (``parts``: the joined arrays, before a join)."""

    inputs: list = field(default_factory=list)
    parts: list | None = None


def forward(value: Any, steps: list, where: str = "") -> tuple[np.ndarray, Tape]:
    """``apply_steps`` one step at a time, keeping every step's input for `inverse`."""
    tape = Tape()
    steps = list(steps)
    if steps and steps[0][0] in JOINS:
        tape.parts = as_parts(value)
        value = apply_steps(tape.parts, steps[:1], where)
        steps = steps[1:]
    a = np.asarray(value)
    for step in steps:
        tape.inputs.append(a)
        a = apply_steps(a, [step], where)
    return a, tape


def inverse(ref: np.ndarray, steps: list, tape: Tape) -> Any:
    """The value that the capture's steps map onto ``ref``, in the layout of the port's value on ``tape``
    (a list of arrays when the transform starts by joining several)."""
    steps = list(steps)
    join = steps[0] if steps and steps[0][0] in JOINS else None
    body = steps[1:] if join else steps
    y = np.asarray(ref)
    for (k, v, opt), x in zip(reversed(body), reversed(tape.inputs)):
        try:
            y = _undo(k, v, opt, x, y)
        except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
            raise InverseError(f"step {k} = {v!r} cannot be undone on the reference's array of shape "
                               f"{list(y.shape)} ({exc})") from None
    if join is None:
        return y
    k, v, _ = join
    sizes = [np.asarray(p).shape[v] if k == "concat" else 1 for p in tape.parts]
    if k == "stack":
        return [np.take(y, i, axis=v) for i in range(y.shape[v])]
    if y.shape[v] == sum(sizes):
        return np.split(y, np.cumsum(sizes)[:-1], axis=v)
    if len(sizes) == 1:
        return [y]
    raise InverseError(f"concat = {v}: the reference has {y.shape[v]} along axis {v} where the port's "
                       f"{len(sizes)} parts had {sizes}: cannot split it")


def _undo(k: str, v, opt: dict, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Undo step ``k`` whose input was ``x`` (the port's) and whose output should be ``y``."""
    if k == "transpose":
        return np.transpose(y, np.argsort(v))
    if k in ("reshape", "squeeze"):
        if k == "squeeze" and v is not True and v is not False and y.size != x.size:
            return np.expand_dims(y, v)
        return _reshape_like(y, x)
    if k == "expand_dims":
        return np.squeeze(y, axis=v)
    if k == "layout":
        if v == "xy_to_stacked":
            return stacked_to_xy(y)
        if v == "stacked_to_xy":
            return _reshape_like(xy_to_stacked(y), x, fixed_tail=False)
        back = interleaved_to_stacked if v == "stacked_to_interleaved" else stacked_to_interleaved
        return np.moveaxis(back(np.moveaxis(y, opt["axis"], 0)), 0, opt["axis"])
    if k == "boxes":
        return (xywh_to_xyxy if v == "xyxy_to_xywh" else xyxy_to_xywh)(y)
    if k == "flip_axis":
        return np.flip(y, v)
    if k == "dtype":
        return y.astype(x.dtype)
    if k == "rows":
        sel = _rows_selector(v)
        if isinstance(sel, slice) and sel == slice(None):
            return y
        part = x[sel]
        if part.shape != y.shape:
            raise ValueError(f"the reference has {y.shape[0] if y.ndim else 0} row(s) where the port selected "
                             f"{part.shape[0] if part.ndim else 0} of its {x.shape[0]}")
        out = np.array(x, dtype=np.result_type(x.dtype, y.dtype), copy=True)
        out[sel] = y
        return out
    if k == "offset":
        return y - np.asarray(v, dtype=y.dtype if y.dtype.kind == "f" else np.float64)
    if k == "scale":
        s = np.asarray(v, dtype=np.float64)
        if np.any(s == 0):
            raise ValueError("scale 0 cannot be undone")
        return (y / s).astype(y.dtype if y.dtype.kind == "f" else np.float64)
    if k == "round":
        return y
    if k == "sort_rows":
        if v is False or y.ndim == 0 or x.ndim == 0 or y.shape[0] != x.shape[0] or x.shape[0] == 0:
            return y
        order = row_order(x, v)
        out = np.empty_like(y)
        out[order] = y
        return out
    raise ValueError(f"unknown step {k!r}")


def _rows_selector(v):
    if isinstance(v, str):
        lo, _, hi = v.partition(":")
        return slice(int(lo) if lo else None, int(hi) if hi else None)
    return np.asarray(v, dtype=np.int64)


def _reshape_like(y: np.ndarray, x: np.ndarray, fixed_tail: bool = True) -> np.ndarray:
    """``y`` in ``x``'s shape; when the sizes differ (another number of rows), the first axis of ``x``
    takes what is left, or — for a squeeze — the axes of ``x`` longer than one take ``y``'s."""
    if y.size == x.size:
        return y.reshape(x.shape)
    if x.ndim == 0:
        raise ValueError(f"{y.size} values cannot be one value")
    if y.ndim and [d for d in x.shape if d != 1][1:] == [d for d in y.shape if d != 1][1:]:
        dims = iter(d for d in y.shape if d != 1)
        shape = [1 if d == 1 else next(dims, 1) for d in x.shape]
        if int(np.prod(shape)) == y.size:
            return y.reshape(shape)
    tail = int(np.prod(x.shape[1:]))
    if fixed_tail and tail and y.size % tail == 0:
        return y.reshape((y.size // tail,) + x.shape[1:])
    raise ValueError(f"{y.size} values do not fit the port's shape {list(x.shape)}")


def check_steps_invertible(steps: list) -> str | None:
    """Why a transform cannot be undone whatever the values (None when it can, maybe given the port's value)."""
    for k, v, _ in steps:
        if k == "scale" and np.any(np.asarray(v, dtype=np.float64) == 0):
            return "scale = 0 cannot be undone"
    return None


__all__ = ["InverseError", "Tape", "forward", "inverse", "check_steps_invertible", "TransformError"]
