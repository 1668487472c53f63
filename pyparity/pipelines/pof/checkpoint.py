"""Loading POF weights: upstream checkpoints (.pth), NumPy archives (.npz), synthetic weights.

A checkpoint is upstream's trainer format ``{"config": model.get_config(), "model_state_dict": ...}``;
the config selects the variant as upstream's ``_load_model_auto`` does (``model_type`` present ->
GNN variant, absent -> transformer). ``.pth`` needs torch (optional dependency). An ``.npz`` holds
the state_dict entries under their dotted names plus an optional ``__config__`` entry (a JSON string).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from pyparity.errors import ModelError
from pyparity.models import synthetic_weights as sw
from pyparity.pipelines.pof.models import (
    PofModel, full_config, param_specs, structural_buffers, variant_from_config,
)

RECIPE = sw.RECIPE
# weights_sha256 recorded by the pof-upstream dumps (STAGES.md table), default configs.
KNOWN_SHA256 = {
    "semgcn-temporal": "b7be2ab6ba5cbd44120e19ade98a3e71a7ececcc97e34ec4c03461d872daab08",
    "semgcn": "c137c19d336173be256ca8d4ab4887945c9ba0f26a8cfde8e368a02727db21bc",
    "gcn": "d0b08a0ee5e1d8d86b94a60cd45a258ea0ecc644a262abc4fc9ff9595c6108a8",
    "transformer": "739de3cf19fa9a61f78e23be93f5e2ef70b5ffd4dc5d24893a294fa7346e47ee",
}


def synthetic_state_dict(variant: str, config: Mapping[str, Any] | None = None,
                         overrides: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """crc32-normal-v1 weights; adjacency buffers left as the constructor builds them (as the dumps)."""
    return sw.synth_state_dict(param_specs(variant, config), overrides, keep=structural_buffers(variant))


def validate_state_dict(variant: str, config: Mapping[str, Any], sd: Mapping[str, Any], source: str) -> dict[str, np.ndarray]:
    specs = param_specs(variant, config)
    want = {n: s for n, s in specs}
    missing = [n for n in want if n not in sd]
    extra = [n for n in sd if n not in want]
    if missing:
        raise ModelError(f"{source}: state_dict lacks {len(missing)} {variant} entries (first: {missing[0]})")
    if extra:
        raise ModelError(f"{source}: state_dict has {len(extra)} entries a {variant} model does not have (first: {extra[0]})")
    out = {}
    for n, shape in specs:
        a = np.asarray(sd[n])
        if tuple(a.shape) != tuple(shape):
            raise ModelError(f"{source}: {n} has shape {tuple(a.shape)}, a {variant} model needs {tuple(shape)}")
        if not np.all(np.isfinite(a)):
            raise ModelError(f"{source}: {n} holds NaN/inf")
        out[n] = np.ascontiguousarray(a, dtype=np.float32)
    return out


def synthetic_model(variant: str, config: Mapping[str, Any] | None = None, expected_sha256: str | None = "known",
                    overrides: Mapping[str, float] | None = None) -> PofModel:
    """A model with synthetic weights; checks weights_sha256 (``"known"``: STAGES.md's value for the
    default config; None: no check; else the given hash)."""
    cfg = full_config(variant, config)
    sd = synthetic_state_dict(variant, cfg, overrides)
    if expected_sha256 == "known":
        expected_sha256 = KNOWN_SHA256.get(variant) if cfg == full_config(variant) and not overrides else None
    sw.check_sha256(sd, expected_sha256, f"synthetic {variant} weights")
    return PofModel(variant, cfg, sd)


def model_from_state(config: Mapping[str, Any] | None, sd: Mapping[str, Any], source: str = "checkpoint",
                     variant: str | None = None) -> PofModel:
    if config is not None and not isinstance(config, Mapping):
        raise ModelError(f"{source}: the POF config must be a JSON object / dict, got {type(config).__name__}")
    v = variant_from_config(config, source) if variant is None else variant
    cfg = full_config(v, config)
    return PofModel(v, cfg, validate_state_dict(v, cfg, sd, source))


def load_checkpoint(path: str | Path, variant: str | None = None) -> PofModel:
    """Load ``.pth`` (torch) or ``.npz``; ``variant`` forces the variant (else from the config)."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: POF checkpoint not found")
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                sd = {k: z[k] for k in z.files if k != "__config__"}
                config = json.loads(str(z["__config__"])) if "__config__" in z.files else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, RecursionError) as e:
            raise ModelError(f"{p}: cannot read POF .npz weights ({_first_line(e)})") from None
        if config is None and variant is not None:
            config = full_config(variant)
        if config is None:
            raise ModelError(f"{p}: .npz has no __config__ entry; pass the model variant")
        return model_from_state(config, sd, str(p), variant)
    try:
        import torch  # type: ignore
    except ImportError:
        raise ModelError(f"{p}: loading a .pth checkpoint needs torch (not installed); convert it to .npz") from None
    try:
        # weights_only: a checkpoint is data; torch's restricted unpickler refuses anything that would
        # run code (a __reduce__ payload fails here, before it can do anything)
        ck = torch.load(str(p), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable or refused pickle is one clear line
        raise ModelError(f"{p}: cannot read torch checkpoint ({type(e).__name__}: {_first_line(e)})") from None
    if not isinstance(ck, Mapping) or not isinstance(ck.get("model_state_dict"), Mapping):
        raise ModelError(f"{p}: not an upstream POF checkpoint (needs 'model_state_dict' and 'config')")
    sd = {}
    for k, v in ck["model_state_dict"].items():
        if not isinstance(k, str) or not hasattr(v, "detach"):
            raise ModelError(f"{p}: model_state_dict entry {k!r} is not a tensor")
        sd[k] = v.detach().cpu().numpy()
    return model_from_state(ck.get("config", {}), sd, str(p), variant)


def _first_line(e: BaseException) -> str:
    return (str(e).strip().splitlines() or [""])[0]


def save_npz(model: PofModel, path: str | Path) -> Path:
    from pyparity.atomic import atomic_path

    p = Path(path)
    with atomic_path(p, suffix=".npz") as tmp:
        np.savez(tmp, __config__=np.array(json.dumps(model.config)), **model.params)
    return p
