"""img2pose port: `predict` wall time per image and backend against upstream (its figures, or itself).

    python benchmarks/bench_img2pose.py [--threads N] [--repeat 5] [--image PATH] [--backend numpy,torch,onnx]
                                        [--config dump,upstream] [--upstream CHECKOUT]

Two settings, as STAGES.md (../shared/reference_dumps/img2pose-upstream/) measured upstream on
``image_sequence/001.jpg`` (640x480), synthetic weights, median of 5 after 2 warm-up calls:
  dump config      min/max 150/192, pre/post NMS 1000/32, score 0.2   upstream 1 thread:  102 ms
  upstream script  min/max 600/1400, pre/post NMS 6000/1000              upstream 1 thread: 1632 ms
The second row keeps the dumps' score threshold 0.2: upstream's figure reports 920 detections, which
is what 0.2 gives on this input (0.05, upstream's default, gives 957 and a slower pose loop); both
are printed.
``--threads 0`` (the default) pins nothing: every runner uses its default threads (torch and
onnxruntime all cores; the numpy backend ``PYPARITY_THREADS`` or all cores, its own chunks of each layer
with one BLAS thread per chunk). ``--threads N`` pins N through the BLAS environment variables *before*
NumPy is imported, ``torch.set_num_threads`` and the backends' ``threads``.
The machine is shared and noisy, so absolute milliseconds drift between runs: ``--upstream`` (a
checkout of upstream img2pose, github:vitoralbiero/img2pose, in an environment with torchvision:
``pip install --no-deps torchvision`` of torch's pairing, and pillow; scikit-image, which upstream
imports for face alignment only, is stubbed when missing) times upstream's own predict() in the same
process, rounds interleaved, and prints against it the ratio of the medians and the quartiles of the
per-round ratios (each round times every runner once, back to back). Where torchvision's compiled ops
do not load (a CUDA wheel beside a CPU torch), torchvision_cpu_ops.py compiles CPU nms/roi_align
for it and the output says so; STAGES.md's PATCH 1 is applied for torchvision >= 0.13.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

UPSTREAM_MS = {"dump": (102.0, 64.0), "upstream": (1632.0, 1097.0)}  # (1 thread, 2 threads)


def upstream_runner(upstream_dir: Path, cfg, img):
    """Upstream img2pose itself (a checkout of github:vitoralbiero/img2pose; needs torchvision, which the
    project does not depend on) with the same synthetic weights and settings: a baseline timed on this
    machine beside ours, since absolute times here are noisy. Returns predict() as a callable."""
    import inspect
    import tempfile

    import numpy as np
    import torch

    from pyparity.pipelines.img2pose import synthetic_weights

    sys.path.insert(0, str(upstream_dir))
    try:
        import skimage.transform  # noqa: F401
    except ImportError:  # upstream's utils import it for face alignment only, never on predict()
        import types

        stub = types.ModuleType("skimage")
        stub.transform = types.ModuleType("skimage.transform")
        sys.modules.update({"skimage": stub, "skimage.transform": stub.transform})
    import img2pose as upstream  # noqa: E402  (upstream's module)

    try:  # torchvision >= 0.13: keyword-only, no `pretrained` (STAGES.md's PATCH 1, the only one)
        inspect.signature(upstream.resnet_fpn_backbone).bind("resnet18", pretrained=True)
    except TypeError:
        orig = upstream.resnet_fpn_backbone
        upstream.resnet_fpn_backbone = lambda name, pretrained=True: orig(backbone_name=name, weights=None)
    img2poseModel = upstream.img2poseModel

    ref = upstream_dir / "pose_references"
    model = img2poseModel(cfg.depth, cfg.min_size, cfg.max_size, device=torch.device("cpu"),
                          pose_mean=np.array(cfg.pose_mean), pose_stddev=np.array(cfg.pose_stddev),
                          threed_68_points=np.load(ref / "reference_3d_68_points_trans.npy"),
                          threed_5_points=np.load(ref / "reference_3d_5_points_trans.npy"),
                          rpn_pre_nms_top_n_test=cfg.rpn_pre_nms_top_n_test,
                          rpn_post_nms_top_n_test=cfg.rpn_post_nms_top_n_test)
    sd = {"module." + k: torch.from_numpy(np.array(v)) for k, v in synthetic_weights(cfg.depth).items()}
    with tempfile.TemporaryDirectory() as d:
        torch.save({"fpn_model": sd}, Path(d) / "w.pth")
        model.load_saved_model(str(Path(d) / "w.pth"))
    model.evaluate()
    model.fpn_model.module.roi_heads.score_thresh = cfg.box_score_thresh
    t = torch.from_numpy(img).permute(2, 0, 1).to(torch.float32).div(255)  # ToTensor
    return lambda: model.predict([t])[0]["scores"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=0, help="BLAS/numba/torch threads; 0: each library's default")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    ap.add_argument("--image", type=Path, default=None)
    ap.add_argument("--backend", default="numpy,torch,onnx", help="comma-separated: numpy, torch, onnx")
    ap.add_argument("--config", default="dump,upstream", help="comma-separated: dump, upstream, upstream@0.05")
    ap.add_argument("--upstream", type=Path, default=None,
                    help="a checkout of upstream img2pose (needs torchvision importable): timed beside ours, "
                         "interleaved, and ratios printed against it")
    args = ap.parse_args()
    if args.threads > 0:
        for v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
            os.environ[v] = str(args.threads)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

    import numpy as np  # noqa: F401  (after the thread pinning)

    from pyparity.pipelines.img2pose import DUMP_SETTINGS, Img2Pose, Img2PoseConfig, load_reference_points
    from pyparity.pipelines.img2pose import synthetic_weights
    from pyparity.pipelines.img2pose.transform import load_image

    image = args.image or (args.shared / "openface/samples/image_sequence/001.jpg")
    img = load_image(image)
    p68, p5 = load_reference_points(args.shared / "img2pose")
    weights = synthetic_weights(18)
    configs = {
        "dump": Img2PoseConfig(**DUMP_SETTINGS),
        "upstream": Img2PoseConfig(min_size=600, max_size=1400, rpn_pre_nms_top_n_test=6000,
                                   rpn_post_nms_top_n_test=1000, box_score_thresh=0.2,
                                   pose_mean=DUMP_SETTINGS["pose_mean"], pose_stddev=DUMP_SETTINGS["pose_stddev"]),
    }
    configs["upstream@0.05"] = configs["upstream"].with_(box_score_thresh=0.05)
    threads = args.threads or f"default ({os.cpu_count()} cores)"
    print(f"image {image.name} {img.shape[1]}x{img.shape[0]}, threads {threads}, "
          f"median of {args.repeat} (rounds interleaved over the runners) after {args.warmup} warm-up; "
          f"load average {os.getloadavg()[0]:.1f}")
    tv_note = None
    for name in args.config.split(","):
        cfg = configs[name]
        runners = {}
        if args.upstream is not None:
            try:
                import torch

                if args.threads > 0:
                    torch.set_num_threads(args.threads)
                if tv_note is None:
                    from torchvision_cpu_ops import ensure_torchvision

                    tv_note = ensure_torchvision()
                    print(f"  upstream's torchvision ops: {tv_note}")
                runners["upstream"] = upstream_runner(args.upstream, cfg, img)
            except Exception as e:  # torchvision missing, wrong checkout: say so, go on
                print(f"  upstream: skipped ({type(e).__name__}: {e})")
        for backend in args.backend.split(","):
            try:
                m = Img2Pose(weights, cfg, p68, p5, backend=backend, threads=args.threads or None)
            except Exception as e:  # a backend whose package is missing: say so, go on
                print(f"  {backend}: skipped ({e})")
                continue
            runners[backend] = (lambda m=m: m.predict(img).scores)
        counts = {}
        for k, f in runners.items():
            for _ in range(args.warmup):
                counts[k] = len(f())
        ts = {k: [] for k in runners}
        for _ in range(args.repeat):
            for k, f in runners.items():
                t0 = time.perf_counter()
                f()
                ts[k].append(time.perf_counter() - t0)
        up = UPSTREAM_MS[name.split("@")[0]][0 if args.threads == 1 else 1]
        for k, v in ts.items():
            ms = 1000 * _median(v)
            line = (f"  {k:8s} {name:13s} {ms:8.1f} ms  ({counts[k]} detections)  STAGES.md upstream {up:.0f} ms  "
                    f"ratio {ms / up:.2f}x")
            if "upstream" in ts and k != "upstream":
                r = [a / b for a, b in zip(v, ts["upstream"])]
                q1, q2, q3 = _quartiles(r)
                line += (f"  | vs local upstream: ratio of medians {_median(v) / _median(ts['upstream']):.3f}x, "
                         f"per round {q2:.3f}x [quartiles {q1:.3f}..{q3:.3f}, range {min(r):.2f}..{max(r):.2f}]")
            print(line, flush=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


def _median(v) -> float:
    return _quartiles(v)[1]


def _quartiles(v) -> tuple[float, float, float]:
    """(25th, 50th, 75th) percentiles, linear interpolation (numpy's default)."""
    s = sorted(v)

    def q(f):
        i = f * (len(s) - 1)
        lo = int(i)
        return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (i - lo)

    return q(0.25), q(0.5), q(0.75)


if __name__ == "__main__":
    main()
