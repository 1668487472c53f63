"""Generate reference_dumps/pof-unseen/: upstream POF reconstructions of the unseen clips.

    python scripts/make_pof_unseen_dumps.py --upstream UPSTREAM.py --checkpoint-dir DIR [--out DIR]
        [--variants semgcn-temporal,semgcn,gcn,transformer] [--clips NAME,...]

Runs UPSTREAM's code (JoeyKardolus/humanpose3d_backend @ 396dac4, src/pof/), unmodified, through its
public API only, as the app's pipeline calls it (src/pipeline/refinement.py):

    model = load_from_checkpoint(torch.load(DIR/ckpt_<variant>.pth))     # {"config", "model_state_dict"}
    inf = CameraPOFInference(model)
    pose_3d_m = inf.reconstruct_3d(pose_2d, visibility, height_m=1.78)

``--upstream FILE`` is a single-module assembly of upstream src/pof/ (the model classes,
``load_from_checkpoint``, ``create_gnn_pof_model``, ``CameraPOFModel``, ``CameraPOFInference``); it is
not part of this project (upstream's code is not copied here). What the model gets and returns is
recorded with torch forward (pre-)hooks on the model; ``metric/pof`` is the POF that ``reconstruct_3d``
hands to the least-squares solver (recorded by wrapping the module-level
``reconstruct_skeleton_least_squares`` that inference.py calls, for the duration of the call),
``output/reconstruct_3d`` its return value. The checkpoints hold the synthetic weights (recipe crc32-normal-v1,
../shared/docs/synthetic-weights.md); their weights_sha256 is checked against the pof-upstream
STAGES.md table before anything is recorded.

Adjacency constants: upstream's graph models build their limb adjacencies in graph_utils at
construction. An assembly that replaces those builders by a module-level ``ADJ`` dict (name ->
float32 (14,14)) gets them here from the checkpoint's own buffers (``adj`` / ``adj_joint`` /
``adj_kinematic`` / ``adj_symmetry``: a checkpoint holds exactly the constructor's values, and
load_state_dict would overwrite them anyway). An assembly with upstream's graph_utils needs nothing.

The clips are scripts/pof_unseen_clips.py's CLIPS. One thread (torch.set_num_threads(1)), CPU.
Stage names, shapes and dtypes are those of ../shared/reference_dumps/pof-upstream (STAGES.md there);
batched model calls (the non-temporal variants) are split per frame. See reference_dumps/pof-unseen/STAGES.md.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import pof_unseen_clips as clips  # noqa: E402

VARIANTS = ("semgcn-temporal", "semgcn", "gcn", "transformer")
HEIGHT_M = 1.78
UPSTREAM = "JoeyKardolus/humanpose3d_backend@396dac4ac28b"
# weights_sha256 of the crc32-normal-v1 weights (../shared/reference_dumps/pof-upstream/STAGES.md)
WEIGHTS_SHA256 = {
    "semgcn-temporal": "b7be2ab6ba5cbd44120e19ade98a3e71a7ececcc97e34ec4c03461d872daab08",
    "semgcn": "c137c19d336173be256ca8d4ab4887945c9ba0f26a8cfde8e368a02727db21bc",
    "gcn": "d0b08a0ee5e1d8d86b94a60cd45a258ea0ecc644a262abc4fc9ff9595c6108a8",
    "transformer": "739de3cf19fa9a61f78e23be93f5e2ef70b5ffd4dc5d24893a294fa7346e47ee",
}
ADJ_BUFFERS = ("adj", "adj_joint", "adj_kinematic", "adj_symmetry")
MODEL_IN = ("pose_2d", "visibility", "limb_delta_2d", "limb_length_2d", "prev_pof")


def load_upstream(path: Path):
    spec = importlib.util.spec_from_file_location("upstream_pof", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # SolverTap finds the inference module by name
    spec.loader.exec_module(mod)
    return mod


def weights_sha256(state_dict) -> str:
    """sha256 over every floating-point entry's little-endian bytes, entries sorted by name (synthetic-weights.md)."""
    h = hashlib.sha256()
    for name in sorted(state_dict):
        t = state_dict[name]
        if t.is_floating_point():
            h.update(np.ascontiguousarray(t.numpy()).astype("<f4").tobytes())
    return h.hexdigest()


