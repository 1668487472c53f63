"""`pyparity models fetch|verify|list|path|synth`: the licensed model files (pyparity.models.manager)."""

from __future__ import annotations

import typer

from pyparity.cli.models_fetch import fetch_cmd, verify_cmd
from pyparity.cli.models_info import list_cmd, path_cmd, synth_cmd

models_app = typer.Typer(
    help="OpenFace / img2pose model files: fetch (download or copy from a mirror), verify, list, path. "
         "They are never shipped with pyparity: their licences forbid redistribution.",
    no_args_is_help=True,
)
for name, command in (("fetch", fetch_cmd), ("verify", verify_cmd), ("list", list_cmd), ("path", path_cmd),
                      ("synth", synth_cmd)):
    models_app.command(name)(command)
