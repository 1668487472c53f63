"""img2pose's network as torch modules (the ``torch`` backend of network.py), built from the weight
arrays, no torchvision model classes; torch is imported lazily (an optional extra, ``pyparity[torch]``)."""

from __future__ import annotations

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.img2pose.weights import residual_blocks
from pyparity.trace import NULL_RECORDER

_F32 = np.float32


def _import_torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ModelError("img2pose --backend torch needs PyTorch: pip install 'pyparity[torch]'") from e
    return torch


def _record_map(rec: StageRecorder, name: str, t) -> None:
    if rec.enabled:
        rec.save(name, t.detach().numpy())


class TorchNetwork:
    """The network as torch modules (eval, no grad, float32, CPU), built from the weight arrays.

    NCHW, the same ops in the same order as upstream's torchvision modules: on the dumps' torch
    build the ResNet body is bit-exact, and against upstream's code run on the same torch build (with
    stand-ins for the torchvision ops it imports; 8 images) the output rotations agree to <= 3.6e-7
    rad and translations to <= 1.1e-5. (channels_last convolutions were measured ~10% faster at one
    thread but moved the FPN maps by 2.7e-5 and the output rotations by up to 9.2e-6 rad, too close
    to the 1e-5 rad bound: not used.)"""

    name = "torch"

    def __init__(self, weights: dict, cfg, threads: int | None = None):
        torch = _import_torch()
        self.torch = torch
        if threads:
            torch.set_num_threads(int(threads))
        self.cfg = cfg
        self.modules = _torch_modules(torch, weights, cfg)

    def backbone(self, x, rec=NULL_RECORDER):
        torch = self.torch
        with rec.scope("backbone"), torch.inference_mode():
            feats = self.modules["backbone"](torch.from_numpy(np.ascontiguousarray(x, dtype=_F32))[None], rec)
            return [f[0].numpy() for f in feats]

    def rpn_head(self, feats, rec=NULL_RECORDER):
        torch = self.torch
        with torch.inference_mode():
            logits, deltas = [], []
            for i, f in enumerate(feats):
                o, d = self.modules["rpn_head"](torch.from_numpy(f)[None])
                o, d = o[0].numpy(), d[0].numpy()
                rec.save(f"head/level{i:02d}/objectness", o[None])
                rec.save(f"head/level{i:02d}/bbox_deltas", d[None])
                logits.append(o)
                deltas.append(d)
            return logits, deltas

    def roi_networks(self, pooled, rec=NULL_RECORDER):
        torch = self.torch
        with torch.inference_mode():
            x = torch.from_numpy(np.ascontiguousarray(pooled, dtype=_F32)).flatten(1)
            return tuple(t.numpy() for t in self.modules["roi"](x, rec))


