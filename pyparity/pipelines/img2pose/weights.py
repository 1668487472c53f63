"""img2pose state_dict layout and checkpoint loading.

Names are upstream's ``model.fpn_model.state_dict()`` names (torchvision 0.29 module layout:
``backbone.fpn.inner_blocks.0.0.weight``), with the ``module.`` prefix that upstream's
``WrappedModel``/``DataParallel`` wrapper adds and that released checkpoints carry. Inside this
package weights are held *without* the prefix; `layout(depth, prefix=...)` gives either form.

Checkpoints from torchvision <= 0.12 (e.g. the released ``img2pose_v1.pth``) name the FPN convs
``inner_blocks.0.weight`` (no ``Conv2dNormActivation`` wrapper); the loader accepts both.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Mapping

import numpy as np

from pyparity.errors import ModelError

PREFIX = "module."

# depth -> (block kind, blocks per stage); torchvision's resnet definitions.
RESNETS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

FPN_CHANNELS = 256


def residual_blocks(depth: int):
    """(layer index, block index, prefix, stride) for every residual block, in order."""
    kind, blocks = RESNETS[depth]
    out = []
    for li, n in enumerate(blocks, start=1):
        for bi in range(n):
            out.append((li, bi, f"backbone.body.layer{li}.{bi}", 2 if (li > 1 and bi == 0) else 1))
    return kind, out
REPRESENTATION = 1024
DOF_HIDDEN = 256
NUM_CLASSES = 2
NUM_ANCHORS = 3  # per location: 1 size x 3 aspect ratios


def _bn(name: str, c: int) -> list[tuple[str, tuple[int, ...], str]]:
    # FrozenBatchNorm2d: four float buffers, no num_batches_tracked.
    return [(f"{name}.{k}", (c,), "float32") for k in ("weight", "bias", "running_mean", "running_var")]


def backbone_channels(depth: int) -> list[int]:
    """Channels of C2..C5 (the FPN's inputs)."""
    kind, _ = _resnet(depth)
    exp = 1 if kind == "basic" else 4
    return [64 * exp, 128 * exp, 256 * exp, 512 * exp]


def _resnet(depth: int):
    if depth not in RESNETS:
        raise ModelError(f"img2pose: unsupported ResNet depth {depth} (supported: {sorted(RESNETS)})")
    return RESNETS[depth]


def layout(depth: int = 18, prefix: str = PREFIX) -> list[tuple[str, tuple[int, ...], str]]:
    """Every state_dict entry as (name, shape, dtype), in upstream's state_dict order."""
    kind, blocks = _resnet(depth)
    exp = 1 if kind == "basic" else 4
    e: list[tuple[str, tuple[int, ...], str]] = []
    b = "backbone.body"
    e.append((f"{b}.conv1.weight", (64, 3, 7, 7), "float32"))
    e += _bn(f"{b}.bn1", 64)
    inplanes = 64
    for li, (n, planes) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for bi in range(n):
            p = f"{b}.layer{li}.{bi}"
            stride = 2 if (li > 1 and bi == 0) else 1
            if kind == "basic":
                e.append((f"{p}.conv1.weight", (planes, inplanes, 3, 3), "float32"))
                e += _bn(f"{p}.bn1", planes)
                e.append((f"{p}.conv2.weight", (planes, planes, 3, 3), "float32"))
                e += _bn(f"{p}.bn2", planes)
            else:
                e.append((f"{p}.conv1.weight", (planes, inplanes, 1, 1), "float32"))
                e += _bn(f"{p}.bn1", planes)
                e.append((f"{p}.conv2.weight", (planes, planes, 3, 3), "float32"))
                e += _bn(f"{p}.bn2", planes)
                e.append((f"{p}.conv3.weight", (planes * exp, planes, 1, 1), "float32"))
                e += _bn(f"{p}.bn3", planes * exp)
            if bi == 0 and (stride != 1 or inplanes != planes * exp):
                e.append((f"{p}.downsample.0.weight", (planes * exp, inplanes, 1, 1), "float32"))
                e += _bn(f"{p}.downsample.1", planes * exp)
            inplanes = planes * exp
    f = "backbone.fpn"
    for i, c in enumerate(backbone_channels(depth)):
        e.append((f"{f}.inner_blocks.{i}.0.weight", (FPN_CHANNELS, c, 1, 1), "float32"))
        e.append((f"{f}.inner_blocks.{i}.0.bias", (FPN_CHANNELS,), "float32"))
    for i in range(4):
        e.append((f"{f}.layer_blocks.{i}.0.weight", (FPN_CHANNELS, FPN_CHANNELS, 3, 3), "float32"))
        e.append((f"{f}.layer_blocks.{i}.0.bias", (FPN_CHANNELS,), "float32"))
    C = FPN_CHANNELS
    e += [
        ("rpn.head.conv.weight", (C, C, 3, 3), "float32"),
        ("rpn.head.conv.bias", (C,), "float32"),
        ("rpn.head.cls_logits.weight", (NUM_ANCHORS, C, 1, 1), "float32"),
        ("rpn.head.cls_logits.bias", (NUM_ANCHORS,), "float32"),
        ("rpn.head.bbox_pred.weight", (NUM_ANCHORS * 4, C, 1, 1), "float32"),
        ("rpn.head.bbox_pred.bias", (NUM_ANCHORS * 4,), "float32"),
    ]
    R = REPRESENTATION
    flat = C * 7 * 7

    def mlp(name):
        return [
            (f"{name}.fc6.weight", (R, flat), "float32"),
            (f"{name}.fc6.bias", (R,), "float32"),
            (f"{name}.fc7.weight", (R, R), "float32"),
            (f"{name}.fc7.bias", (R,), "float32"),
        ]

    e += mlp("roi_heads.box_head")
    d = "roi_heads.box_predictor.dof_pred"
    e += [
        (f"{d}.0.weight", (DOF_HIDDEN, R), "float32"),
        (f"{d}.0.bias", (DOF_HIDDEN,), "float32"),
        (f"{d}.1.weight", (DOF_HIDDEN,), "float32"),
        (f"{d}.1.bias", (DOF_HIDDEN,), "float32"),
        (f"{d}.1.running_mean", (DOF_HIDDEN,), "float32"),
        (f"{d}.1.running_var", (DOF_HIDDEN,), "float32"),
        (f"{d}.1.num_batches_tracked", (), "int64"),
        (f"{d}.3.weight", (NUM_CLASSES * 6, DOF_HIDDEN), "float32"),
        (f"{d}.3.bias", (NUM_CLASSES * 6,), "float32"),
    ]
    e += mlp("roi_heads.class_head")
    e += [
        ("roi_heads.class_predictor.cls_score.weight", (NUM_CLASSES, R), "float32"),
        ("roi_heads.class_predictor.cls_score.bias", (NUM_CLASSES,), "float32"),
    ]
    return [(prefix + n, s, dt) for n, s, dt in e]


_OLD_FPN = re.compile(r"^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.(weight|bias)$")


def normalise_names(state: Mapping[str, object]) -> dict[str, object]:
    """Strip a ``module.`` prefix and map torchvision <= 0.12 FPN names to today's."""
    out: dict[str, object] = {}
    for k, v in state.items():
        n = k[len(PREFIX):] if k.startswith(PREFIX) else k
        m = _OLD_FPN.match(n)
        if m:
            n = f"{m.group(1)}.0.{m.group(2)}"
        out[n] = v
    return out


def validate(state: Mapping[str, np.ndarray], depth: int, source: str = "weights") -> dict[str, np.ndarray]:
    """Check names and shapes against `layout(depth)`; returns {unprefixed name: float32/int64 array}.

    Raises ModelError listing missing, unexpected and mis-shaped keys (at most a few of each).
    """
    want = {n: (s, dt) for n, s, dt in layout(depth, prefix="")}
    got = normalise_names(state)
    missing = [n for n in want if n not in got]
    unexpected = [n for n in got if n not in want]
    misshaped = [
        f"{n} {tuple(np.shape(got[n]))} != {want[n][0]}"
        for n in want
        if n in got and tuple(np.shape(got[n])) != want[n][0]
    ]
    if missing or unexpected or misshaped:
        def few(xs):
            return ", ".join(xs[:4]) + (f" (+{len(xs) - 4} more)" if len(xs) > 4 else "")

        parts = []
        if missing:
            parts.append(f"{len(missing)} missing: {few(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected: {few(unexpected)}")
        if misshaped:
            parts.append(f"{len(misshaped)} mis-shaped: {few(misshaped)}")
        raise ModelError(f"{source}: not an img2pose ResNet-{depth} state dict: " + "; ".join(parts))
    # np.array (not ascontiguousarray, which makes 0-d entries 1-d)
    return {n: np.array(got[n], dtype=want[n][1], order="C") for n in want}


def infer_depth(state: Mapping[str, object]) -> int:
    """ResNet depth from the layer3 block count and block kind of a state dict."""
    names = normalise_names(state)
    blocks = {int(m.group(1)) for k in names for m in [re.match(r"backbone\.body\.layer3\.(\d+)\.", k)] if m}
    bottleneck = any(k.startswith("backbone.body.layer1.0.conv3.") for k in names)
    n3 = max(blocks) + 1 if blocks else -1
    for d, (kind, bl) in RESNETS.items():
        if bl[2] == n3 and (kind == "bottleneck") == bottleneck:
            return d
    raise ModelError("weights: cannot infer the ResNet depth of this state dict (no backbone.body.layer3 blocks)")


def _torch_to_numpy(obj) -> dict[str, np.ndarray]:
    return {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in obj.items()}


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Read a checkpoint: ``.npz`` (name -> array) or a torch ``.pth``/``.pt`` (needs torch).

    A torch checkpoint may be ``{"fpn_model": state_dict}`` (upstream's layout) or a plain state dict.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: weights file not found")
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except Exception as e:  # corrupt zip, pickled object arrays
            first = (str(e).strip().splitlines() or [""])[0]
            raise ModelError(f"{p}: cannot read as an .npz state dict ({type(e).__name__}: {first})") from None
    try:
        import torch
    except ImportError:
        raise ModelError(
            f"{p}: reading a torch checkpoint needs torch (pip install 'pyparity[torch]'), "
            "or convert it once to .npz"
        ) from None
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise ModelError(f"{p}: cannot read as a torch checkpoint ({type(e).__name__}: {first})") from None
    if isinstance(ck, dict) and "fpn_model" in ck:
        ck = ck["fpn_model"]
    if not isinstance(ck, dict):
        raise ModelError(f"{p}: expected a state dict or {{'fpn_model': state_dict}}, got {type(ck).__name__}")
    return _torch_to_numpy(ck)


def load_weights(path: str | Path, depth: int | None = None) -> tuple[dict[str, np.ndarray], int]:
    """Read and validate a checkpoint; returns (unprefixed state dict, depth)."""
    raw = read_state_dict(path)
    if depth is None:
        depth = infer_depth(raw)
    return validate(raw, depth, source=str(path)), depth


def save_npz(state: Mapping[str, np.ndarray], path: str | Path, prefix: str = PREFIX) -> Path:
    """Write a state dict as .npz with upstream's (prefixed) names, atomically."""
    from pyparity.atomic import atomic_path

    p = Path(path)
    with atomic_path(p, suffix=".npz") as tmp:
        np.savez(tmp, **{(n if n.startswith(prefix) else prefix + n): np.asarray(v) for n, v in state.items()})
    return p
