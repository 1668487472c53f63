"""The four POF network variants in float32 NumPy, recording every stage under the dumps' names.

Variants (upstream class, file): ``semgcn-temporal`` (SemGCNTemporalZSign, gnn_model.py),
``semgcn`` (SemGCNPOFModel), ``gcn`` (POFGraphModel), ``transformer`` (CameraPOFModel, model.py).
Inputs are batched: pose_2d (B,17,2) normalised (pelvis-centred, unit 2D torso), visibility (B,17),
limb_delta_2d (B,14,2), limb_length_2d (B,14), prev_pof (B,14,3) for the temporal variant.
Output: pof (B,14,3) unit vectors (F.normalize eps 1e-6) and, for semgcn-temporal, z_sign_logits (B,14).
Eval mode: dropout is the identity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from pyparity.errors import ModelError
from pyparity.pipelines.pof import constants as C
from pyparity.pipelines.pof import nn
from pyparity.pipelines.pof.recording import FrameSaver
from pyparity.trace.stage_index import Stage, declare


_UPSTREAM = "humanpose3d src/pof/"

STAGES = declare(
    __name__,
    Stage("frame*/model/in/*", "PofModel.forward", _UPSTREAM + "inference.py: CameraPOFInference.predict_pof",
          "the tensors the model got"),
    Stage("frame*/model/out/*", "PofModel.forward", _UPSTREAM + "inference.py: CameraPOFInference.predict_pof",
          "the unit POF and the z-sign logits"),
    Stage("frame*/model/prev_pof_used", "PofModel.forward", _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          "the previous POF the temporal encoder saw"),
    Stage("frame*/model/prev_encoder/in", "PofModel.forward", _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          "the flattened previous POF"),
    Stage("frame*/model/prev_encoder/[lo]*", "PofModel._mlp3", _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          "the temporal encoder's layers"),
    Stage("frame*/model/temporal_combine", "PofModel.forward", _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          "the current features combined with the previous POF's"),
    Stage("frame*/model/temporal_combine/in", "PofModel.forward",
          _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          ""),
    Stage("frame*/model/z_sign_head/*", "PofModel.forward", _UPSTREAM + "gnn_model.py: SemGCNTemporalZSign.forward",
          "logits of P(pof_z > 0)"),
    Stage("frame*/model/limb_builder", "PofModel._gnn_trunk", _UPSTREAM + "gnn_model.py: LimbFeatureBuilder",
          "per-limb 9-vectors"),
    Stage("frame*/model/limb_builder/in", "PofModel._gnn_trunk", _UPSTREAM + "gnn_model.py: LimbFeatureBuilder"),
    Stage("frame*/model/input_proj", "PofModel._gnn_trunk", _UPSTREAM + "gnn_model.py: SemGCNPOFModel", "Linear(9, d)"),
    Stage("frame*/model/input_proj/in", "PofModel._gnn_trunk", _UPSTREAM + "gnn_model.py: SemGCNPOFModel"),
    Stage("frame*/model/fusion/*", "PofModel._gnn_trunk",
          _UPSTREAM + "gnn_model.py: SemGCNPOFModel._encode_with_semgcn",
          "the three edge types fused"),
    Stage("frame*/model/global_encoder/in", "PofModel._gnn_trunk",
          _UPSTREAM + "gnn_model.py: SemGCNPOFModel._encode_with_semgcn",
          ""),
    Stage("frame*/model/global_encoder/[lo]*", "PofModel._mlp3",
          _UPSTREAM + "gnn_model.py: SemGCNPOFModel._encode_with_semgcn",
          "the global encoder on [pose, visibility]"),
    Stage("frame*/model/combine", "PofModel._gnn_trunk", _UPSTREAM + "gnn_model.py: SemGCNPOFModel._encode_with_semgcn",
          "local and global features combined"),
    Stage("frame*/model/combine/in", "PofModel._gnn_trunk",
          _UPSTREAM + "gnn_model.py: SemGCNPOFModel._encode_with_semgcn"),
    Stage("frame*/model/gcn_*/l*/*", "PofModel._gcn_layer", "humanpose3d src/shared/nn_layers.py: GCNLayer",
          "message, Linear, LayerNorm, GELU, residual"),
    Stage("const/gcn_*/adj_norm", "PofModel._gcn_layer", "humanpose3d src/shared/nn_layers.py: GCNLayer",
          "the row-normalised adjacency"),
    Stage("frame*/model/encoder/in", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbEncoder"),
    Stage("frame*/model/encoder/out", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbEncoder",
          "the limb encoder's output"),
    Stage("frame*/model/encoder/global_encoder/*", "PofModel._mlp3", _UPSTREAM + "model.py: LimbEncoder",
          "the global MLP on the 51-vector (transformer)"),
    Stage("frame*/model/encoder/[cl]*/*", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbEncoder",
          "limb and combine MLPs (transformer)"),
    Stage("frame*/model/transformer/in", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbTransformer"),
    Stage("frame*/model/transformer/x_plus_pos", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbTransformer",
          "plus the learned position encoding"),
    Stage("frame*/model/transformer/out", "PofModel._transformer_trunk", _UPSTREAM + "model.py: LimbTransformer"),
    Stage("frame*/model/transformer/transformer/out", "PofModel._transformer_trunk",
          _UPSTREAM + "model.py: LimbTransformer"),
    Stage("frame*/model/transformer/transformer/layers/**", "PofModel._encoder_layer",
          "torch nn.TransformerEncoderLayer (norm_first)",
          "one pre-LN encoder layer"),
    Stage("frame*/model/pof_head/*", "PofModel._pof_head", _UPSTREAM + "model.py: POFHead",
          "the shared MLP, raw vectors and the unit POF"),
    Stage("frame*/model/pof_head/*/*", "PofModel._pof_head", _UPSTREAM + "model.py: POFHead",
          "the shared MLP's layers and the per-limb heads"),
)

F32 = np.float32
VARIANTS = ("semgcn-temporal", "semgcn", "gcn", "transformer")
STRUCTURAL_BUFFERS = {
    "semgcn-temporal": ("adj_joint", "adj_kinematic", "adj_symmetry"),
    "semgcn": ("adj_joint", "adj_kinematic", "adj_symmetry"),
    "gcn": ("adj",),
    "transformer": (),
}
# Upstream constructor defaults / trainer CLI defaults per variant (STAGES.md table).
DEFAULT_CONFIGS: dict[str, dict[str, Any]] = {
    "semgcn-temporal": {"model_type": "semgcn-temporal", "d_model": 256, "num_layers": 4, "use_gat": False},
    "semgcn": {"model_type": "semgcn", "d_model": 128, "num_layers": 4, "use_gat": False},
    "gcn": {"model_type": "gcn", "d_model": 128, "num_layers": 4},
    "transformer": {"d_model": 128, "num_heads": 4, "num_layers": 4},
}
TRANSFORMER_FFN = 256
MAX_CONFIG_SIZE = 4096  # largest d_model / num_layers / num_heads a config may ask for


def variant_from_config(config: Mapping[str, Any] | None, source: str = "checkpoint") -> str:
    """Upstream's ``_load_model_auto`` rule: ``model_type`` present -> GNN variant, else transformer."""
    config = dict(config or {})
    mt = config.get("model_type")
    if mt is None:
        return "transformer"
    if mt not in ("semgcn-temporal", "semgcn", "gcn"):
        raise ModelError(f"{source}: config names unknown POF model_type {mt!r} (known: semgcn-temporal, semgcn, gcn, or none = transformer)")
    if config.get("use_gat"):
        raise ModelError(f"{source}: use_gat=True (GAT layers) is not supported by this port")
    return mt


