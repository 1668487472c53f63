"""`pyparity models fetch|verify`: install and check the licensed model files (pyparity.models.manager)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from pyparity.cli.common import EXIT_DIVERGED, EXIT_OK, fail, guarded


@guarded
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
    from pyparity.cli.models_ui import Bar, accepted, show_licence
    from pyparity.models import install, manager

    wanted = manager.select(only, all_groups=all_groups, m=manager.manifest())
    for lic in install.licences_to_accept(only, all_groups=all_groups, force=force):  # before the bar
        if accept_license:
            show_licence(lic)
        elif not accepted(lic):
            fail(install.not_accepted_message(lic))
        install.accept_licence(lic.id)
    bar = Bar(sum(f.size for f in wanted))
    with bar.p:
        res = install.fetch(from_dir=from_dir or None, accept_license=False, names=only, progress=bar,
                            all_groups=all_groups, force=force)
    n_mirror = sum(1 for _, s in res.fetched if "://" not in s)
    typer.echo(f"{len(res.fetched)} file(s) installed ({n_mirror} from the mirror, "
               f"{len(res.fetched) - n_mirror} downloaded), {len(res.already)} already present and verified; "
               f"cache: {manager.cache_root()}")
    raise typer.Exit(EXIT_OK)


@guarded
def verify_cmd(
    only: Optional[List[str]] = typer.Option(None, "--only", help="Glob(s) selecting the files to verify."),
    all_groups: bool = typer.Option(False, "--all", help="Also report optional groups' files that are not fetched."),
) -> None:
    """Hash every installed model file; exit 1 listing those missing or corrupt."""
    from pyparity.models import manager

    statuses = manager.verify(only, all_groups=all_groups)
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
