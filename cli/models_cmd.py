"""`pyparity models ...`: fetch, verify, list and locate the licensed model files (pyparity.models.manager)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from cli.common import EXIT_DIVERGED, EXIT_OK, fail
from pyparity.errors import PyparityError

models_app = typer.Typer(
    help="OpenFace / img2pose model files: fetch (download or copy from a mirror), verify, list, path. "
         "They are never shipped with pyparity: their licences forbid redistribution.",
    no_args_is_help=True,
)


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _show_licence(lic) -> None:
    c = _console()
    c.print(f"[bold]{lic.title}[/bold]")
    c.print(lic.summary)
    c.print(f"Full licence: {lic.url}", soft_wrap=True)


def _prompt(lic) -> bool:
    """Ask on a terminal only; in scripts the answer must come from --accept-license."""
    _show_licence(lic)
    if not sys.stdin.isatty():
        return False
    return typer.confirm("Do you accept these terms?", default=False, err=True)


class _Bar:
    """One rich progress bar over all bytes fetched (files copied or downloaded one after another)."""

    def __init__(self, total: int) -> None:
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          TimeRemainingColumn(), console=_console(), transient=True)
        self.task = self.p.add_task("models", total=total)
        self.last: dict[str, int] = {}

    def __call__(self, f, done: int, size: int) -> None:
        prev = self.last.get(f.key, 0)
        if done < prev:          # a retry from another source restarts the file
            prev = 0
        self.last[f.key] = done
        self.p.update(self.task, advance=done - prev, description=f.name)


@models_app.command("fetch")
def fetch_cmd(
    from_dir: Optional[List[Path]] = typer.Option(None, "--from", help="Local mirror folder laid out like OpenFace's "
                                                  "model/ folder (the AU models are found beside it), an OpenFace "
                                                  "checkout, or its FaceAnalyser/AU_predictors folder; repeatable."),
    accept_license: bool = typer.Option(False, "--accept-license", help="Accept the files' licence terms "
                                        "(recorded once in the cache)."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Glob on group/name, name or upstream path, "
                                             "e.g. 'mtcnn_detector/*', 'synthetic_cen/*', 'img2pose/*'; repeatable."),
    all_groups: bool = typer.Option(False, "--all", help="Also the optional groups (synthetic_cen, img2pose)."),
    force: bool = typer.Option(False, "--force", help="Re-install files that are already present and verified."),
) -> None:
    """Copy from a mirror or download the model files into the cache, checking size and sha256 (all or nothing)."""
    from pyparity.models import install, manager

    try:
        m = manager.manifest()
        wanted = manager.select(only, all_groups=all_groups, m=m)
        # Licences first, before the progress bar takes the terminal.
        for lic in install.licences_to_accept(only, all_groups=all_groups, force=force):
            if accept_license:
                _show_licence(lic)
            elif not _prompt(lic):
                fail(install.not_accepted_message(lic))
            install.accept_licence(lic.id)
        bar = _Bar(sum(f.size for f in wanted))
        with bar.p:
            res = install.fetch(from_dir=from_dir or None, accept_license=False, names=only,
                                progress=bar, all_groups=all_groups, force=force)
        root = manager.cache_root()
    except PyparityError as exc:
        fail(str(exc))
    n_mirror = sum(1 for _, s in res.fetched if "://" not in s)
    typer.echo(f"{len(res.fetched)} file(s) installed ({n_mirror} from the mirror, "
               f"{len(res.fetched) - n_mirror} downloaded), {len(res.already)} already present and verified; "
               f"cache: {root}")
    raise typer.Exit(EXIT_OK)


@models_app.command("verify")
def verify_cmd(
    only: Optional[List[str]] = typer.Option(None, "--only", help="Glob(s) selecting the files to verify."),
    all_groups: bool = typer.Option(False, "--all", help="Also report optional groups' files that are not fetched."),
) -> None:
    """Hash every installed model file; exit 1 listing those missing or corrupt."""
    from pyparity.models import manager

    try:
        statuses = manager.verify(only, all_groups=all_groups)
    except PyparityError as exc:
        fail(str(exc))
    bad = [s for s in statuses if not s.ok]
    for s in bad:
        typer.echo(s.message)
    n_ok = sum(1 for s in statuses if s.status == "ok")
    if bad:
        typer.echo(f"{len(bad)} model file(s) missing or corrupt, {n_ok} ok: run `pyparity models fetch` "
                   "(it replaces them; add --from DIR to copy from a local mirror)", err=True)
        raise typer.Exit(EXIT_DIVERGED)
    typer.echo(f"{n_ok} model file(s) ok")
    raise typer.Exit(EXIT_OK)


@models_app.command("list")
def list_cmd() -> None:
    """Table of every model file the manifest knows: name, size, status."""
    from rich.console import Console
    from rich.table import Table

    from pyparity.models import manager

    try:
        statuses = manager.list_models()
        m = manager.manifest()
    except PyparityError as exc:
        fail(str(exc))
    t = Table()
    t.add_column("name", no_wrap=True)
    t.add_column("size", justify="right", no_wrap=True)
    t.add_column("status")
    t.add_column("licence", no_wrap=True)
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
    raise typer.Exit(EXIT_OK)


@models_app.command("path")
def path_cmd(name: Optional[str] = typer.Argument(None, help="A model file (e.g. mtcnn_detector/PNet.dat or "
                                                  "img2pose/pose_references/reference_3d_5_points_trans.npy); "
                                                  "none: the OpenFace model folder.")) -> None:
    """Print the verified path of the OpenFace model folder, or of one file."""
    from pyparity.models import manager

    try:
        p = manager.openface_model_dir() if name is None else manager.model_path(name)
    except PyparityError as exc:
        fail(str(exc))
    typer.echo(str(p))
    raise typer.Exit(EXIT_OK)


@models_app.command("synth")
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
    from pyparity.errors import PyparityError

    if family != "img2pose":
        raise PyparityError(f"models synth: unknown family {family!r} (known: img2pose)")
    if depth not in (18, 50):
        raise PyparityError(f"models synth img2pose: --depth must be 18 or 50, got {depth}")
    from pyparity.pipelines.img2pose.synth import synth_img2pose

    path = synth_img2pose(depth, out, check_against=check)
    _console().print(f"{path}: img2pose ResNet-{depth} synthetic weights (crc32-normal-v1)", markup=False, highlight=False)
