"""Injection: replace what a port computes at a capture by the reference's value of that stage.

`Injector` holds the reference and the stages to inject. At a capture that fires on one of them, the
capture machinery (capture.py) takes the reference's array, runs the capture's transform backwards
(inverse.py), gives it the port's own type back (`restore_type`: NumPy dtype, a torch tensor's dtype
and device, Python scalars, lists and tuples, ``{index: array}`` dicts, empty arrays) and writes it at
the capture's value path (`replace_at`): the call's argument before the call, its return value or an
attribute after it. Containers on the way are copied (a tuple is rebuilt, an array is copied before a
slice of it is written), so the caller's own objects are not changed, except attributes of objects
(``self.x``), which are set.

When the reference has another number of rows than the port at a path that selects columns of every
row (``return[:, 0:4]``), the port's array is rebuilt with the reference's rows; each row's other
columns come from the port's nearest row (rows paired by optimal assignment on the injected columns).
Such a fill is noted, and the hunt reports it.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from pyparity.errors import PyparityError
from pyparity.probe.valuepath import ValuePath


class InjectionError(PyparityError):
    """A reference value that cannot be written into the port where the capture says."""


@dataclass
class Injector:
    """The reference and the stages whose values replace the port's: exact names or globs, and every
    stage of the captures named by number (``captures``: a difference the port repeats at each call)."""

    reference: object                              # a Trace
    stages: Iterable[str] = ()
    captures: Iterable[int] = ()
    injected: list[str] = field(default_factory=list)      # stages actually replaced, in order
    notes: list[str] = field(default_factory=list)         # how values were fitted into the port
    failed: dict[str, str] = field(default_factory=dict)   # stage -> why it could not be injected

    def __post_init__(self):
        self.stages = list(self.stages)
        self.captures = set(self.captures)
        self._exact = {s for s in self.stages if not any(c in s for c in "*?[")}
        self._globs = [s for s in self.stages if s not in self._exact]

    def wants(self, stage: str, capture: int | None = None) -> bool:
        if stage not in self.reference:
            return False
        return (capture in self.captures or stage in self._exact
                or any(fnmatch.fnmatchcase(stage, g) for g in self._globs))

    def value(self, stage: str) -> np.ndarray:
        return np.array(self.reference[stage], copy=True)


def _is_torch(x) -> bool:
    return hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "device")


def restore_type(new: Any, original: Any) -> Any:
    """``new`` (an array, or a list of arrays for a joined capture) in the type of the port's ``original``."""
    if isinstance(original, (list, tuple)) and not isinstance(new, (list, tuple)) and not _is_torch(original):
        # a list of arrays recorded as one stacked array (e.g. a batch of crops): one element per row
        proto = original[0] if len(original) else None
        items = [restore_type(np.asarray(new)[i], proto) for i in range(np.asarray(new).shape[0])]
        return type(original)(items) if isinstance(original, list) else tuple(items)
    if isinstance(new, (list, tuple)) and isinstance(original, np.ndarray):
        new = np.stack([np.asarray(x) for x in new])  # an array captured as its parts (concat/stack of rows)
    elif isinstance(new, (list, tuple)):
        protos = list(original) if isinstance(original, (list, tuple)) else [None] * len(new)
        protos += [protos[-1] if protos else None] * (len(new) - len(protos))
        items = [restore_type(n, p) for n, p in zip(new, protos)]
        return tuple(items) if isinstance(original, tuple) else items
    if isinstance(original, dict) and original and all(isinstance(k, (int, np.integer)) for k in original):
        keys = sorted(original)
        arr = np.asarray(new)
        if arr.shape[0] != len(keys):
            raise InjectionError(f"the reference has {arr.shape[0]} entries where the port's dict has {len(keys)}")
        return {k: restore_type(arr[i], original[k]) for i, k in enumerate(keys)}
    arr = np.asarray(new)
    if _is_torch(original):
        import torch

        return torch.as_tensor(np.ascontiguousarray(arr)).to(dtype=original.dtype, device=original.device)
    if isinstance(original, np.ndarray):
        out = np.array(arr, dtype=original.dtype, copy=True)
        return out.reshape(()) if original.ndim == 0 and out.size == 1 else out
    if isinstance(original, np.generic):
        return original.dtype.type(arr.reshape(-1)[0]) if arr.size == 1 else arr.astype(original.dtype)
    if isinstance(original, (bool, int, float)) and arr.size == 1:
        return type(original)(arr.reshape(-1)[0].item())
    return arr


