"""`pyparity models list|path|synth`: what the model manifest knows, where a file is, synthetic weights."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pyparity.cli.common import guarded


@guarded
def list_cmd() -> None:
    """Table of every model file the manifest knows: name, size, status."""
    from rich.console import Console
    from rich.table import Table

    from pyparity.models import manager

    statuses, m = manager.list_models(), manager.manifest()
    t = Table()
    for col, kw in (("name", {"no_wrap": True}), ("size", {"justify": "right", "no_wrap": True}), ("status", {}),
                    ("licence", {"no_wrap": True})):
        t.add_column(col, **kw)
    style = {"ok": "green", "not fetched": "dim"}
    for s in statuses:
        st = s.status + (f" ({s.detail})" if s.detail else "")
        t.add_row(s.file.key, f"{s.file.size:,}", f"[{style.get(s.status, 'red')}]{st}[/]",
                  m.groups[s.file.group].licence)
    for u in m.unpinned:
        t.add_row(u.key, "?", "[yellow]unpinned: not fetchable[/]", m.groups[u.group].licence)
    c = Console(highlight=False)
    if not c.is_terminal:
        c = Console(highlight=False, no_color=True, width=max(c.width, 160))
    c.print(t)


@guarded
def path_cmd(name: Optional[str] = typer.Argument(None, help="A model file (e.g. mtcnn_detector/PNet.dat or "
                                                  "img2pose/pose_references/reference_3d_5_points_trans.npy); "
                                                  "none: the OpenFace model folder.")) -> None:
    """Print the verified path of the OpenFace model folder, or of one file."""
    from pyparity.models import manager

    typer.echo(str(manager.openface_model_dir() if name is None else manager.model_path(name)))


def synth_cmd(
    family: str = typer.Argument(..., help="Which model's synthetic weights: img2pose."),
    out: Path = typer.Option(..., "--out", help="Where to write the weights (.npz)."),
    depth: int = typer.Option(18, "--depth", help="img2pose: ResNet depth (18 or 50)."),
    check: Optional[Path] = typer.Option(None, "--check", help="A reference dump whose meta.json weights_sha256 "
                                         "the weights must reproduce."),
) -> None:
    """Write synthetic weights made with the `crc32-normal-v1` recipe (../shared/docs/synthetic-weights.md).

    POF's synthetic weights are made on the fly by `pyparity run pof --synthetic`.
    """
    from pyparity.cli.models_ui import console
    from pyparity.app.specs.img2pose import write_synthetic_weights

    path = write_synthetic_weights(family, depth, out, check)
    console().print(f"{path}: img2pose ResNet-{depth} synthetic weights (crc32-normal-v1)", markup=False, highlight=False)
