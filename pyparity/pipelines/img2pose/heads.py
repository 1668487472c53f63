"""RoI heads' networks: two TwoMLPHeads (DoF branch and class branch), the DoF predictor
(Linear -> BatchNorm1d (running stats) -> ReLU -> Linear(256, 12)) and the class predictor. float32."""

from __future__ import annotations

import numpy as np

from pyparity.pipelines.img2pose import ops
from pyparity.trace import NULL_RECORDER, StageRecorder
from pyparity.trace.stage_index import Stage, declare


STAGES = declare(
    __name__,
    Stage("roi/box_head/*", "two_mlp_head", "img2pose models.py: TwoMLPHead",
          "the DoF branch's fc6, fc7 (before ReLU)"),
    Stage("roi/class_head/*", "two_mlp_head", "img2pose models.py: TwoMLPHead",
          "the class branch's fc6, fc7 (before ReLU)"),
    Stage("roi/box_predictor/*", "dof_predictor", "img2pose models.py: FastRCNNDoFPredictor", "Linear, BatchNorm1d"),
    Stage("roi/dof_regression", "roi_networks", "img2pose models.py: FastRCNNDoFPredictor",
          "(N, 12): background, then face"),
    Stage("roi/class_logits", "roi_networks", "img2pose models.py: FastRCNNClassPredictor", "(N, 2)"),
)

_F32 = np.float32


def two_mlp_head(x: np.ndarray, p: dict, name: str, rec: StageRecorder = NULL_RECORDER, rec_name: str = "") -> np.ndarray:
    """(K, C*7*7) -> relu(fc7(relu(fc6(x)))); records fc6/fc7 *before* their ReLU."""
    h = ops.linear(x, p[name + ".fc6.weight"], p[name + ".fc6.bias"])
    rec.save(rec_name + "/fc6", h)
    h = ops.linear(ops.relu(h), p[name + ".fc7.weight"], p[name + ".fc7.bias"])
    rec.save(rec_name + "/fc7", h)
    return ops.relu(h)


def _fma(a, b, c):
    """float32 fused multiply-add, emulated in float64 (exact product of two float32)."""
    return (a.astype(np.float64) * b.astype(np.float64) + c.astype(np.float64)).astype(_F32)


def batch_norm_1d(x: np.ndarray, p: dict, name: str, eps: float) -> np.ndarray:
    """Eval BatchNorm1d as PyTorch's CPU kernel (batch_norm_cpu_transform_input), bit-exact:
    ``alpha = (1 / sqrt(rv + eps)) * w``, ``beta = fma(-rm, alpha, b)``, ``out = fma(x, alpha, beta)``
    (the AVX2 build contracts ``b - rm * alpha`` and ``x * alpha + beta`` into FMAs)."""
    invstd = _F32(1) / np.sqrt(p[name + ".running_var"] + _F32(eps))
    alpha = invstd * p[name + ".weight"]
    beta = _fma(-p[name + ".running_mean"], alpha, p[name + ".bias"])
    return _fma(x, alpha[None, :], beta[None, :])


def dof_predictor(x: np.ndarray, p: dict, eps: float, rec: StageRecorder = NULL_RECORDER) -> np.ndarray:
    d = "roi_heads.box_predictor.dof_pred"
    h = ops.linear(x, p[d + ".0.weight"], p[d + ".0.bias"])
    rec.save("box_predictor/linear0", h)
    h = batch_norm_1d(h, p, d + ".1", eps)
    rec.save("box_predictor/bn", h)
    return ops.linear(ops.relu(h), p[d + ".3.weight"], p[d + ".3.bias"])


def roi_networks(pooled: np.ndarray, p: dict, eps: float, rec: StageRecorder = NULL_RECORDER):
    """Pooled features (K, C, 7, 7) -> (dof_regression (K, 12), class_logits (K, 2))."""
    x = pooled.reshape(len(pooled), -1)
    feat = two_mlp_head(x, p, "roi_heads.box_head", rec, "box_head")
    dof = dof_predictor(feat, p, eps, rec)
    rec.save("dof_regression", dof)
    cfeat = two_mlp_head(x, p, "roi_heads.class_head", rec, "class_head")
    logits = ops.linear(cfeat, p["roi_heads.class_predictor.cls_score.weight"], p["roi_heads.class_predictor.cls_score.bias"])
    rec.save("class_logits", logits)
    return dof, logits