def load_inference(U, torch, ckpt_path: Path, variant: str):
    ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)  # data only: no pickled code runs
    sd = ck["model_state_dict"]
    sha = weights_sha256(sd)
    if sha != WEIGHTS_SHA256[variant]:
        sys.exit(f"{ckpt_path}: weights_sha256 {sha} is not the crc32-normal-v1 {variant} value {WEIGHTS_SHA256[variant]}")
    if isinstance(getattr(U, "ADJ", None), dict):  # assembly without graph_utils: constants from the checkpoint
        for k in ADJ_BUFFERS:
            if k in sd:
                U.ADJ[k] = sd[k].numpy().astype(np.float32)
    model = U.load_from_checkpoint(ck)
    return U.CameraPOFInference(model), ck["config"], sha, [k for k in ADJ_BUFFERS if k in sd]


class ModelTap:
    """Forward (pre-)hooks on the upstream model: per-frame copies of what it got and returned.

    A call with batch B covers the next B frames (the temporal loop calls with B = 1 per frame; the
    non-temporal branch once with the whole clip). A temporal model called without prev_pof (upstream's
    single-frame branch) uses zeros (SemGCNTemporalZSign.forward): recorded as such.
    """

    def __init__(self, model, temporal: bool):
        self.temporal = temporal
        self.records: list[tuple[str, np.ndarray]] = []
        self.frames = 0
        self._start = 0
        self._handles = [model.register_forward_pre_hook(self._pre, with_kwargs=True),
                         model.register_forward_hook(self._post, with_kwargs=True)]

    def _pre(self, module, args, kwargs):
        names = MODEL_IN if self.temporal else MODEL_IN[:4]
        vals = list(args) + [kwargs[n] for n in names[len(args):] if n in kwargs]
        arrays = [v.detach().numpy().copy() for v in vals if v is not None]
        B = arrays[0].shape[0]
        if self.temporal and len(arrays) == 4:
            arrays.append(np.zeros((B, 14, 3), np.float32))
        self._start = self.frames
        for name, a in zip(names, arrays):
            for b in range(B):
                self.records.append((f"frame{self._start + b:04d}/model/in/{name}", a[b]))
        self.frames += B

    def _post(self, module, args, kwargs, output):
        outs = output if isinstance(output, tuple) else (output,)
        for name, t in zip(("pof", "z_sign_logits"), outs):
            a = t.detach().numpy().copy()
            for b in range(a.shape[0]):
                self.records.append((f"frame{self._start + b:04d}/model/out/{name}", a[b]))

    def remove(self):
        for h in self._handles:
            h.remove()


class SolverTap:
    """Records the POF ``reconstruct_3d`` gives upstream's least-squares solver: the module-level
    ``reconstruct_skeleton_least_squares`` in the inference module's namespace (inference.py imports it
    there) is wrapped while the tap is on; the wrapper only copies its first argument."""

    def __init__(self, inf):
        self.module = sys.modules[type(inf).__module__]
        self.original = self.module.reconstruct_skeleton_least_squares
        self.pofs: list[np.ndarray] = []

        def recorded(pof, *args, **kwargs):
            self.pofs.append(np.array(pof, dtype=np.float32, copy=True))
            return self.original(pof, *args, **kwargs)

        self.module.reconstruct_skeleton_least_squares = recorded

    def remove(self):
        self.module.reconstruct_skeleton_least_squares = self.original


def cpu_info() -> tuple[str, list[str]]:
    """(model name, SIMD flags) from /proc/cpuinfo: torch's float32 kernels (hence the last bits of every
    model output) depend on the instruction set they dispatch to."""
    model, flags = platform.processor() or "unknown", []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, val = line.partition(":")
            if key.strip() == "model name" and model == (platform.processor() or "unknown"):
                model = val.strip()
            elif key.strip() == "flags" and not flags:
                flags = sorted(f for f in val.split() if f.startswith(("avx", "fma", "amx")))
    except OSError:
        pass
    return model, flags


