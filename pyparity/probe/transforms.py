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
| ``sort_rows = true`` | sort rows lexicographically |
| ``squeeze = true`` | drop axes of length 1 |

These are the steps that `pyparity diff` prints after "align with:" when it diagnoses a convention
difference, so a diagnosis can be pasted into a probe file.
"""

from __future__ import annotations

from typing import Any, Iterable

import numpy as np

from pyparity.conventions import (
    interleaved_to_stacked, stacked_to_interleaved, stacked_to_xy, xy_to_stacked, xywh_to_xyxy, xyxy_to_xywh,
)
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
         "round", "sort_rows", "squeeze")


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
            if k == "dtype":
                try:
                    np.dtype(v)
                except TypeError:
                    raise TransformError(f"{where}: unknown dtype {v!r}") from None
            steps.append((k, v, {"axis": axis}))
    return steps


def apply_steps(a: np.ndarray, steps: Iterable[tuple[str, Any, dict]], where: str = "transform") -> np.ndarray:
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
            elif k == "sort_rows" and v:
                a = a[np.lexsort(a.reshape(a.shape[0], -1).T[::-1])] if a.ndim and a.shape[0] else a
            elif k == "squeeze" and v:
                a = np.squeeze(a)
        except (ValueError, IndexError, TypeError, np.exceptions.AxisError) as exc:
            raise TransformError(f"{where}: step {k} = {v!r} fails on an array of shape {list(a.shape)} ({exc})") from None
    # np.ascontiguousarray would turn a 0-d array (a recorded scalar) into shape (1,)
    return np.ascontiguousarray(a) if a.ndim else np.array(a)
