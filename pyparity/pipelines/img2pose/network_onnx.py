"""img2pose's network as two ONNX graphs written with ``onnx.helper`` from the weight arrays (the
``onnx`` backend of network.py): no torch to build or run them, onnxruntime runs them.
``export_onnx(weights, cfg, dir)`` writes the two graphs to files."""

from __future__ import annotations

import os

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.img2pose.ops import frozen_bn_affine
from pyparity.pipelines.img2pose.weights import residual_blocks
from pyparity.trace import NULL_RECORDER

_F32 = np.float32


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
        scale, bias = frozen_bn_affine(self.p, name, eps)
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
    kind, blocks = residual_blocks(cfg.depth)
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
