"""What the `pyparity reference openface` front-end calls: build, record, describe (no printing here)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from pyparity.errors import InputError
from pyparity.reference.openface.build import (
    INFO_FILE, Build, build, builds_root, missing_packages, read_build,
)
from pyparity.reference.openface.kit import kit_hash, load_insertions
from pyparity.reference.openface.record import RecordOptions, RecordResult, record


def build_reference(source: Path, build_dir: Path | None = None, jobs: int = 2, force: bool = False,
                    log: Callable[[str], None] = lambda s: None) -> Build:
    if not Path(source).is_dir():
        raise InputError(f"{source}: no such folder")
    return build(Path(source), build_dir, jobs=jobs, log=log, force=force)


def builds() -> list[Build]:
    """Every finished build in the cache, most recent first."""
    root = builds_root()
    found = [b for d in sorted(root.glob("*")) if (b := read_build(d)) is not None] if root.is_dir() else []
    return sorted(found, key=lambda b: (b.dir / INFO_FILE).stat().st_mtime, reverse=True)


def find_build(build_dir: Path | None = None) -> Build:
    if build_dir is not None:
        b = read_build(Path(build_dir))
        if b is None:
            raise InputError(f"{build_dir}: no finished build there (build one there first)", param="build_dir")
        return b
    found = builds()
    if not found:
        raise InputError("no instrumented OpenFace is built: run `pyparity reference openface build --source DIR`")
    return found[0]


def default_model_dir() -> Path:
    from pyparity.models.manager import openface_model_dir

    return openface_model_dir()


def record_reference(inputs: list[Path], out: Path, model: str = "main_clnf_general", model_dir: Path | None = None,
                     level: int = 1, cen_dir: Path | None = None, early_term: Path | None = None,
                     multi_view: bool = False, aus: bool = False, csv_dir: Path | None = None,
                     frames_dir: Path | None = None, build_dir: Path | None = None, record_on: bool = True, progress: Callable[[Path], None] = lambda p: None) -> RecordResult:
    from pyparity.reference.openface.record import classify

    for i in inputs:
        classify(Path(i))  # bad inputs are reported before anything runs
    b = find_build(build_dir)
    opts = RecordOptions(model=model, model_dir=Path(model_dir) if model_dir else default_model_dir(), level=level,
                         cen_dir=cen_dir, early_term=early_term, multi_view=multi_view, aus=aus, record=record_on,
                         csv_dir=csv_dir, frames_dir=frames_dir)
    return record([Path(i) for i in inputs], Path(out), b, opts, progress=progress)


def describe_builds() -> list[str]:
    lines = [f"kit: {len(load_insertions())} insertion points, hash {kit_hash()[:16]}",
             f"build cache: {builds_root()}"]
    missing = missing_packages()
    lines.append("build dependencies: " + ("all present" if not missing else "missing " + " ".join(missing)))
    found = builds()
    if not found:
        lines.append("no build yet: `pyparity reference openface build --source DIR`")
    current = kit_hash()
    for b in found:
        stale = "" if b.info.get("kit_hash") == current else " (built with an older kit)"
        lines.append(f"build {b.dir}: source {b.info.get('source')} ({b.info.get('source_hash', '')[:16]}), "
                     f"{b.info.get('built_at', '?')}, {b.info.get('build_seconds', '?')} s{stale}")
    return lines