def conventions(spec: dict) -> dict:
    """The pof-upstream dumps' convention texts, with this clip's image size."""
    return {
        "body_frame": "x = subject's left, y = up, z = subject's forward; feet at y=0",
        "camera": "OpenCV camera frame: x right, y down, z forward (away from camera), metres",
        "names": "frameNNNN/<stage>; batched values are split per frame; recording order = upstream compute order",
        "pose_2d": ("MediaPipe-style normalised image coords as the upstream pipeline feeds them: x = u/W, y = v/H "
                    "with u = fx*X/Z + cx, v = fy*Y/Z + cy (ideal pinhole, no distortion; "
                    f"W={spec['W']}, H={spec['H']})"),
    }


def record_clip(U, torch, inf, variant: str, name: str):
    """Run reconstruct_3d on clip ``name``; -> [(stage, array)] in upstream's compute order."""
    kp, vis = clips.make_clip(**clips.CLIPS[name])
    T = kp.shape[0]
    recs = [("clip/pose_2d", kp), ("clip/visibility", vis), ("clip/height_m", np.array(HEIGHT_M, np.float64))]
    tap = ModelTap(inf.model, temporal=variant == "semgcn-temporal")
    solver = SolverTap(inf)
    try:
        out = inf.reconstruct_3d(kp.copy(), vis.copy(), HEIGHT_M)
    finally:
        tap.remove()
        solver.remove()
    if tap.frames != T:
        raise RuntimeError(f"{variant}/{name}: the model saw {tap.frames} frames, the clip has {T}")
    if len(solver.pofs) != 1:
        raise RuntimeError(f"{variant}/{name}: the solver was called {len(solver.pofs)} times, expected once")
    pof = solver.pofs[0]
    out = np.asarray(out)
    assert pof.shape == (T, 14, 3) and pof.dtype == np.float32, (pof.shape, pof.dtype)
    assert out.shape == (T, 17, 3) and out.dtype == np.float32, (out.shape, out.dtype)
    recs += tap.records
    recs += [(f"frame{f:04d}/metric/pof", pof[f]) for f in range(T)]
    recs += [(f"frame{f:04d}/output/reconstruct_3d", out[f]) for f in range(T)]
    return recs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--upstream", type=Path, required=True, help="single-module assembly of upstream src/pof")
    ap.add_argument("--checkpoint-dir", type=Path, required=True, help="holds ckpt_<variant>.pth (synthetic weights)")
    ap.add_argument("--out", type=Path, default=ROOT / "reference_dumps" / "pof-unseen")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--clips", default=",".join(clips.CLIPS))
    a = ap.parse_args(argv)

    import torch

    from pyparity.trace.dumpio import TraceWriter

    torch.set_num_threads(1)
    U = load_upstream(a.upstream)
    command = "python scripts/make_pof_unseen_dumps.py --upstream UPSTREAM.py --checkpoint-dir DIR"
    cpu, simd = cpu_info()
    build = {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
             "cpu": cpu, "cpu_simd_flags": simd, "device": "cpu", "threads": 1}
    for variant in a.variants.split(","):
        inf, config, sha, structural = load_inference(U, torch, a.checkpoint_dir / f"ckpt_{variant}.pth", variant)
        for name in a.clips.split(","):
            spec = clips.clip_spec(name)
            meta = {
                "producer": {"name": "humanpose3d-pof-upstream", "version": UPSTREAM, "command": command,
                             "entry_point": "CameraPOFInference.reconstruct_3d(pose_2d, visibility, height_m)",
                             "recording": "torch forward (pre-)hooks on the model; upstream code unmodified",
                             **build},
                "input": {"clip": name, "frames": spec["T"], "generator": "scripts/pof_unseen_clips.py make_clip",
                          "spec": spec},
                "models": {variant: {"constructor_config": config,
                                     "weights": {"recipe": "crc32-normal-v1", "overrides": {},
                                                 "structural_buffers_left_as_created": structural,
                                                 "weights_sha256": sha}}},
                "parameters": {"height_m": HEIGHT_M, "HEIGHT_TO_TORSO_RATIO": 3.4, "pelvis_depth(output_depth)": 2.0,
                               "enforce_bones": True, "use_least_squares": True},
                "conventions": conventions(spec),
            }
            recs = record_clip(U, torch, inf, variant, name)
            w = TraceWriter(a.out / variant / name, meta, compress=True)
            try:
                for stage, arr in recs:
                    w.write(stage, arr)
                w.commit()
            except BaseException:
                w.abort()
                raise
            print(f"{variant}/{name}: {spec['T']} frames, {len(recs)} stages", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
