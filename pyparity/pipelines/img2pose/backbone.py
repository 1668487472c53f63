"""ResNet (18/34: BasicBlock; 50/101/152: Bottleneck) + FPN, as torchvision's resnet_fpn_backbone.

Frozen batch norm everywhere (eps a parameter: 1e-5 in torchvision >= 0.10, 0 in the 0.8 that
upstream pinned). Returned layers 1-4, FPN 256 channels, LastLevelMaxPool (P6 = P5[::2, ::2]).
Weights are unprefixed state-dict names (see weights.py). Arrays are (C, H, W) float32.
"""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.img2pose import ops
from pyparity.pipelines.img2pose.weights import RESNETS
from pyparity.trace import NULL_RECORDER
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("backbone/body/*", "resnet_body", "torchvision IntermediateLayerGetter (ResNet)",
          "the stem and ResNet stages C2..C5"),
    Stage("backbone/fpn/*", "fpn", "torchvision FeaturePyramidNetwork", "FPN outputs p2..p6"),
)


def _conv_bn(x, p, conv, bn, eps, stride=1, pad=0, relu=False, residual=None):
    """conv (no bias) -> FrozenBatchNorm2d [-> + residual] [-> ReLU], one fused pass where possible."""
    scale, shift = ops.frozen_bn_affine(p, bn, eps)
    return ops.conv2d(x, p[conv + ".weight"], stride=stride, pad=pad, scale=scale, shift=shift, residual=residual,
                      relu=relu)


def _basic(x, idn, p, pre, stride, eps):
    out = _conv_bn(x, p, pre + ".conv1", pre + ".bn1", eps, stride, 1, relu=True)
    return _conv_bn(out, p, pre + ".conv2", pre + ".bn2", eps, 1, 1, relu=True, residual=idn)


def _bottleneck(x, idn, p, pre, stride, eps):
    # torchvision ResNet v1.5: the stride is on the 3x3 conv.
    out = _conv_bn(x, p, pre + ".conv1", pre + ".bn1", eps, relu=True)
    out = _conv_bn(out, p, pre + ".conv2", pre + ".bn2", eps, stride, 1, relu=True)
    return _conv_bn(out, p, pre + ".conv3", pre + ".bn3", eps, relu=True, residual=idn)


def resnet_body(x: np.ndarray, p: dict, depth: int, eps: float, rec=NULL_RECORDER) -> list[np.ndarray]:
    """x (3, H, W) -> [C2, C3, C4, C5]; records ``body/stem``, ``body/layer1..4`` as (1, C, H, W).

    Each block is ``relu(bn(conv(...)) + identity)``: the identity (or the downsample branch) is
    computed first so that the last convolution adds it and applies the ReLU in its own pass."""
    kind, blocks = RESNETS[depth]
    block = _basic if kind == "basic" else _bottleneck
    b = "backbone.body"
    x = _conv_bn(x, p, b + ".conv1", b + ".bn1", eps, 2, 3, relu=True)
    x = ops.max_pool2d(x, 3, 2, 1)
    rec.save("body/stem", x[None])
    outs = []
    for li, n in enumerate(blocks, start=1):
        for bi in range(n):
            pre = f"{b}.layer{li}.{bi}"
            stride = 2 if (li > 1 and bi == 0) else 1
            if pre + ".downsample.0.weight" in p:
                idn = _conv_bn(x, p, pre + ".downsample.0", pre + ".downsample.1", eps, stride)
            else:
                idn = x
            x = block(x, idn, p, pre, stride, eps)
        rec.save(f"body/layer{li}", x[None])
        outs.append(x)
    return outs


def fpn(feats: list[np.ndarray], p: dict, rec=NULL_RECORDER) -> list[np.ndarray]:
    """[C2..C5] -> [P2, P3, P4, P5, P6] (torchvision FeaturePyramidNetwork + LastLevelMaxPool)."""
    f = "backbone.fpn"

    def inner(i, x):
        return ops.conv2d(x, p[f"{f}.inner_blocks.{i}.0.weight"], p[f"{f}.inner_blocks.{i}.0.bias"])

    def layer(i, x):
        return ops.conv2d(x, p[f"{f}.layer_blocks.{i}.0.weight"], p[f"{f}.layer_blocks.{i}.0.bias"], pad=1)

    n = len(feats)
    last = inner(n - 1, feats[-1])
    results = [layer(n - 1, last)]
    for i in range(n - 2, -1, -1):
        lat = inner(i, feats[i])
        # nearest upsample to the lateral's exact size, then add
        lat += ops.upsample_nearest(last, lat.shape[-2:])
        last = lat
        results.insert(0, layer(i, last))
    results.append(np.ascontiguousarray(results[-1][:, ::2, ::2]))  # max_pool2d(p5, 1, 2)
    for k, r in enumerate(results):
        rec.save(f"fpn/p{k + 2}", r[None])
    return results


def backbone(x: np.ndarray, p: dict, depth: int, eps: float, rec=NULL_RECORDER) -> list[np.ndarray]:
    """Normalised, padded image (3, Hp, Wp) float32 -> FPN maps [P2..P6], each (256, h, w) float32."""
    with rec.scope("backbone"):
        return fpn(resnet_body(x, p, depth, eps, rec), p, rec)
