"""Alignment transforms: bring a port's array into the reference's conventions before comparing.

A transform is an ordered table of steps (TOML inline table or a list of tables), each one of:

| step | meaning |
|---|---|
| ``transpose = [2, 0, 1]`` | permute axes |
| ``reshape = [68, 2]`` | reshape (``-1`` allowed) |
| ``layout = "interleaved_to_stacked"`` / ``"stacked_to_interleaved"`` / ``"xy_to_stacked"`` / ``"stacked_to_xy"`` | landmark layouts (along ``axis``, default 0) |
| ``boxes = "xyxy_to_xywh"`` / ``"xywh_to_xyxy"`` | box conventions (last axis) |
| ``flip_axis = 2`` | reverse an axis (BGR ↔ RGB) |
| ``dtype = "float32"`` | cast |
| ``rows = [0, 2]`` / ``rows = "0:5"`` | select rows |
| ``offset = [-1, -1, 0, 0]`` / ``scale = 0.5`` | add / multiply (per last-axis column when a list) |
| ``round = 1`` / ``round = "floor"`` (``"trunc"``, ``"ceil"``) | round to N decimals / to an integer that way |
| ``sort_rows = true`` / ``sort_rows = [1, 0]`` | sort rows lexicographically (by all columns / by these, first key first) |
| ``squeeze = true`` / ``squeeze = 0`` | drop axes of length 1 / that axis |
| ``expand_dims = 0`` | insert an axis of length 1 |
| ``concat = 1`` | join the captured arrays (a tuple or list value, or ``value = [...]``) along an axis |
| ``stack = 0`` | stack the captured arrays along a new axis |

``concat`` and ``stack`` take a sequence (a two-headed output ``return``, or the values of several
paths of one call, ``value = ["return[0]", "return[1]"]``); every other step takes one array, so they
come first. Every step can be run backwards (`pyparity.probe.inverse`): that is how a reference's value
is injected into a port in the port's own layout (``INVERSE`` says how each step is undone).

These are the steps that `pyparity diff` prints after "align with:" when it diagnoses a convention
difference, so a diagnosis can be pasted into a probe file.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from pyparity.conventions import (
    interleaved_to_stacked, stacked_to_interleaved, stacked_to_xy, xy_to_stacked, xywh_to_xyxy, xyxy_to_xywh,
)
from pyparity.diff.compare import row_order
from pyparity.errors import PyparityError


class TransformError(PyparityError):
    pass


_LAYOUTS = {
    "interleaved_to_stacked": interleaved_to_stacked,
    "stacked_to_interleaved": stacked_to_interleaved,
    "xy_to_stacked": xy_to_stacked,
    "stacked_to_xy": stacked_to_xy,
}
_BOXES = {"xyxy_to_xywh": xyxy_to_xywh, "xywh_to_xyxy": xywh_to_xyxy}
_ROUNDINGS = {"floor": np.floor, "trunc": np.trunc, "ceil": np.ceil}
STEPS = ("transpose", "reshape", "layout", "axis", "boxes", "flip_axis", "dtype", "rows", "offset", "scale",
         "round", "sort_rows", "squeeze", "expand_dims", "concat", "stack")
#: Steps that join a sequence of arrays into one.
JOINS = ("concat", "stack")
#: How each step is undone when a reference value is injected into the port (probe/inverse.py).
INVERSE = {
    "transpose": "the inverse permutation",
    "reshape": "reshaped back to the port's shape (its first axis free when the reference has another length)",
    "layout": "the opposite layout",
    "boxes": "the opposite box convention",
    "flip_axis": "flipped again",
    "dtype": "cast back to the port's dtype",
    "rows": "written into the port's own array at the selected rows (as many rows as the port selected)",
    "offset": "subtracted",
    "scale": "divided (scale 0 cannot be undone)",
    "round": "kept: the reference's value is already rounded",
    "sort_rows": "put back in the port's row order (the reference's order when the row counts differ)",
    "squeeze": "the dropped axes put back",
    "expand_dims": "the axis dropped",
    "concat": "split at the port's part sizes",
    "stack": "unstacked",
}


def normalise_steps(spec: Any, where: str) -> list[tuple[str, Any, dict]]:
    """Validate a transform spec into [(step, value, options)] in application order."""
    if spec is None:
        return []
    tables = spec if isinstance(spec, list) else [spec]
    steps = []
    for t in tables:
        if not isinstance(t, dict):
            raise TransformError(f"{where}: a transform is a table such as {{ transpose = [1, 0] }}")
        axis = t.get("axis", 0)
        for k, v in t.items():
            if k not in STEPS:
                raise TransformError(f"{where}: unknown transform step {k!r} (known: {', '.join(STEPS)})")
            if k == "axis":
                continue
            if k == "layout" and v not in _LAYOUTS:
                raise TransformError(f"{where}: layout must be one of {', '.join(_LAYOUTS)}")
            if k == "boxes" and v not in _BOXES:
                raise TransformError(f"{where}: boxes must be one of {', '.join(_BOXES)}")
            if k == "round" and not (isinstance(v, int) and not isinstance(v, bool) or v in _ROUNDINGS):
                raise TransformError(f"{where}: round must be a number of decimals or one of {', '.join(_ROUNDINGS)}")
            if k == "sort_rows" and not (isinstance(v, bool) or isinstance(v, list) and v and all(map(_is_int, v))):
                raise TransformError(f"{where}: sort_rows = true, or a list of key columns (first key first)")
            if k in ("expand_dims", "concat", "stack") and not _is_int(v):
                raise TransformError(f"{where}: {k} takes an axis (an integer), not {v!r}")
            if k == "squeeze" and not (isinstance(v, bool) or _is_int(v)):
                raise TransformError(f"{where}: squeeze = true (every axis of length 1) or an axis, not {v!r}")
            if k in JOINS and steps:
                raise TransformError(f"{where}: {k} joins the captured arrays, so it must be the first step")
            if k == "rows" and isinstance(v, str) and v.count(":") != 1:
                raise TransformError(f'{where}: rows must be a list of row numbers or a slice such as "0:5"')
            if k == "dtype":
                try:
                    np.dtype(v)
                except TypeError:
                    raise TransformError(f"{where}: unknown dtype {v!r}") from None
            steps.append((k, v, {"axis": axis}))
    return steps


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def as_parts(value) -> list[np.ndarray]:
    """A captured sequence (tuple, list, or one array's first axis) as a list of arrays, for concat/stack."""
    if isinstance(value, np.ndarray):
        return list(value)
    return [np.asarray(v) for v in value]


def apply_steps(a: np.ndarray, steps: Iterable[tuple[str, Any, dict]], where: str = "transform") -> np.ndarray:
    steps = list(steps)
    if steps and steps[0][0] in JOINS:
        k, v, _ = steps[0]
        try:
            a = np.concatenate(as_parts(a), axis=v) if k == "concat" else np.stack(as_parts(a), axis=v)
        except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
            raise TransformError(f"{_prefix(where)}step {k} = {v!r} cannot join the captured values ({exc})") from None
        steps = steps[1:]
    a = np.asarray(a)
    for k, v, opt in steps:
        try:
            if k == "transpose":
                a = np.transpose(a, v)
            elif k == "reshape":
                a = a.reshape(v)
            elif k == "layout":
                fn = _LAYOUTS[v]
                if v in ("xy_to_stacked", "stacked_to_xy"):
                    a = fn(a)
                else:
                    a = np.moveaxis(fn(np.moveaxis(a, opt["axis"], 0)), 0, opt["axis"])
            elif k == "boxes":
                a = _BOXES[v](a)
            elif k == "flip_axis":
                a = np.flip(a, v)
            elif k == "dtype":
                a = a.astype(v)
            elif k == "rows":
                if isinstance(v, str):
                    lo, _, hi = v.partition(":")
                    a = a[int(lo) if lo else None : int(hi) if hi else None]
                else:
                    a = a[np.asarray(v, dtype=np.int64)]
            elif k == "offset":
                a = a + np.asarray(v, dtype=a.dtype if a.dtype.kind == "f" else np.float64)
            elif k == "scale":
                a = a * (np.asarray(v, dtype=a.dtype) if a.dtype.kind == "f" else v)
            elif k == "round":
                a = _ROUNDINGS[v](a) if isinstance(v, str) else np.round(a, v)
            elif k == "sort_rows" and v is not False:
                a = a[row_order(a, v)] if a.ndim and a.shape[0] else a
            elif k == "squeeze" and v is not False:
                a = np.squeeze(a) if v is True else np.squeeze(a, axis=v)
            elif k == "expand_dims":
                a = np.expand_dims(a, v)
        except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
            raise TransformError(f"{_prefix(where)}step {k} = {v!r} fails on an array of shape {list(a.shape)} ({exc})") from None
    # np.ascontiguousarray would turn a 0-d array (a recorded scalar) into shape (1,)
    return np.ascontiguousarray(a) if a.ndim else np.array(a)
