"""The img2pose *network* (backbone + FPN, RPN head, RoI MLP heads) behind one interface, three backends.

    net = make_network("numpy" | "torch" | "onnx", weights, cfg)
    feats = net.backbone(x, rec)            # x (3, Hp, Wp) float32 -> [P2..P6], each (256, h, w) float32
    logits, deltas = net.rpn_head(feats, rec)   # per level (A, h, w), (4A, h, w) float32
    dof, cls = net.roi_networks(pooled, rec)    # (K, 256, 7, 7) -> (K, 12), (K, 2) float32

Everything else (resize, anchors, decode, top-k, NMS, RoIAlign, pose) is shared NumPy code in
detect.py, so the backends differ only in who multiplies the weights. Every backend records the
same stage names (relative to the caller's scope: ``body/*``, ``fpn/p*``, ``head/level*/*``,
``box_head/*``, ``box_predictor/*``, ``class_head/*``, ``dof_regression``, ``class_logits``), so
traces of two backends diff against each other and against the upstream dumps under one policy.

- ``numpy``: ops.py (float32 GEMMs).
- ``torch``: the same graph as torch.nn modules built here from the weight arrays (no torchvision
  model classes); torch is imported lazily and is an optional extra (``pyparity[torch]``).
- ``onnx``: the graph written directly with ``onnx.helper`` from the weight arrays (no torch needed,
  neither to build nor to run), cached next to nothing (built in memory once per model), run with
  onnxruntime. ``export_onnx(weights, cfg, dir)`` writes the two graphs to files.
"""

from __future__ import annotations

import os

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.img2pose import threads as T
from pyparity.pipelines.img2pose.weights import RESNETS
from pyparity.trace import NULL_RECORDER

BACKENDS = ("numpy", "torch", "onnx")
_F32 = np.float32


def make_network(backend: str, weights: dict, cfg, threads: int | None = None):
    if backend == "numpy":
        return NumpyNetwork(weights, cfg, threads)
    if backend == "torch":
        return TorchNetwork(weights, cfg, threads)
    if backend == "onnx":
        return OnnxNetwork(weights, cfg, threads)
    raise ModelError(f"img2pose: unknown backend {backend!r} (one of {', '.join(BACKENDS)})")


def _blocks(depth: int):
    """(layer index, block index, prefix, stride) for every residual block, in order."""
    kind, blocks = RESNETS[depth]
    out = []
    for li, n in enumerate(blocks, start=1):
        for bi in range(n):
            out.append((li, bi, f"backbone.body.layer{li}.{bi}", 2 if (li > 1 and bi == 0) else 1))
    return kind, out


