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

- ``numpy``: `NumpyNetwork` below, over backbone.py, rpn.py (the head) and heads.py: float32 GEMMs
  (ops.py, winograd.py), each layer spread over threads (threads.py).
- ``torch`` (network_torch.py): the same graph as torch.nn modules built from the weight arrays (no
  torchvision model classes); torch is imported lazily and is an optional extra (``pyparity[torch]``).
- ``onnx`` (network_onnx.py): the graph written directly with ``onnx.helper`` from the weight arrays
  (no torch needed, neither to build nor to run), built in memory once per model, run with
  onnxruntime. ``export_onnx(weights, cfg, dir)`` writes the two graphs to files.
"""

from __future__ import annotations

from pyparity.errors import ModelError
from pyparity.pipelines.img2pose import threads as T
from pyparity.trace import NULL_RECORDER

BACKENDS = ("numpy", "torch", "onnx")


def make_network(backend: str, weights: dict, cfg, threads: int | None = None):
    if backend == "numpy":
        return NumpyNetwork(weights, cfg, threads)
    if backend == "torch":
        from pyparity.pipelines.img2pose.network_torch import TorchNetwork

        return TorchNetwork(weights, cfg, threads)
    if backend == "onnx":
        from pyparity.pipelines.img2pose.network_onnx import OnnxNetwork

        return OnnxNetwork(weights, cfg, threads)
    raise ModelError(f"img2pose: unknown backend {backend!r} (one of {', '.join(BACKENDS)})")


class NumpyNetwork:
    name = "numpy"

    def __init__(self, weights: dict, cfg, threads: int | None = None):
        """``threads``: how many threads share each layer's chunks (threads.py); None: ``PYPARITY_THREADS``
        or every CPU this process may use."""
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