def _torch_modules(torch, p: dict, cfg):
    """Build (backbone, rpn_head, roi) as nn.Modules. Classes are defined here so that importing this
    module never imports torch."""
    nn, F = torch.nn, torch.nn.functional

    def param(name):
        return nn.Parameter(torch.from_numpy(np.array(p[name], dtype=_F32)), requires_grad=False)

    def conv(name, stride=1, pad=0, bias=False):
        w = p[name + ".weight"]
        c = nn.Conv2d(w.shape[1], w.shape[0], w.shape[2:], stride=stride, padding=pad, bias=bias)
        c.weight = param(name + ".weight")
        if bias:
            c.bias = param(name + ".bias")
        return c

    class FrozenBN(nn.Module):
        # torchvision.ops.misc.FrozenBatchNorm2d.forward, eps a parameter
        def __init__(self, name, eps):
            super().__init__()
            for k in ("weight", "bias", "running_mean", "running_var"):
                self.register_buffer(k, torch.from_numpy(np.array(p[f"{name}.{k}"], dtype=_F32)))
            self.eps = eps

        def forward(self, x):
            scale = self.weight.reshape(1, -1, 1, 1) * (self.running_var.reshape(1, -1, 1, 1) + self.eps).rsqrt()
            bias = self.bias.reshape(1, -1, 1, 1) - self.running_mean.reshape(1, -1, 1, 1) * scale
            return x * scale + bias

    eps = cfg.frozen_bn_eps
    kind, blocks = residual_blocks(cfg.depth)

    class Block(nn.Module):
        def __init__(self, pre, stride):
            super().__init__()
            if kind == "basic":
                self.convs = nn.ModuleList([conv(pre + ".conv1", stride, 1), conv(pre + ".conv2", 1, 1)])
                self.bns = nn.ModuleList([FrozenBN(pre + ".bn1", eps), FrozenBN(pre + ".bn2", eps)])
            else:  # ResNet v1.5: stride on the 3x3
                self.convs = nn.ModuleList([conv(pre + ".conv1"), conv(pre + ".conv2", stride, 1), conv(pre + ".conv3")])
                self.bns = nn.ModuleList([FrozenBN(f"{pre}.bn{i}", eps) for i in (1, 2, 3)])
            self.down = None
            if pre + ".downsample.0.weight" in p:
                self.down = nn.Sequential(conv(pre + ".downsample.0", stride), FrozenBN(pre + ".downsample.1", eps))

        def forward(self, x):
            out = x
            n = len(self.convs)
            for i, (c, b) in enumerate(zip(self.convs, self.bns)):
                out = b(c(out))
                if i < n - 1:
                    out = F.relu(out)
            idn = self.down(x) if self.down is not None else x
            return F.relu(out + idn)

    class Backbone(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = conv("backbone.body.conv1", 2, 3)
            self.bn1 = FrozenBN("backbone.body.bn1", eps)
            self.blocks = nn.ModuleList([Block(pre, s) for _, _, pre, s in blocks])
            self.layer_of = [li for li, _, _, _ in blocks]
            f = "backbone.fpn"
            n = 4
            self.inner = nn.ModuleList([conv(f"{f}.inner_blocks.{i}.0", bias=True) for i in range(n)])
            self.layer = nn.ModuleList([conv(f"{f}.layer_blocks.{i}.0", 1, 1, bias=True) for i in range(n)])

        def forward(self, x, rec=NULL_RECORDER):
            x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
            _record_map(rec, "body/stem", x)
            c = []
            for k, blk in enumerate(self.blocks):
                x = blk(x)
                if k + 1 == len(self.blocks) or self.layer_of[k + 1] != self.layer_of[k]:
                    _record_map(rec, f"body/layer{self.layer_of[k]}", x)
                    c.append(x)
            last = self.inner[-1](c[-1])
            results = [self.layer[-1](last)]
            for i in range(len(c) - 2, -1, -1):
                lat = self.inner[i](c[i])
                last = lat + F.interpolate(last, size=lat.shape[-2:], mode="nearest")
                results.insert(0, self.layer[i](last))
            results.append(F.max_pool2d(results[-1], 1, 2, 0))  # LastLevelMaxPool
            for k, r in enumerate(results):
                _record_map(rec, f"fpn/p{k + 2}", r)
            return results

    class RPNHead(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv("rpn.head.conv", 1, 1, bias=True)
            self.cls = conv("rpn.head.cls_logits", bias=True)
            self.bbox = conv("rpn.head.bbox_pred", bias=True)

        def forward(self, x):
            t = F.relu(self.conv(x))
            return self.cls(t), self.bbox(t)

    def linear(name):
        w = p[name + ".weight"]
        m = nn.Linear(w.shape[1], w.shape[0])
        m.weight, m.bias = param(name + ".weight"), param(name + ".bias")
        return m

    class RoI(nn.Module):
        def __init__(self):
            super().__init__()
            h, c, d = "roi_heads.box_head", "roi_heads.class_head", "roi_heads.box_predictor.dof_pred"
            self.box6, self.box7 = linear(h + ".fc6"), linear(h + ".fc7")
            self.cls6, self.cls7 = linear(c + ".fc6"), linear(c + ".fc7")
            self.dof0, self.dof3 = linear(d + ".0"), linear(d + ".3")
            bn = nn.BatchNorm1d(p[d + ".1.weight"].shape[0], eps=cfg.dof_bn_eps)
            bn.weight, bn.bias = param(d + ".1.weight"), param(d + ".1.bias")
            bn.running_mean.copy_(torch.from_numpy(np.array(p[d + ".1.running_mean"], dtype=_F32)))
            bn.running_var.copy_(torch.from_numpy(np.array(p[d + ".1.running_var"], dtype=_F32)))
            self.bn = bn.eval()
            self.score = linear("roi_heads.class_predictor.cls_score")

        @staticmethod
        def _head(fc6, fc7, x, rec, name):
            """TwoMLPHead: fc6, ReLU, fc7 (its output before the caller's ReLU), recording both."""
            h6 = fc6(x)
            _record_map(rec, f"{name}/fc6", h6)
            h7 = fc7(F.relu(h6))
            _record_map(rec, f"{name}/fc7", h7)
            return h7

        def forward(self, x, rec=NULL_RECORDER):
            h7 = self._head(self.box6, self.box7, x, rec, "box_head")
            l0 = self.dof0(F.relu(h7))
            _record_map(rec, "box_predictor/linear0", l0)
            b = self.bn(l0)
            _record_map(rec, "box_predictor/bn", b)
            dof = self.dof3(F.relu(b))
            _record_map(rec, "dof_regression", dof)
            c7 = self._head(self.cls6, self.cls7, x, rec, "class_head")
            logits = self.score(F.relu(c7))
            _record_map(rec, "class_logits", logits)
            return dof, logits

    return {"backbone": Backbone().eval(), "rpn_head": RPNHead().eval(), "roi": RoI().eval()}