def _frozen_bn_affine(p: dict, name: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """FrozenBatchNorm2d's (scale, bias) in float32, as torchvision computes them per forward."""
    w, b = p[name + ".weight"], p[name + ".bias"]
    rm, rv = p[name + ".running_mean"], p[name + ".running_var"]
    scale = (w * (_F32(1) / np.sqrt(rv + _F32(eps)))).astype(_F32)
    return scale, (b - rm * scale).astype(_F32)


# ------------------------------------------------------------------------------------------------
class NumpyNetwork:
    name = "numpy"

    def __init__(self, weights: dict, cfg, threads: int | None = None):
        """``threads``: how many threads share each layer's chunks (threads.py); None: every CPU."""
        self.p, self.cfg, self.threads = weights, cfg, threads

    def backbone(self, x, rec=NULL_RECORDER):
        from pyparity.pipelines.img2pose import backbone as B

        with T.using(self.threads):
            return B.backbone(x, self.p, self.cfg.depth, self.cfg.frozen_bn_eps, rec)

    def rpn_head(self, feats, rec=NULL_RECORDER):
        from pyparity.pipelines.img2pose.rpn import rpn_head

        with T.using(self.threads):
            return rpn_head(feats, self.p, rec)

    def roi_networks(self, pooled, rec=NULL_RECORDER):
        from pyparity.pipelines.img2pose.heads import roi_networks

        with T.using(self.threads):
            return roi_networks(pooled, self.p, self.cfg.dof_bn_eps, rec)


# ------------------------------------------------------------------------------------------------
def _import_torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ModelError("img2pose --backend torch needs PyTorch: pip install 'pyparity[torch]'") from e
    return torch


def _record_map(rec, name, t):
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
    kind, blocks = _blocks(cfg.depth)

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


# ------------------------------------------------------------------------------------------------
def _import_ort():
    try:
        import onnx  # noqa: F401
        import onnxruntime
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ModelError("img2pose --backend onnx needs onnx and onnxruntime: pip install 'pyparity[onnx]'") from e
    return onnxruntime


class _GraphBuilder:
    """A small helper over onnx.helper: named float32 initialisers, nodes with fresh output names."""

    def __init__(self, p: dict):
        self.p = p
        self.nodes, self.inits, self.outputs = [], {}, []
        self.n = 0

    def const(self, name, arr):
        if name not in self.inits:
            from onnx import numpy_helper

            self.inits[name] = numpy_helper.from_array(np.ascontiguousarray(arr), name)
        return name

    def w(self, name):
        return self.const(name, np.asarray(self.p[name], dtype=_F32))

    def op(self, op_type, inputs, **attrs):
        from onnx import helper

        self.n += 1
        out = f"{op_type.lower()}_{self.n}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv(self, x, name, stride=1, pad=0, bias=False):
        k = self.p[name + ".weight"].shape[-1]
        ins = [x, self.w(name + ".weight")] + ([self.w(name + ".bias")] if bias else [])
        return self.op("Conv", ins, kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4)

    def frozen_bn(self, x, name, eps):
        scale, bias = _frozen_bn_affine(self.p, name, eps)
        s = self.const(name + ".scale", scale.reshape(-1, 1, 1))
        b = self.const(name + ".shift", bias.reshape(-1, 1, 1))
        return self.op("Add", [self.op("Mul", [x, s]), b])

    def linear(self, x, name):
        return self.op("Gemm", [x, self.w(name + ".weight"), self.w(name + ".bias")], transB=1)

    def output(self, value, name):
        self.nodes.append(__import__("onnx").helper.make_node("Identity", [value], [name]))
        self.outputs.append(name)

    def model(self, inputs):
        from onnx import TensorProto, helper

        rank = len(inputs[0].type.tensor_type.shape.dim)  # outputs have the input's rank (NCHW or (K, F))
        outs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, [f"{o}_d{i}" for i in range(rank)])
                for o in self.outputs]
        graph = helper.make_graph(self.nodes, "img2pose", inputs, outs, list(self.inits.values()))
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="pyparity")
        m.ir_version = 8
        return m


# stage names recorded by the ONNX graphs, in recording order (relative to the caller's scope)
def _backbone_outputs(depth: int) -> list[str]:
    return ["body/stem"] + [f"body/layer{i}" for i in range(1, 5)] + [f"fpn/p{k}" for k in range(2, 7)]


ROI_OUTPUTS = ["box_head/fc6", "box_head/fc7", "box_predictor/linear0", "box_predictor/bn", "dof_regression",
               "class_head/fc6", "class_head/fc7", "class_logits"]


