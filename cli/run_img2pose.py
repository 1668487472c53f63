"""`pyparity run img2pose IMAGE`: the img2pose port, recorded under the upstream dumps' names."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyparity.cli.options import report_options
from pyparity.cli.run_options import run_options
from pyparity.app.specs.img2pose import Backend, Start


def register(run_app: typer.Typer) -> None:
    run_app.command("img2pose")(run_img2pose)


@report_options()
@run_options(start_help="Stage whose inputs come from --from-reference.", start_type=Start)
def run_img2pose(
    image: Path = typer.Argument(..., help="Input image (read as 8-bit RGB, like PIL convert('RGB'))."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Checkpoint: .npz, or .pth/.pt (needs torch)."),
    synthetic: bool = typer.Option(False, "--synthetic", help="Use the crc32-normal-v1 synthetic weights."),
    config: Optional[Path] = typer.Option(None, "--config", help="Dump directory / meta.json / TOML with settings."),
    points: Optional[Path] = typer.Option(None, "--points", help="Folder with pose_references/*.npy (default: "
                                          "$PYPARITY_SHARED/img2pose)."),
    depth: Optional[int] = typer.Option(None, "--depth", help="ResNet depth, 18 or 50 (default: the config's, else 18)."),
    scipy_legacy: bool = typer.Option(False, "--scipy-legacy", help="Rotation vectors as SciPy <= 1.5 (no "
                                      "orthogonalisation of the global rotation matrix)."),
    backend: Backend = typer.Option(Backend.numpy, "--backend", help="Who runs the network."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="Network threads (numpy: each layer's "
                                          "chunks, default $PYPARITY_THREADS or the CPUs; torch/onnx: intra-op)."),
    margins: bool = typer.Option(False, "--margins", help="Print the decision margins (top-k cut, NMS IoU and "
                                 "score-threshold distances) so that a near-tie shows."),
    *, target, reports,
) -> None:
    """img2pose (upstream PyTorch): ResNet FPN, RPN, RoI heads, 6DoF head; NumPy, torch or onnxruntime."""
    from pyparity.cli.output import run_command
    from pyparity.app.specs.img2pose import Img2PoseOptions

    options = Img2PoseOptions(weights, synthetic, config, points, depth, scipy_legacy, backend.value, threads, margins)
    run_command("img2pose", image, options, target, reports)
