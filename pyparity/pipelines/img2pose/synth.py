"""Synthetic img2pose weights (recipe `crc32-normal-v1`, ../shared/docs/synthetic-weights.md).

Seeds hash upstream's full entry names *with* the ``module.`` prefix (as the dumps' meta.json says).
The generic recipe lives in `pyparity.models.synthetic_weights` (shared with POF); this module only
supplies img2pose's entry list (weights.layout) and the known hash.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Mapping

import numpy as np

from pyparity.errors import ModelError
from pyparity.models import synthetic_weights as sw
from pyparity.pipelines.img2pose import weights as W

RECIPE = "crc32-normal-v1"
# weights_sha256 recorded in every img2pose-upstream dump's meta.json (depth 18, no overrides).
KNOWN_SHA256 = {18: "a882d2ed9e0e34c1316864866a724d4dc4762f5f72722723958f8f17d6379fc9"}


def synthetic_state_dict(depth: int = 18, overrides: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """{prefixed name: array} in upstream's state_dict order."""
    return dict(_cached_state(depth, tuple(sorted((overrides or {}).items()))))


@functools.lru_cache(maxsize=4)
def _cached_state(depth: int, overrides: tuple) -> dict[str, np.ndarray]:
    # generating the 141 tensors takes ~1.5 s; a process that runs several dumps (tests, the CLI's
    # callers, benchmarks) builds them once. Read-only, so no caller can alter the cached copy.
    sd = sw.synth_state_dict(W.layout(depth, prefix=W.PREFIX), dict(overrides) or None)
    for v in sd.values():
        v.setflags(write=False)
    return sd


def weights_sha256(state: Mapping[str, np.ndarray]) -> str:
    return sw.state_dict_sha256(state)


def _meta(meta_or_dump: str | Path | Mapping) -> Mapping:
    if isinstance(meta_or_dump, Mapping):
        return meta_or_dump
    p = Path(meta_or_dump)
    p = p / "meta.json" if p.is_dir() else p
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        raise ModelError(f"{p}: cannot read the dump's meta.json ({e})") from None
    if not isinstance(meta, Mapping):
        raise ModelError(f"{p}: the dump's meta.json must be a JSON object, got {type(meta).__name__}")
    return meta


def synthetic_weights(
    depth: int = 18, check_against: str | Path | Mapping | None = None, overrides: Mapping[str, float] | None = None
) -> dict[str, np.ndarray]:
    """Synthetic weights as {unprefixed name: array}, validated.

    ``check_against``: a dump directory, its meta.json or the parsed dict; its ``weights.overrides``
    are applied and its ``weights_sha256`` checked first (a mismatch raises ModelError: no later stage
    could match). Without it, the hash is checked against the known depth-18 value when no overrides.
    """
    want = None
    if check_against is not None:
        w = _meta(check_against).get("weights", {})
        if w.get("recipe") not in (None, RECIPE):
            raise ModelError(f"dump weights recipe {w.get('recipe')!r} is not {RECIPE}")
        if overrides is None:
            overrides = w.get("overrides") or None
        want = w.get("weights_sha256")
    elif not overrides:
        want = KNOWN_SHA256.get(depth)
    sd = synthetic_state_dict(depth, overrides)
    sw.check_sha256(sd, want, f"synthetic img2pose ResNet-{depth} weights")
    return W.validate(sd, depth, source="synthetic weights")


def synth_img2pose(depth: int, out_path: str | Path, check_against: str | Path | None = None) -> Path:
    """`pyparity models synth img2pose --depth D --out FILE`: write the weights as .npz with upstream's
    prefixed names (loadable by `weights.load_weights`); hash checked as in `synthetic_weights`."""
    sd = synthetic_weights(depth, check_against)
    return W.save_npz(sd, out_path)
