"""`pyparity ingest openface-dump DIR --out TRACE`: validate a reference dump and store it as a trace."""

from __future__ import annotations

from pathlib import Path

import typer

ingest_app = typer.Typer(help="Turn what references produce into pyparity traces.", no_args_is_help=True)


@ingest_app.command("openface-dump")
def openface_dump(
    dump: Path = typer.Argument(..., help="A reference dump directory (meta.json, index.tsv, arrays.npz)."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace."),
    compress: bool = typer.Option(False, "--compress", help="Deflate arrays (smaller, not memory-mappable)."),
) -> None:
    """Validate every array of a reference dump against its index and write it as a trace.

    pyparity's trace format *is* the reference dump format, so `diff` reads dumps directly; ingesting
    checks a dump in depth (every array loads and matches the index) and stores it uncompressed so
    that later diffs memory-map it.
    """
    from pyparity.render.table import make_console
    from pyparity.trace import read_trace, write_trace

    t = read_trace(dump)
    t.validate()
    write_trace(t, out, compress=compress)
    make_console().print(f"{out}: {len(t)} stages from {dump}", markup=False, highlight=False)


@ingest_app.command("openface-csv")
def openface_csv(
    csv: Path = typer.Argument(..., help="A FaceLandmarkImg or FeatureExtraction CSV file."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace."),
    frame: int = typer.Option(None, "--frame", min=0, help="Sequence CSVs: only this frame (0-based), without the frameNNNN/ prefix."),
) -> None:
    """Read OpenFace's CSV output into faceNN/output/... stages (printed precision kept for `diff`)."""
    from pyparity.adapters.openface_csv import read_openface_csv
    from pyparity.render.table import make_console
    from pyparity.trace import write_trace

    t = read_openface_csv(csv, frame=frame)
    write_trace(t, out)
    make_console().print(f"{out}: {len(t)} stages from {csv}", markup=False, highlight=False)


@ingest_app.command("text")
def text_dump(
    folder: Path = typer.Argument(..., help="A folder of text dumps (matrices printed from a patched C++ build)."),
    map_file: Path = typer.Option(..., "--map", help="TOML map: [[stage]] name, file, block or label, dtype, shape."),
    out: Path = typer.Option(..., "--out", help="Where to write the trace."),
) -> None:
    """Read ad-hoc text dumps into a trace under the map's stage names (printed precision kept for `diff`)."""
    from pyparity.adapters.text_dump import read_text_dump
    from pyparity.render.table import make_console
    from pyparity.trace import write_trace

    t = read_text_dump(folder, map_file)
    write_trace(t, out)
    make_console().print(f"{out}: {len(t)} stages from {folder}", markup=False, highlight=False)