def full_config(variant: str, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if variant not in VARIANTS:
        raise ModelError(f"unknown POF model variant {variant!r} (known: {', '.join(VARIANTS)})")
    if config is not None and not isinstance(config, Mapping):
        raise ModelError(f"POF config must be a mapping (a JSON object), got {type(config).__name__}")
    out = dict(DEFAULT_CONFIGS[variant])
    # as upstream's loaders: config.get(key, default) for the keys they read
    for k in ("d_model", "num_layers", "num_heads", "use_gat"):
        if config and k in config and k in out:
            out[k] = config[k]
    for k in ("d_model", "num_layers", "num_heads"):
        v = out.get(k)
        if k in out and (not isinstance(v, int) or isinstance(v, bool) or not 1 <= v <= MAX_CONFIG_SIZE):
            raise ModelError(f"POF config: {k} must be an integer in 1..{MAX_CONFIG_SIZE}, got {v!r}")
    if "num_heads" in out and out["d_model"] % out["num_heads"]:
        raise ModelError(f"POF config: d_model {out['d_model']} is not a multiple of num_heads {out['num_heads']}")
    if "use_gat" in out and not isinstance(out["use_gat"], bool):
        raise ModelError(f"POF config: use_gat must be true or false, got {out['use_gat']!r}")
    return out


def _lin(name: str, n_out: int, n_in: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (n_out, n_in)), (f"{name}.bias", (n_out,))]


