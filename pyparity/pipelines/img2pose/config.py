"""img2pose settings. Defaults are upstream's; a dump's meta.json ``parameters`` can fill them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping

from pyparity.errors import InputError


@dataclass(frozen=True)
class Img2PoseConfig:
    depth: int = 18
    min_size: int = 600
    max_size: int = 1400
    size_divisible: int = 32
    image_mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    image_std: tuple[float, ...] = (0.229, 0.224, 0.225)
    # FrozenBatchNorm2d eps: 1e-5 since torchvision 0.10 (what the dumps used); 0.0 in torchvision 0.8.
    frozen_bn_eps: float = 1e-5
    dof_bn_eps: float = 1e-5
    # Six sizes for five feature maps: zip() in AnchorGenerator drops the last one (upstream quirk).
    anchor_sizes: tuple[tuple[int, ...], ...] = ((16,), (32,), (64,), (128,), (256,), (512,))
    anchor_aspect_ratios: tuple[tuple[float, ...], ...] = ((0.5, 1.0, 2.0),) * 6
    rpn_bbox_xform_clip: float = math.log(1000.0 / 16)
    rpn_pre_nms_top_n_test: int = 6000
    rpn_post_nms_top_n_test: int = 1000
    rpn_nms_thresh: float = 0.4
    rpn_min_size: float = 1e-3
    roi_output_size: int = 7
    roi_sampling_ratio: int = 2
    box_score_thresh: float = 0.05
    box_nms_thresh: float = 0.5
    box_detections_per_img: int = 1000
    remove_small_boxes_min_size_roi: float = 1e-2
    bbox_x_factor: float = 1.1
    bbox_y_factor: float = 1.1
    expand_forehead: float = 0.3
    # WIDER pose mean/stddev (rx, ry, rz, tx, ty, tz); no public default: must be given.
    pose_mean: tuple[float, ...] | None = None
    pose_stddev: tuple[float, ...] | None = None
    # torchvision CPU batched_nms switches from the coordinate-offset trick to per-class NMS above
    # this many box coordinates (boxes.numel() > 4000); on CUDA the switch is at 100,000.
    batched_nms_vanilla_above: int = 4000
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_parameters(cls, params: Mapping[str, Any], **overrides) -> "Img2PoseConfig":
        """Fill from a dump's meta.json ``parameters`` (unknown keys are ignored)."""
        names = {f.name for f in fields(cls)}
        kw: dict[str, Any] = {}
        alias = {"frozen_batchnorm_eps": "frozen_bn_eps", "dof_head_batchnorm1d_eps": "dof_bn_eps"}
        if not isinstance(params, Mapping):
            raise InputError(f"img2pose config: expected a table of settings, got {type(params).__name__}")
        for k, v in params.items():
            k = alias.get(k, k)
            if k in names and k != "extra":
                kw[k] = _freeze(v)
        kw.update(overrides)
        _check_values(kw)
        return cls(**kw)

    @classmethod
    def from_file(cls, path: str | Path, **overrides) -> "Img2PoseConfig":
        """A dump directory, its meta.json, or a TOML file with the same keys (top level or [img2pose])."""
        p = Path(path)
        if p.is_dir():
            p = p / "meta.json"
        try:
            if p.suffix == ".toml":
                try:
                    import tomllib
                except ImportError:  # pragma: no cover - python < 3.11
                    import tomli as tomllib  # type: ignore
                data = tomllib.loads(p.read_text(encoding="utf-8"))
                params = data.get("img2pose", data)
            else:
                data = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise InputError(f"{p}: img2pose config must be a JSON object, got {type(data).__name__}")
                params = data.get("parameters", data)
        except (OSError, ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
            raise InputError(f"{p}: cannot read img2pose config ({str(e).splitlines()[0] if str(e) else e})") from None
        try:
            return cls.from_parameters(params, **overrides)
        except InputError as e:
            raise InputError(f"{p}: {e}") from None

    def with_(self, **kw) -> "Img2PoseConfig":
        return replace(self, **kw)

    def require_pose_stats(self) -> None:
        if self.pose_mean is None or self.pose_stddev is None:
            raise InputError(
                "img2pose: pose_mean/pose_stddev are not set (upstream's WIDER_train_pose_*_v1.npy; "
                "give them in the config, or use a dump's meta.json as config)"
            )


MAX_IMAGE_SIDE = 8192  # largest min_size / max_size a config may resize to


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_values(kw: dict) -> None:
    """Types and ranges of the settings a config may set (one line naming the key otherwise)."""
    from pyparity.pipelines.img2pose.weights import RESNETS

    defaults = {f.name: f.default for f in fields(Img2PoseConfig)}
    for k, v in kw.items():
        d = defaults.get(k)
        if isinstance(d, bool) or k in ("extra",):
            continue
        if isinstance(d, int):
            if not (_number(v) and float(v).is_integer() and v >= 0):
                raise InputError(f"config {k} = {v!r}: expected a non-negative integer")
        elif isinstance(d, float):
            if not (_number(v) and v >= 0):
                raise InputError(f"config {k} = {v!r}: expected a finite non-negative number")
        elif k in ("image_mean", "image_std", "pose_mean", "pose_stddev"):
            n = 3 if k.startswith("image") else 6
            if v is None and k.startswith("pose"):
                continue
            if not (isinstance(v, tuple) and len(v) == n and all(_number(x) for x in v)):
                raise InputError(f"config {k} = {v!r}: expected {n} finite numbers")
            if k.endswith("std") or k.endswith("stddev"):
                if not all(x > 0 for x in v):
                    raise InputError(f"config {k} = {v!r}: standard deviations must be > 0")
        elif k in ("anchor_sizes", "anchor_aspect_ratios"):
            if not (isinstance(v, tuple) and v and all(isinstance(t, tuple) and t and all(_number(x) and x > 0 for x in t)
                                                       for t in v)):
                raise InputError(f"config {k} = {v!r}: expected lists of positive numbers")
    if "depth" in kw and kw["depth"] not in RESNETS:
        raise InputError(f"config depth = {kw['depth']!r}: expected one of {', '.join(map(str, RESNETS))}")
    for k in ("min_size", "max_size", "size_divisible"):
        if k in kw and not 1 <= kw[k] <= MAX_IMAGE_SIDE:
            raise InputError(f"config {k} = {kw[k]!r}: expected 1..{MAX_IMAGE_SIDE}")


def _freeze(v):
    if isinstance(v, list):
        return tuple(_freeze(x) for x in v)
    return v


# The reference dumps' settings (../shared/reference_dumps/img2pose-upstream/STAGES.md).
DUMP_SETTINGS = dict(
    min_size=150,
    max_size=192,
    rpn_pre_nms_top_n_test=1000,
    rpn_post_nms_top_n_test=32,
    box_score_thresh=0.2,
    pose_mean=(0.05, -0.02, 0.01, 0.02, 0.05, 3.0),
    pose_stddev=(0.2, 0.4, 0.15, 0.15, 0.15, 0.5),
)
