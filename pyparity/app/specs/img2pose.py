"""img2pose (upstream PyTorch, `pyparity.pipelines.img2pose`) as a pipeline: the network on NumPy,
torch or onnxruntime, pre- and post-processing shared."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pyparity.app.spec import PipelineSpec, RunContext
from pyparity.errors import InputError

START_POINTS = ("input", "backbone", "rpn", "roi", "postprocess")
Start = Enum("Img2PoseStart", {s: s for s in START_POINTS}, type=str)


class Backend(str, Enum):
    """Who runs the network (backbone, RPN head, RoI heads)."""

    numpy = "numpy"
    torch = "torch"
    onnx = "onnx"


@dataclass(frozen=True)
class Img2PoseOptions:
    """weights: a checkpoint (.npz, or .pth/.pt with torch) or ``synthetic`` (crc32-normal-v1); config: a
    dump folder, its meta.json or a TOML of settings; points: the folder of upstream's
    ``pose_references/*.npy`` (default: ``$PYPARITY_SHARED/img2pose``); depth: the ResNet depth (default:
    the config's, else 18); scipy_legacy: rotation vectors as SciPy <= 1.5; threads: intra-op threads of
    torch / onnxruntime; margins: also report the decision margins."""

    weights: Path | None = None
    synthetic: bool = False
    config: Path | None = None
    points: Path | None = None
    depth: int | None = None
    scipy_legacy: bool = False
    backend: str = "numpy"
    threads: int | None = None
    margins: bool = False


def default_points_dir() -> Path:
    """``$PYPARITY_SHARED/img2pose`` (the CLI's --points overrides it); never guessed from the install."""
    from pyparity.shared import shared_dir

    return shared_dir(option="--points DIR") / "img2pose"


def run(ctx: RunContext):
    from pyparity.pipelines.img2pose import Img2Pose, Img2PoseConfig
    from pyparity.pipelines.img2pose.detect import check_reference, load_reference_points
    from pyparity.pipelines.img2pose.synth import synthetic_weights
    from pyparity.pipelines.img2pose.transform import load_image
    from pyparity.pipelines.img2pose.weights import RESNETS, load_weights

    o = ctx.options
    if o.synthetic == (o.weights is not None):
        raise InputError("give exactly one of a weights file and synthetic weights", param="weights")
    if o.depth is not None and o.depth not in RESNETS:
        raise InputError(f"expected one of {', '.join(map(str, RESNETS))}", param="depth", value=o.depth)
    image = load_image(ctx.input)  # a bad image (or reference) is refused before weights are made or read
    if ctx.start is not None and ctx.start.stage != "input":
        check_reference(ctx.start.reference, ctx.start.stage)
    cfg = Img2PoseConfig.from_file(o.config) if o.config is not None else Img2PoseConfig()
    if o.depth is not None:
        cfg = cfg.with_(depth=o.depth)
    p68, p5 = load_reference_points(o.points or default_points_dir())
    if o.synthetic:
        # a dump as config: its meta.json's weights_sha256 (and overrides) are checked first
        is_dump = o.config is not None and (Path(o.config).is_dir() or Path(o.config).suffix == ".json")
        params = synthetic_weights(cfg.depth, o.config if is_dump else None)
    else:
        params, d = load_weights(o.weights, o.depth)
        cfg = cfg.with_(depth=d)
    backend = str(getattr(o.backend, "value", o.backend))
    model = Img2Pose(params, cfg, p68, p5, orthogonalize=not o.scipy_legacy, backend=backend, threads=o.threads)
    ref = ctx.reference
    probe = ref["probe/roi_align/boxes"] if ref is not None and "probe/roi_align/boxes" in ref else None
    level = int(ref.meta.get("producer", {}).get("dump_level", 2)) if ref is not None else 2
    ctx.models = cfg
    ctx.rec.update_meta(input={"height": int(image.shape[0]), "width": int(image.shape[1])},
                        parameters={k: v for k, v in cfg.__dict__.items() if k != "extra"})
    return model.predict(image, rec=ctx.rec, probe_boxes=probe, start=ctx.start, dump_level=level)


def describe(detections, trace, ctx: RunContext) -> list[str]:
    """With ``margins`` (and a run from the input): the decision margins, so that a near-tie shows."""
    if not ctx.options.margins or (ctx.start is not None and ctx.start.stage != "input"):
        return []
    from pyparity.pipelines.img2pose.margins import decision_margins, format_margins

    return format_margins(decision_margins(trace, ctx.models)).splitlines()


IMG2POSE = PipelineSpec(
    name="img2pose", about="img2pose (upstream PyTorch): ResNet FPN, RPN, RoI heads and the 6DoF head",
    policy="img2pose", run=run, options=Img2PoseOptions, start_points=START_POINTS, describe=describe,
    producer=lambda o: {"backend": str(getattr(o.backend, "value", o.backend))}, key_outputs=("output/boxes",),
)


def write_synthetic_weights(family: str, depth: int, out, check=None) -> Path:
    """``models synth``: img2pose's synthetic weights (crc32-normal-v1) written to ``out``."""
    from pyparity.errors import PyparityError
    from pyparity.pipelines.img2pose.synth import synth_img2pose

    if family != "img2pose":
        raise PyparityError(f"models synth: unknown family {family!r} (known: img2pose)")
    if depth not in (18, 50):
        raise PyparityError("must be 18 or 50", param="depth", value=depth)
    return synth_img2pose(depth, out, check_against=check)
