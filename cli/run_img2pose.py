"""`pyparity run img2pose IMAGE [--backend numpy|torch|onnx]`: the img2pose port, recorded under the upstream dumps' names."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(run_app: typer.Typer) -> None:
    run_app.command("img2pose")(run_img2pose)


def run_img2pose(
    image: Path = typer.Argument(..., help="input image (read as 8-bit RGB, like PIL convert('RGB'))"),
    weights: Optional[Path] = typer.Option(None, "--weights", help="checkpoint: .npz, or .pth/.pt (needs torch)"),
    synthetic: bool = typer.Option(False, "--synthetic", help="use the crc32-normal-v1 synthetic weights"),
    config: Optional[Path] = typer.Option(None, "--config", help="dump directory / meta.json / TOML with settings"),
    points: Optional[Path] = typer.Option(None, "--points", help="folder with pose_references/*.npy "
                                          "(default: ../shared/img2pose next to the repo)"),
    depth: Optional[int] = typer.Option(None, "--depth", help="ResNet depth (default: config's, else 18)"),
    scipy_legacy: bool = typer.Option(False, "--scipy-legacy", help="rotation vectors as SciPy <= 1.5 (no "
                                      "orthogonalisation of the global rotation matrix)"),
    out: Optional[Path] = typer.Option(None, "--out", help="write the trace here"),
    diff: Optional[Path] = typer.Option(None, "--diff", help="compare with this reference dump"),
    policy: Optional[str] = typer.Option(None, "--policy", help="tolerance policy file or built-in name"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the diff report as JSON"),
    from_reference: Optional[Path] = typer.Option(None, "--from-reference", help="take --start's inputs from this dump"),
    start: str = typer.Option("input", "--start", help="input | backbone | rpn | roi | postprocess"),
    backend: str = typer.Option("numpy", "--backend", help="network backend: numpy | torch | onnx"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1,
                                          help="network threads (numpy: each layer's chunks; torch/onnx: intra-op)"),
    margins: bool = typer.Option(False, "--margins", help="print the decision margins (top-k cut, NMS IoU and "
                                 "score-threshold distances) so that a near-tie shows"),
) -> None:
    from cli.common import run_guarded

    code = run_guarded(_run, image, weights, synthetic, config, points, depth, scipy_legacy, out, diff, policy,
                       json_out, from_reference, start, backend, threads, margins)
    raise typer.Exit(code)


def _run(image, weights, synthetic, config, points, depth, scipy_legacy, out, diff, policy, json_out,
         from_reference, start, backend="numpy", threads=None, margins=False) -> int:
    from cli.common import finish_run
    from pyparity.errors import InputError
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig
    from pyparity.pipelines.img2pose.synth import synthetic_weights
    from pyparity.pipelines.img2pose.detect import check_reference, load_reference_points
    from pyparity.pipelines.img2pose.transform import load_image
    from pyparity.pipelines.img2pose.weights import load_weights
    from pyparity.trace import Recorder, read_trace

    from pyparity.pipelines.img2pose.weights import RESNETS

    if synthetic == (weights is not None):
        raise InputError("give exactly one of --weights FILE and --synthetic")
    if depth is not None and depth not in RESNETS:
        raise InputError(f"--depth {depth}: expected one of {', '.join(map(str, RESNETS))}")
    img = load_image(image)  # a bad image (or reference) is refused before weights are made or read
    src = read_trace(from_reference) if from_reference is not None else None
    if src is not None and start != "input":
        check_reference(src, start)
    cfg = Img2PoseConfig.from_file(config) if config is not None else Img2PoseConfig()
    if depth is not None:
        cfg = cfg.with_(depth=depth)
    import os

    shared = Path(os.environ.get("PYPARITY_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    pts_dir = points or (shared / "img2pose")
    p68, p5 = load_reference_points(pts_dir)
    if synthetic:
        # a dump as config: its meta.json's weights_sha256 (and overrides) are checked first
        is_dump = config is not None and (Path(config).is_dir() or Path(config).suffix == ".json")
        params = synthetic_weights(cfg.depth, config if is_dump else None)
    else:
        params, d = load_weights(weights, depth)
        cfg = cfg.with_(depth=d)
    model = Img2Pose(params, cfg, p68, p5, orthogonalize=not scipy_legacy, backend=backend, threads=threads)
    ref = read_trace(diff) if diff is not None else None
    probe = ref["probe/roi_align/boxes"] if ref is not None and "probe/roi_align/boxes" in ref else None
    level = int(ref.meta.get("producer", {}).get("dump_level", 2)) if ref is not None else 2
    meta = {
        "producer": {"name": "pyparity-img2pose", "version": backend, "backend": backend},
        "input": {"file": Path(image).name, "height": int(img.shape[0]), "width": int(img.shape[1])},
        "parameters": {k: v for k, v in cfg.__dict__.items() if k != "extra"},
    }
    rec = Recorder(out, meta=meta) if out is not None else Recorder(meta=meta)
    with rec:
        model.predict(img, rec=rec, probe_boxes=probe, reference=src, start=start, dump_level=level)
    trace = rec.finish()
    if margins and start == "input":
        from pyparity.pipelines.img2pose.margins import decision_margins, format_margins

        print(format_margins(decision_margins(trace, cfg)))
    return finish_run(trace, out=out, diff_against=diff, policy=policy or "img2pose", json_out=json_out)  # pyparity/policies/img2pose.toml
