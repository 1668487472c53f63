"""`pyparity run pof INPUT --model VARIANT (--weights FILE | --synthetic)`: POF 3D body pose.

INPUT: a pof reference dump (its clip inputs), a .npz (pose_2d (T,17,2), visibility (T,17)) or a CSV
(layouts in docs/pof.md). ``--fix NAME`` is the short form of one upstream-defect fix; with --diff and no
--policy the policy is ``pof``, or ``pof-fix-<name>`` when exactly one fix is applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pyparity.cli.options import report_options
from pyparity.cli.run_options import run_options
from pyparity.app.specs.pof import Aspect, Fallback, FixName, Start, Torso, Variant, ZSign


def register(run_app: typer.Typer) -> None:
    run_app.command("pof")(pof)


@report_options()
@run_options(start_help="input | model (the dump's model inputs) | solver (the dump's POF).", start_type=Start)
def pof(
    input: Path = typer.Argument(..., help="Reference dump folder, .npz (pose_2d, visibility) or .csv."),
    model: Variant = typer.Option(Variant.semgcn_temporal, "--model", help="The POF network."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Upstream .pth (needs torch) or .npz."),
    synthetic: bool = typer.Option(False, "--synthetic", help="crc32-normal-v1 synthetic weights."),
    height: Optional[float] = typer.Option(None, "--height", help="Subject height in m (default: the dump's, else 1.78)."),
    trc: Optional[Path] = typer.Option(None, "--trc", help="Write the 3D joints as TRC here."),
    fps: float = typer.Option(30.0, "--fps", help="Frame rate written to the TRC file."),
    fallback: Fallback = typer.Option("upstream", "--fallback", help="LS fallback scale: upstream or signed (fix)."),
    zsign: ZSign = typer.Option("upstream", "--zsign", help="Z-sign head: upstream, always (fix) or never."),
    aspect: Aspect = typer.Option("upstream", "--aspect", help="2D aspect: upstream or isotropic (fix)."),
    torso: Torso = typer.Option("upstream", "--torso", help="Metric torso: upstream (H/3.4) or bone_table (fix)."),
    fix: Optional[List[FixName]] = typer.Option(None, "--fix", help="Apply a named fix (repeatable)."),
    image_size: Optional[str] = typer.Option(None, "--image-size", help="WxH of the source image (for --aspect "
                                             "isotropic; default 1920x1080)."),
    strict_temporal: bool = typer.Option(False, "--strict-temporal", help="semgcn-temporal: fail on free-running "
                                         "drift through the feedback even when every step matches."),
    *, target, reports,
) -> None:
    """humanpose3d's camera POF: the network, the least-squares depth solver and the bone lengths.

    semgcn-temporal with --diff: free-running differences that only the prev_pof feedback carries, with every
    step matching when run from the reference's previous POF, are reported as expected drift (exit 0).
    """
    from pyparity.cli.output import run_command
    from pyparity.app.specs.pof import PofOptions, parse_image_size

    size = parse_image_size(image_size) if image_size is not None else (1920, 1080)
    options = PofOptions(model.value, weights, synthetic, height, trc, fps, fallback.value, zsign.value, aspect.value,
                         torso.value, tuple(f.value for f in fix or ()), size, strict_temporal)
    run_command("pof", input, options, target, reports)