def _ln(name: str, n: int) -> list[tuple[str, tuple[int, ...]]]:
    return [(f"{name}.weight", (n,)), (f"{name}.bias", (n,))]


def _pof_head_specs(d: int) -> list:
    s = _lin("pof_head.shared.0", d // 2, d)
    for i in range(C.NUM_LIMBS):
        s += _lin(f"pof_head.limb_heads.{i}", 3, d // 2)
    return s


def param_specs(variant: str, config: Mapping[str, Any] | None = None) -> list[tuple[str, tuple[int, ...]]]:
    """``(name, shape)`` of every float state_dict entry, torch's state_dict order (buffers included)."""
    cfg = full_config(variant, config)
    d, nl = int(cfg["d_model"]), int(cfg["num_layers"])
    n_glob = C.NUM_JOINTS * 3
    s: list[tuple[str, tuple[int, ...]]] = []
    if variant == "transformer":
        ffn = TRANSFORMER_FFN
        s += _lin("encoder.limb_encoder.0", d, 9) + _ln("encoder.limb_encoder.1", d)
        s += _lin("encoder.limb_encoder.4", d, d) + _ln("encoder.limb_encoder.5", d)
        s += _lin("encoder.global_encoder.0", d, n_glob) + _ln("encoder.global_encoder.1", d)
        s += _lin("encoder.combine.0", d, 2 * d) + _ln("encoder.combine.1", d)
        s.append(("transformer.pos_encoding", (C.NUM_LIMBS, d)))
        for i in range(nl):
            p = f"transformer.transformer.layers.{i}"
            s += [(f"{p}.self_attn.in_proj_weight", (3 * d, d)), (f"{p}.self_attn.in_proj_bias", (3 * d,))]
            s += _lin(f"{p}.self_attn.out_proj", d, d)
            s += _lin(f"{p}.linear1", ffn, d) + _lin(f"{p}.linear2", d, ffn)
            s += _ln(f"{p}.norm1", d) + _ln(f"{p}.norm2", d)
        return s + _pof_head_specs(d)
    s += _lin("input_proj", d, 9)
    if variant == "gcn":
        s.append(("adj", (C.NUM_LIMBS, C.NUM_LIMBS)))
        for i in range(nl):
            s += _lin(f"gcn_layers.{i}.linear", d, d) + _ln(f"gcn_layers.{i}.norm", d)
    else:
        s += [(n, (C.NUM_LIMBS, C.NUM_LIMBS)) for n in ("adj_joint", "adj_kinematic", "adj_symmetry")]
        for stack in ("gcn_joint", "gcn_kinematic", "gcn_symmetry"):
            for i in range(nl):
                s += _lin(f"{stack}.{i}.linear", d, d) + _ln(f"{stack}.{i}.norm", d)
        s += _lin("fusion.0", 2 * d, 3 * d) + _ln("fusion.1", 2 * d)
        s += _lin("fusion.4", d, 2 * d) + _ln("fusion.5", d)
    s += _lin("global_encoder.0", d, n_glob) + _ln("global_encoder.1", d)
    s += _lin("combine", d, 2 * d)
    if variant == "semgcn-temporal":
        s += _lin("prev_encoder.0", d, C.NUM_LIMBS * 3) + _ln("prev_encoder.1", d)
        s += _lin("temporal_combine", d, 2 * d)
    s += _pof_head_specs(d)
    if variant == "semgcn-temporal":
        s += _lin("z_sign_head.0", d // 2, d) + _lin("z_sign_head.2", C.NUM_LIMBS, d // 2)
    return s


def structural_buffers(variant: str) -> dict[str, np.ndarray]:
    """Adjacency buffers exactly as upstream's constructor builds them (float32 0/1 + identity)."""
    if variant == "gcn":
        return {"adj": C.combined_adj()}
    if variant in ("semgcn", "semgcn-temporal"):
        return C.semgcn_adjacencies()
    return {}


@dataclass
class PofModel:
    """A POF network with its weights (``params``: state_dict name -> float32 array)."""

    variant: str
    config: dict[str, Any]
    params: dict[str, np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        self.d = int(self.config["d_model"])
        self.num_layers = int(self.config["num_layers"])
        self.num_heads = int(self.config.get("num_heads", 4))
        self._adj_norm: dict[str, np.ndarray] = {}
        self._wt: dict[str, tuple] = {}  # name -> (weight, contiguous weight.T), built on first use
        p = self.params
        if self.variant == "gcn":
            self._adj_norm["gcn_layers"] = nn.row_normalize(p["adj"])
        elif self.variant != "transformer":
            for stack, buf in (("gcn_joint", "adj_joint"), ("gcn_kinematic", "adj_kinematic"), ("gcn_symmetry", "adj_symmetry")):
                self._adj_norm[stack] = nn.row_normalize(p[buf])

    @property
    def temporal(self) -> bool:
        return self.variant == "semgcn-temporal"

    # -- building blocks ---------------------------------------------------------------------
    def _w(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        return self.params[name + ".weight"], self.params[name + ".bias"]

    def _linear(self, name: str, x: np.ndarray) -> np.ndarray:
        w, b = self._w(name)
        hit = self._wt.get(name)
        if hit is None or hit[0] is not w:  # (re)built when params[name] is replaced
            hit = self._wt[name] = (w, np.ascontiguousarray(w.T))
        return nn.linear(x, w, b, hit[1])

    def _ln(self, name: str, x: np.ndarray) -> np.ndarray:
        w, b = self._w(name)
        return nn.layer_norm(x, w, b, 1e-5)

    @staticmethod
    def limb_features(pose_2d, visibility, limb_delta_2d, limb_length_2d) -> np.ndarray:
        """LimbFeatureBuilder / LimbEncoder input (B,14,9): [dx,dy,len,px,py,cx,cy,pvis,cvis]."""
        P, Ch = C.LIMB_PARENTS, C.LIMB_CHILDREN
        return np.concatenate([
            limb_delta_2d, limb_length_2d[..., None], pose_2d[:, P], pose_2d[:, Ch],
            visibility[:, P, None], visibility[:, Ch, None]], axis=-1).astype(F32)

    @staticmethod
    def global_input(pose_2d, visibility) -> np.ndarray:
        B = pose_2d.shape[0]
        return np.concatenate([pose_2d.reshape(B, -1), visibility], axis=-1).astype(F32)

    def _gcn_layer(self, stack: str, i: int, x: np.ndarray, s: FrameSaver) -> np.ndarray:
        a = self._adj_norm[stack]
        p = f"model/{stack}/l{i:02d}/"
        msg = nn.propagate(a, x)
        s.save_internal(p + "msg", msg)
        lin = self._linear(f"{stack}.{i}.linear", msg)
        s.save_internal(p + "linear", lin)
        nrm = self._ln(f"{stack}.{i}.norm", lin)
        s.save_internal(p + "norm", nrm)
        g = nn.gelu(nrm)
        s.save_internal(p + "gelu", g)
        s.save_const(f"{stack}/adj_norm", a)
        out = g + x
        s.save(p + "out", out)
        return out

    def _mlp3(self, prefix: str, name: str, x: np.ndarray, s: FrameSaver) -> np.ndarray:
        """Sequential(Linear, LayerNorm, GELU) recorded as in/l00/l01/l02/out."""
        y0 = self._linear(f"{name}.0", x)
        s.save(prefix + "/l00", y0)
        y1 = self._ln(f"{name}.1", y0)
        s.save(prefix + "/l01", y1)
        y2 = nn.gelu(y1)
        s.save(prefix + "/l02", y2)
        s.save(prefix + "/out", y2)
        return y2

    def _pof_head(self, h: np.ndarray, s: FrameSaver) -> np.ndarray:
        s.save("model/pof_head/in", h)
        y0 = self._linear("pof_head.shared.0", h)
        s.save("model/pof_head/shared/l00", y0)
        sh = nn.gelu(y0)
        s.save("model/pof_head/shared/l01", sh)
        s.save("model/pof_head/shared/out", sh)
        raw = np.empty(h.shape[:-2] + (C.NUM_LIMBS, 3), dtype=F32)
        for i in range(C.NUM_LIMBS):
            raw[:, i] = self._linear(f"pof_head.limb_heads.{i}", sh[:, i])
            s.save(f"model/pof_head/limb_heads/l{i:02d}", raw[:, i])
        s.save("model/pof_head/raw", raw)
        pof = nn.l2_normalize(raw, 1e-6)
        s.save("model/pof_head/out", pof)
        return pof

    # -- forward -----------------------------------------------------------------------------
    def forward(self, pose_2d, visibility, limb_delta_2d, limb_length_2d, prev_pof=None, saver: FrameSaver | None = None):
        """-> (pof (B,14,3), z_sign_logits (B,14) or None). ``prev_pof`` None -> zeros (temporal)."""
        s = saver or FrameSaver()
        pose_2d = np.ascontiguousarray(pose_2d, dtype=F32)
        visibility = np.ascontiguousarray(visibility, dtype=F32)
        limb_delta_2d = np.ascontiguousarray(limb_delta_2d, dtype=F32)
        limb_length_2d = np.ascontiguousarray(limb_length_2d, dtype=F32)
        B = pose_2d.shape[0]
        s.save("model/in/pose_2d", pose_2d)
        s.save("model/in/visibility", visibility)
        s.save("model/in/limb_delta_2d", limb_delta_2d)
        s.save("model/in/limb_length_2d", limb_length_2d)
        if self.temporal:
            prev = np.zeros((B, C.NUM_LIMBS, 3), F32) if prev_pof is None else np.asarray(prev_pof, F32)
            s.save("model/in/prev_pof", prev)
        if self.variant == "transformer":
            h = self._transformer_trunk(pose_2d, visibility, limb_delta_2d, limb_length_2d, s)
        else:
            h = self._gnn_trunk(pose_2d, visibility, limb_delta_2d, limb_length_2d, s)
        logits = None
        if self.temporal:
            s.save("model/prev_pof_used", prev)
            pflat = prev.reshape(B, -1)
            s.save("model/prev_encoder/in", pflat)
            pf = self._mlp3("model/prev_encoder", "prev_encoder", pflat, s)
            tin = np.concatenate([h, np.broadcast_to(pf[:, None, :], h.shape)], axis=-1)
            s.save("model/temporal_combine/in", tin)
            h = self._linear("temporal_combine", tin)
            s.save("model/temporal_combine", h)
        pof = self._pof_head(h, s)
        if self.temporal:
            zin = h.mean(axis=1, dtype=F32)
            s.save("model/z_sign_head/in", zin)
            z0 = self._linear("z_sign_head.0", zin)
            s.save("model/z_sign_head/l00", z0)
            z1 = nn.gelu(z0)
            s.save("model/z_sign_head/l01", z1)
            logits = self._linear("z_sign_head.2", z1)
            s.save("model/z_sign_head/l02", logits)
            s.save("model/z_sign_head/out", logits)
        s.save("model/out/pof", pof)
        if logits is not None:
            s.save("model/out/z_sign_logits", logits)
        return pof, logits

    def _gnn_trunk(self, pose_2d, visibility, delta, length, s: FrameSaver) -> np.ndarray:
        s.save("model/limb_builder/in", pose_2d)
        feats = self.limb_features(pose_2d, visibility, delta, length)
        s.save("model/limb_builder", feats)
        s.save("model/input_proj/in", feats)
        h = self._linear("input_proj", feats)
        s.save("model/input_proj", h)
        if self.variant == "gcn":
            for i in range(self.num_layers):
                h = self._gcn_layer("gcn_layers", i, h, s)
            local = h
        else:
            hj = hk = hs = h
            for i in range(self.num_layers):
                hj = self._gcn_layer("gcn_joint", i, hj, s)
                hk = self._gcn_layer("gcn_kinematic", i, hk, s)
                hs = self._gcn_layer("gcn_symmetry", i, hs, s)
            fin = np.concatenate([hj, hk, hs], axis=-1)
            s.save("model/fusion/in", fin)
            f0 = self._linear("fusion.0", fin)
            s.save("model/fusion/l00", f0)
            f1 = self._ln("fusion.1", f0)
            s.save("model/fusion/l01", f1)
            f2 = nn.gelu(f1)
            s.save("model/fusion/l02", f2)
            f4 = self._linear("fusion.4", f2)
            s.save("model/fusion/l04", f4)
            f5 = self._ln("fusion.5", f4)
            s.save("model/fusion/l05", f5)
            s.save("model/fusion/out", f5)
            local = f5
        gin = self.global_input(pose_2d, visibility)
        s.save("model/global_encoder/in", gin)
        g = self._mlp3("model/global_encoder", "global_encoder", gin, s)
        cin = np.concatenate([local, np.broadcast_to(g[:, None, :], local.shape)], axis=-1)
        s.save("model/combine/in", cin)
        h = self._linear("combine", cin)
        s.save("model/combine", h)
        return h

    def _transformer_trunk(self, pose_2d, visibility, delta, length, s: FrameSaver) -> np.ndarray:
        s.save("model/encoder/in", pose_2d)
        feats = self.limb_features(pose_2d, visibility, delta, length)
        e = "model/encoder/limb_encoder"
        y = self._linear("encoder.limb_encoder.0", feats); s.save(e + "/l00", y)
        y = self._ln("encoder.limb_encoder.1", y); s.save(e + "/l01", y)
        y = nn.gelu(y); s.save(e + "/l02", y)
        y = self._linear("encoder.limb_encoder.4", y); s.save(e + "/l04", y)
        y = self._ln("encoder.limb_encoder.5", y); s.save(e + "/l05", y)
        limb = nn.gelu(y); s.save(e + "/l06", limb); s.save(e + "/out", limb)
        gin = self.global_input(pose_2d, visibility)
        g = self._mlp3("model/encoder/global_encoder", "encoder.global_encoder", gin, s)
        cin = np.concatenate([limb, np.broadcast_to(g[:, None, :], limb.shape)], axis=-1)
        c = "model/encoder/combine"
        y = self._linear("encoder.combine.0", cin); s.save(c + "/l00", y)
        y = self._ln("encoder.combine.1", y); s.save(c + "/l01", y)
        x = nn.gelu(y); s.save(c + "/l02", x); s.save(c + "/out", x)
        s.save("model/encoder/out", x)
        s.save("model/transformer/in", x)
        x = x + self.params["transformer.pos_encoding"]
        s.save("model/transformer/x_plus_pos", x)
        for i in range(self.num_layers):
            x = self._encoder_layer(i, x, s)
        s.save("model/transformer/transformer/out", x)
        s.save("model/transformer/out", x)
        return x

    def _encoder_layer(self, i: int, x: np.ndarray, s: FrameSaver) -> np.ndarray:
        """nn.TransformerEncoderLayer, norm_first=True, ReLU FFN, batch_first, eval."""
        p = f"transformer.transformer.layers.{i}"
        r = f"model/transformer/transformer/layers/l{i:02d}/"
        n1 = self._ln(p + ".norm1", x)
        s.save_internal(r + "norm1", n1)
        sa = self._self_attn(p + ".self_attn", n1)
        s.save(r + "self_attn/out", sa)
        x1 = x + sa
        s.save_internal(r + "resid1", x1)
        n2 = self._ln(p + ".norm2", x1)
        s.save_internal(r + "norm2", n2)
        l1 = self._linear(p + ".linear1", n2)
        s.save_internal(r + "linear1", l1)
        a = nn.relu(l1)
        s.save_internal(r + "relu", a)
        l2 = self._linear(p + ".linear2", a)
        s.save_internal(r + "linear2", l2)
        out = x1 + l2
        s.save(r + "out", out)
        return out

    def _self_attn(self, p: str, x: np.ndarray) -> np.ndarray:
        B, L, d = x.shape
        H = self.num_heads
        hd = d // H
        qkv = nn.linear(x, self.params[p + ".in_proj_weight"], self.params[p + ".in_proj_bias"])
        q, k, v = (qkv[..., j * d:(j + 1) * d].reshape(B, L, H, hd).transpose(0, 2, 1, 3) for j in range(3))
        scores = np.matmul(q, k.transpose(0, 1, 3, 2)) * F32(1.0 / np.sqrt(hd))
        att = np.matmul(nn.softmax(scores), v)
        att = att.transpose(0, 2, 1, 3).reshape(B, L, d)
        return self._linear(p + ".out_proj", att)
