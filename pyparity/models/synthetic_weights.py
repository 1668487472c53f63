"""Synthetic weights, recipe ``crc32-normal-v1`` (../shared/docs/synthetic-weights.md), model-agnostic.

Parity needs the *same* weights on both sides, not trained ones: every state_dict entry is drawn
independently from ``PCG64(crc32(full_name))``, so a port regenerates the reference's weights from the
entry names and shapes alone. Names are the upstream ``state_dict()`` keys *exactly as the dump's
meta.json says* (a wrapper prefix such as ``module.`` changes every seed).

API (all arrays are NumPy, C order):

- ``synth_tensor(name, shape, dtype=np.float32, gain=1.0) -> np.ndarray``
    one entry. Floating dtypes follow the recipe table; integer/bool dtypes are zeros (rule 1).
- ``gain_for(name, overrides) -> float``
    the gain of the first ``fnmatch`` pattern in ``overrides`` (dump meta ``weights.overrides``,
    pattern on the full entry name) matching ``name``; 1.0 if none.
- ``synth_state_dict(param_specs, overrides=None, *, keep=None) -> dict[str, np.ndarray]``
    ``param_specs``: iterable of ``(name, shape)`` or ``(name, shape, dtype)`` (dtype default
    float32), in state_dict order; the result keeps that order. ``keep``: optional mapping
    name -> array of entries to leave *as created* (e.g. structural float buffers such as POF's
    adjacency matrices, which the pof-upstream dumps leave as the constructor built them); those
    arrays are stored as given (copied) instead of drawn.
- ``state_dict_sha256(sd) -> str``  (alias ``weights_sha256``)
    the ``weights_sha256`` of the doc: sha256 over the bytes (little-endian, C order) of every
    floating-point entry, entries sorted by name in Python string order; integer entries skipped.
- ``check_sha256(sd, expected, what) -> None``
    raises ``pyparity.errors.ModelError`` (one line) when the hash differs.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import zlib
from typing import Iterable, Mapping, Sequence

import numpy as np

RECIPE = "crc32-normal-v1"

__all__ = [
    "RECIPE",
    "synth_tensor",
    "gain_for",
    "synth_state_dict",
    "state_dict_sha256",
    "weights_sha256",
    "check_sha256",
]


def synth_tensor(name: str, shape: Sequence[int] | tuple[int, ...], dtype=np.float32, gain: float = 1.0) -> np.ndarray:
    """One state_dict entry of the recipe, shape ``shape``, dtype ``dtype``.

    Values are computed in float64 and cast once at the end (round to nearest), as the recipe says:
    the order ``(z * gain) / sqrt(fan_in)`` matters for the last bit.
    """
    dt = np.dtype(dtype)
    shape = tuple(int(s) for s in shape)
    if not np.issubdtype(dt, np.floating):
        return np.zeros(shape, dtype=dt)
    seed = zlib.crc32(name.encode("utf-8"))
    z = np.random.default_rng(seed).standard_normal(size=shape)
    leaf = name.rsplit(".", 1)[-1]
    ndim = len(shape)
    if leaf.endswith("weight") and ndim >= 2:
        fan_in = int(np.prod(shape[1:]))
        v = (z * float(gain)) / math.sqrt(fan_in)
    elif leaf.endswith("weight") and ndim == 1:
        v = 1.0 + 0.1 * z
    elif leaf.endswith("bias"):
        v = 0.1 * z
    elif leaf == "running_mean":
        v = 0.1 * z
    elif leaf == "running_var":
        v = 1.0 + 0.25 * np.abs(z)
    else:
        v = 0.02 * z
    return np.asarray(v, dtype=np.float64).astype(dt, order="C")


def gain_for(name: str, overrides: Mapping[str, float] | None) -> float:
    """Gain for ``name``: first matching fnmatch pattern of ``overrides`` (insertion order), else 1."""
    for pat, g in (overrides or {}).items():
        if fnmatch.fnmatchcase(name, pat):
            return float(g)
    return 1.0


def synth_state_dict(
    param_specs: Iterable[tuple],
    overrides: Mapping[str, float] | None = None,
    *,
    keep: Mapping[str, np.ndarray] | None = None,
) -> dict[str, np.ndarray]:
    """``[(name, shape[, dtype]), ...]`` -> ``{name: array}`` in the given order (see module doc)."""
    out: dict[str, np.ndarray] = {}
    keep = keep or {}
    for spec in param_specs:
        if len(spec) == 2:
            name, shape = spec
            dtype = np.float32
        else:
            name, shape, dtype = spec[:3]
        if name in keep:
            out[name] = np.array(keep[name], copy=True)
            continue
        out[name] = synth_tensor(name, tuple(shape), dtype, gain_for(name, overrides))
    return out


def state_dict_sha256(sd: Mapping[str, np.ndarray]) -> str:
    """sha256 of every floating entry's little-endian C-order bytes, entries sorted by name."""
    h = hashlib.sha256()
    for name in sorted(sd):
        a = np.asarray(sd[name])
        if not np.issubdtype(a.dtype, np.floating):
            continue
        h.update(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest()


weights_sha256 = state_dict_sha256


def check_sha256(sd: Mapping[str, np.ndarray], expected: str | None, what: str = "synthetic weights") -> None:
    """Raise ModelError if ``state_dict_sha256(sd) != expected`` (no-op when ``expected`` is None)."""
    if expected is None:
        return
    got = state_dict_sha256(sd)
    if got != expected:
        from pyparity.errors import ModelError

        raise ModelError(
            f"{what}: weights_sha256 {got[:16]}... != {expected[:16]}... recorded by the reference "
            "(names, shapes, overrides or NumPy's PCG64 differ): no later stage can match"
        )