def replace_at(root: Any, path: ValuePath, new: Any, notes: list[str] | None = None, stage: str = "") -> Any:
    """``root`` with the value at ``path`` (its steps after the root) replaced by ``new``, already in the
    port's type (`restore_type`); returns the new root."""
    if not path.steps:
        return new
    chain = [root]
    for kind, key in path.steps[:-1]:
        v = chain[-1]
        chain.append(v[key] if kind == "index" or isinstance(v, dict) else getattr(v, key))
    value = new
    for (kind, key), container in zip(reversed(path.steps), reversed(chain)):
        value = _set(container, kind, key, value, notes, stage)
    return value


def _set(container, kind: str, key, value, notes, stage):
    if kind == "attr" and not isinstance(container, dict):
        setattr(container, key, value)
        return container
    if isinstance(container, dict):
        out = dict(container)
        out[key] = value
        return out
    if isinstance(container, tuple):
        items = list(container)
        items[key] = value
        return container._make(items) if hasattr(container, "_make") else tuple(items)
    if isinstance(container, list):
        out = list(container)
        out[key] = value
        return out
    if isinstance(container, np.ndarray) or _is_torch(container):
        return assign_array(container, key, value, notes, stage)
    try:
        container[key] = value
        return container
    except TypeError:
        raise InjectionError(f"cannot write into a {type(container).__name__} at [{key!r}]") from None


def _rows_aligned(key) -> bool:
    first = key[0] if isinstance(key, tuple) and key else key
    return isinstance(first, slice) and first == slice(None)


def assign_array(container, key, value, notes: list[str] | None = None, stage: str = ""):
    """A copy of ``container`` (NumPy or torch) with ``value`` written at ``key``; rebuilt row by row when
    ``key`` takes some columns of every row and the reference has another number of rows."""
    torch_like = _is_torch(container)
    a = container.detach().cpu().numpy() if torch_like else np.asarray(container)
    v = value.detach().cpu().numpy() if _is_torch(value) else np.asarray(value)
    try:
        region = a[key]
    except (IndexError, TypeError, ValueError) as exc:
        raise InjectionError(f"cannot index the port's array of shape {list(a.shape)} with [{key!r}] ({exc})") from None
    if region.shape == v.shape:
        out = np.array(a, copy=True)
        out[key] = v
    elif _rows_aligned(key) and a.ndim >= 1 and region.shape[1:] == v.shape[1:] and v.ndim >= 1:
        out = _rebuild_rows(a, key, v, notes, stage)
    else:
        raise InjectionError(f"the reference's value has shape {list(v.shape)} where the port's has "
                             f"{list(region.shape)} at [{key!r}]")
    if torch_like:
        import torch

        return torch.as_tensor(out).to(dtype=container.dtype, device=container.device)
    return out


def _rebuild_rows(a: np.ndarray, key, v: np.ndarray, notes, stage) -> np.ndarray:
    m, n = v.shape[0], a.shape[0]
    if n == 0:
        out = np.zeros((m,) + a.shape[1:], dtype=a.dtype)
        src_note = "zeros (the port had no row)"
    else:
        from scipy.optimize import linear_sum_assignment

        ra = np.asarray(a[key], dtype=np.float64).reshape(n, -1)
        rv = np.asarray(v, dtype=np.float64).reshape(m, -1)
        cost = np.abs(rv[:, None, :] - ra[None, :, :]).sum(axis=2)
        src = cost.argmin(axis=1)
        rows, cols = linear_sum_assignment(cost)
        src[rows] = cols
        out = np.array(a[src], copy=True)
        src_note = "the port's nearest rows"
    out[key] = v
    if notes is not None:
        notes.append(f"{stage or 'injected value'}: the reference has {m} row(s) where the port had {n}; the "
                     f"values the stage does not hold were taken from {src_note}")
    return out