def build_onnx_backbone(p: dict, cfg):
    """Backbone + FPN + RPN head as one ONNX model: input ``x`` (1, 3, H, W); outputs the stages of
    `_backbone_outputs` then ``head/levelNN/objectness|bbox_deltas`` for the five levels."""
    from onnx import TensorProto, helper

    g = _GraphBuilder(p)
    eps = cfg.frozen_bn_eps
    kind, blocks = _blocks(cfg.depth)
    b = "backbone.body"
    x = g.op("Relu", [g.frozen_bn(g.conv("x", b + ".conv1", 2, 3), b + ".bn1", eps)])
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    g.output(x, "body/stem")
    c = []
    for k, (li, _bi, pre, stride) in enumerate(blocks):
        if kind == "basic":
            out = g.op("Relu", [g.frozen_bn(g.conv(x, pre + ".conv1", stride, 1), pre + ".bn1", eps)])
            out = g.frozen_bn(g.conv(out, pre + ".conv2", 1, 1), pre + ".bn2", eps)
        else:
            out = g.op("Relu", [g.frozen_bn(g.conv(x, pre + ".conv1"), pre + ".bn1", eps)])
            out = g.op("Relu", [g.frozen_bn(g.conv(out, pre + ".conv2", stride, 1), pre + ".bn2", eps)])
            out = g.frozen_bn(g.conv(out, pre + ".conv3"), pre + ".bn3", eps)
        if pre + ".downsample.0.weight" in p:
            idn = g.frozen_bn(g.conv(x, pre + ".downsample.0", stride), pre + ".downsample.1", eps)
        else:
            idn = x
        x = g.op("Relu", [g.op("Add", [out, idn])])
        if k + 1 == len(blocks) or blocks[k + 1][0] != li:
            g.output(x, f"body/layer{li}")
            c.append(x)
    f = "backbone.fpn"
    last = g.conv(c[-1], f"{f}.inner_blocks.3.0", bias=True)
    results = [g.conv(last, f"{f}.layer_blocks.3.0", 1, 1, bias=True)]
    for i in range(len(c) - 2, -1, -1):
        lat = g.conv(c[i], f"{f}.inner_blocks.{i}.0", bias=True)
        # F.interpolate(mode="nearest") == asymmetric / floor; sizes = the lateral's (N, C, h, w)
        size = g.op("Shape", [lat])
        up = g.op("Resize", [last, "", "", size], mode="nearest", coordinate_transformation_mode="asymmetric",
                  nearest_mode="floor")
        last = g.op("Add", [lat, up])
        results.insert(0, g.conv(last, f"{f}.layer_blocks.{i}.0", 1, 1, bias=True))
    results.append(g.op("MaxPool", [results[-1]], kernel_shape=[1, 1], strides=[2, 2]))
    for k, r in enumerate(results):
        g.output(r, f"fpn/p{k + 2}")
    for i, r in enumerate(results):
        t = g.op("Relu", [g.conv(r, "rpn.head.conv", 1, 1, bias=True)])
        g.output(g.conv(t, "rpn.head.cls_logits", bias=True), f"head/level{i:02d}/objectness")
        g.output(g.conv(t, "rpn.head.bbox_pred", bias=True), f"head/level{i:02d}/bbox_deltas")
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])
    return g.model([inp])


def build_onnx_roi(p: dict, cfg):
    """RoI MLP heads as one ONNX model: input ``x`` (K, C*7*7); outputs `ROI_OUTPUTS`."""
    from onnx import TensorProto, helper

    g = _GraphBuilder(p)
    h6 = g.linear("x", "roi_heads.box_head.fc6")
    g.output(h6, "box_head/fc6")
    h7 = g.linear(g.op("Relu", [h6]), "roi_heads.box_head.fc7")
    g.output(h7, "box_head/fc7")
    d = "roi_heads.box_predictor.dof_pred"
    l0 = g.linear(g.op("Relu", [h7]), d + ".0")
    g.output(l0, "box_predictor/linear0")
    bn = g.op("BatchNormalization", [l0, g.w(d + ".1.weight"), g.w(d + ".1.bias"), g.w(d + ".1.running_mean"),
                                     g.w(d + ".1.running_var")], epsilon=float(cfg.dof_bn_eps))
    g.output(bn, "box_predictor/bn")
    g.output(g.linear(g.op("Relu", [bn]), d + ".3"), "dof_regression")
    c6 = g.linear("x", "roi_heads.class_head.fc6")
    g.output(c6, "class_head/fc6")
    c7 = g.linear(g.op("Relu", [c6]), "roi_heads.class_head.fc7")
    g.output(c7, "class_head/fc7")
    g.output(g.linear(g.op("Relu", [c7]), "roi_heads.class_predictor.cls_score"), "class_logits")
    inp = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["K", p["roi_heads.box_head.fc6.weight"].shape[1]])
    return g.model([inp])


