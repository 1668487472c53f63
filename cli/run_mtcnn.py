"""`pyparity run mtcnn IMAGE [--out TRACE] [--diff DUMP] [--policy FILE] [--json OUT]
[--from-reference DUMP --start STAGE] [--min-face-size N]`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def register(run_app: typer.Typer) -> None:
    @run_app.command("mtcnn")
    def mtcnn(
        image: Path = typer.Argument(..., help="image file (read as OpenFace does: 8-bit BGR)"),
        out: Optional[Path] = typer.Option(None, "--out", help="write the trace here"),
        diff: Optional[Path] = typer.Option(None, "--diff", help="reference dump to diff against"),
        policy: Optional[str] = typer.Option(None, "--policy", help="policy TOML (default: the committed mtcnn policy)"),
        json_out: Optional[Path] = typer.Option(None, "--json", help="write the diff report as JSON"),
        from_reference: Optional[Path] = typer.Option(None, "--from-reference", help="reference dump to take early stages from"),
        start: Optional[str] = typer.Option(None, "--start", help="stage to start at: mtcnn/pnet/merged, "
                                            "mtcnn/rnet/input_boxes or mtcnn/onet/input_boxes"),
        min_face_size: int = typer.Option(60, "--min-face-size", min=1, help="smallest face in pixels"),
        model_dir: Optional[Path] = typer.Option(None, "--model-dir", help="OpenFace model folder (default: the model manager's)"),
    ) -> None:
        from cli.common import checked_model_dir, finish_run, run_guarded, start_from_reference
        from pyparity.imageio import read_image_bgr
        from pyparity.pipelines.mtcnn import detect
        from pyparity.trace import Recorder

        def body() -> int:
            start_from = start_from_reference(from_reference, start)
            img = read_image_bgr(image)
            rec = Recorder(out) if out is not None else Recorder()
            detect(img, min_face_size=min_face_size, model_dir=checked_model_dir(model_dir), rec=rec,
                   start_from=start_from)
            trace = rec.finish()
            return finish_run(trace, out=out, diff_against=diff, policy=policy if policy is not None else "mtcnn",
                              json_out=json_out)

        raise typer.Exit(run_guarded(body))