def export_onnx(weights: dict, cfg, directory) -> tuple[str, str]:
    """Write ``img2pose_backbone_rpn.onnx`` and ``img2pose_roi_heads.onnx`` into ``directory``."""
    import onnx
    from pathlib import Path

    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    a, b = d / "img2pose_backbone_rpn.onnx", d / "img2pose_roi_heads.onnx"
    onnx.save(build_onnx_backbone(weights, cfg), a)
    onnx.save(build_onnx_roi(weights, cfg), b)
    return str(a), str(b)


class OnnxNetwork:
    """onnxruntime (CPU) over the graphs of `build_onnx_backbone` / `build_onnx_roi`; no torch."""

    name = "onnx"

    def __init__(self, weights: dict, cfg, threads: int | None = None):
        ort = _import_ort()
        self.cfg = cfg
        so = ort.SessionOptions()
        n = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        if n:
            so.intra_op_num_threads = n
            so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        prov = ["CPUExecutionProvider"]
        self.bb = ort.InferenceSession(build_onnx_backbone(weights, cfg).SerializeToString(), so, providers=prov)
        self.roi = ort.InferenceSession(build_onnx_roi(weights, cfg).SerializeToString(), so, providers=prov)
        self.bb_names = _backbone_outputs(cfg.depth)
        self._weights_for_head = weights
        self._head, self._feats = None, None

    def backbone(self, x, rec=NULL_RECORDER):
        names = (self.bb_names if rec.enabled else [f"fpn/p{k}" for k in range(2, 7)]) + \
            [f"head/level{i:02d}/{s}" for i in range(5) for s in ("objectness", "bbox_deltas")]
        outs = dict(zip(names, self.bb.run(names, {"x": np.ascontiguousarray(x, dtype=_F32)[None]})))
        with rec.scope("backbone"):
            for nm in self.bb_names:
                if nm in outs:
                    rec.save(nm, outs[nm])
        # the RPN head ran in the same graph; hand its outputs to rpn_head (same feature maps)
        self._head = outs
        self._feats = [outs[f"fpn/p{k}"][0] for k in range(2, 7)]
        return self._feats

    def rpn_head(self, feats, rec=NULL_RECORDER):
        outs = self._head
        if outs is None or feats is not self._feats:
            # feature maps from elsewhere (stage isolation): run the head alone on them
            outs = {}
            sess = self._head_session()
            for i, f in enumerate(feats):
                o, d = sess.run(None, {"x": np.ascontiguousarray(f, dtype=_F32)[None]})
                outs[f"head/level{i:02d}/objectness"], outs[f"head/level{i:02d}/bbox_deltas"] = o, d
        self._head, self._feats = None, None
        logits, deltas = [], []
        for i in range(len(feats)):
            o, d = outs[f"head/level{i:02d}/objectness"], outs[f"head/level{i:02d}/bbox_deltas"]
            rec.save(f"head/level{i:02d}/objectness", o)
            rec.save(f"head/level{i:02d}/bbox_deltas", d)
            logits.append(o[0])
            deltas.append(d[0])
        return logits, deltas

    def _head_session(self):
        if getattr(self, "_hs", None) is None:
            from onnx import TensorProto, helper

            g = _GraphBuilder(self._weights_for_head)
            t = g.op("Relu", [g.conv("x", "rpn.head.conv", 1, 1, bias=True)])
            g.output(g.conv(t, "rpn.head.cls_logits", bias=True), "objectness")
            g.output(g.conv(t, "rpn.head.bbox_pred", bias=True), "bbox_deltas")
            m = g.model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 256, "H", "W"])])
            ort = _import_ort()
            self._hs = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        return self._hs

    def roi_networks(self, pooled, rec=NULL_RECORDER):
        x = np.ascontiguousarray(pooled, dtype=_F32).reshape(len(pooled), -1)
        if len(x) == 0:  # no proposals: onnxruntime's Gemm wants at least one row
            return np.zeros((0, 12), _F32), np.zeros((0, 2), _F32)
        names = ROI_OUTPUTS if rec.enabled else ["dof_regression", "class_logits"]
        outs = dict(zip(names, self.roi.run(names, {"x": x})))
        for nm in ROI_OUTPUTS:
            if nm in outs:
                rec.save(nm, outs[nm])
        return outs["dof_regression"], outs["class_logits"]
