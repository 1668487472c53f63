"""Goldens: blessed traces (or a selected set of their stages) kept under ``goldens/<name>/``.

A golden is a trace directory in the reference dump format whose ``meta.json`` carries the producer
of the run it came from plus a ``golden`` block (format version, name, stage globs, the run's own score against the
reference, when it was blessed). Writes go through `write_trace` (hidden temporary directory renamed
into place), so an interrupted save never leaves something that reads as a golden; a lock
(``.<name>.golden.lock``, flock, gone with its process) makes a second writer of the same golden fail at
once instead of racing.
"""

from __future__ import annotations

import json
import os
import re
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from pyparity.errors import InputError, TraceError

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+-]*(/[A-Za-z0-9_][A-Za-z0-9_.+-]*)*$")


def producer_version() -> str:
    import pyparity

    return pyparity.__version__


def producer_meta(pipeline: str) -> dict:
    """What a gate run records as the producer of its traces (and hence of goldens blessed from them)."""
    return {"name": "pyparity", "version": producer_version(), "pipeline": pipeline}


def golden_dir(root: str | os.PathLike, name: str) -> Path:
    if not _NAME.match(name or "") or ".." in name.split("/"):
        raise InputError(f"golden name {name!r}: use letters, digits, . _ + - and / between parts")
    return Path(root) / name


@dataclass
class GoldenChange:
    """What saving a golden did: ``action`` is created / updated / unchanged / refused."""

    name: str
    path: Path
    action: str
    changed: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    message: str = ""

    def describe(self) -> str:
        if self.action == "created":
            return f"golden {self.name}: created ({self.message})"
        if self.action == "unchanged":
            return f"golden {self.name}: unchanged"
        if self.action == "refused":
            return f"golden {self.name}: NOT updated: {self.message}"
        parts = []
        for label, xs in (("changed", self.changed), ("added", self.added), ("removed", self.removed)):
            if xs:
                parts.append(f"{len(xs)} {label} ({', '.join(xs[:5])}{', ...' if len(xs) > 5 else ''})")
        return f"golden {self.name}: updated: " + "; ".join(parts)


def ref_score(report) -> dict | None:
    """A run's own standing against the reference: fewer failing stages is better."""
    if report is None:
        return None
    return {"failing": len(report.failing), "first_divergence": report.first_divergence}


def is_worse(new: dict | None, old: dict | None) -> bool:
    if not new or not old:
        return False
    return int(new.get("failing", 0)) > int(old.get("failing", 0))


def read_golden_meta(path: Path) -> dict:
    """The golden block of a golden's meta.json (cheap: reads no arrays); TraceError if not a golden."""
    meta_p = path / "meta.json"
    if not path.is_dir():
        raise TraceError(f"{path}: golden does not exist")
    for f in ("meta.json", "index.tsv", "arrays.npz"):
        if not (path / f).is_file():
            raise TraceError(f"{path}: not a complete golden (missing {f})")
    try:
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TraceError(f"{meta_p}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("golden"), dict):
        raise TraceError(f"{path}: a trace but not a golden (no 'golden' block in meta.json)")
    return meta


GOLDEN_FORMAT = 1  # the layout of a golden (a reference-dump-format trace plus meta.json's golden block)


def check_format(path: Path, meta: dict) -> None:
    """A golden is checked by its format version, never by who produced it or with which pyparity
    version: a golden blessed from a user's port, or by an older pyparity, stays valid until its values
    change. Only a format this pyparity cannot read is refused. (Goldens written before the block had a
    ``format`` key are format 1.)"""
    fmt = (meta.get("golden") or {}).get("format", 1)
    if not isinstance(fmt, int) or isinstance(fmt, bool) or fmt < 1:
        raise TraceError(f"{path}: golden format {fmt!r} is not a format version (expected an integer >= 1)")
    if fmt > GOLDEN_FORMAT:
        raise TraceError(f"{path}: golden format {fmt} is newer than this pyparity reads ({GOLDEN_FORMAT}); "
                         "upgrade pyparity")


def load_golden(root: str | os.PathLike, name: str, check: bool = True):
    """Open golden ``name`` (a lazy `Trace`); raises TraceError naming the file when unusable (``check``:
    also when its format is one this pyparity cannot read)."""
    from pyparity.trace import read_trace

    path = golden_dir(root, name)
    meta = read_golden_meta(path)
    if check:
        check_format(path, meta)
    return read_trace(path)


def list_goldens(root: str | os.PathLike) -> list[tuple[str, Path]]:
    """Every golden under ``root`` (hidden temporary / partial directories are skipped)."""
    root = Path(root)
    out = []
    if not root.is_dir():
        return out
    for meta in sorted(root.rglob("meta.json")):
        d = meta.parent
        rel = d.relative_to(root)
        if any(p.startswith(".") for p in rel.parts):
            continue
        out.append((rel.as_posix(), d))
    return out


def describe_goldens(root: str | os.PathLike) -> list[str]:
    """One line per golden: name, stages, producer, when it was blessed (a damaged one says so)."""
    items = list_goldens(root)
    if not items:
        return [f"no goldens under {root}"]
    lines = []
    for name, path in items:
        try:
            meta = read_golden_meta(path)
            prod = meta.get("producer", {})
            with (path / "index.tsv").open(encoding="utf-8") as f:
                n = sum(1 for _ in f) - 1
            lines.append(f"{name}\t{n} stages\t{prod.get('name', '?')} {prod.get('version', '?')} "
                         f"{prod.get('pipeline', '')}\t{meta['golden'].get('blessed_at', '')}")
        except Exception as exc:  # a damaged entry is listed, not fatal
            lines.append(f"{name}\tUNUSABLE: {exc}")
    return lines


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    """The golden's own lock (``.<name>.golden.lock``, flock: released when its process dies) held
    from reading the old golden to writing the new one."""
    from pyparity.atomic import LockHeld, WriterLock, output_error

    lock = WriterLock(path, "golden", kind="golden")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc, "golden") from None
    try:
        lock.acquire()
    except LockHeld as exc:
        raise TraceError(str(exc)) from None
    try:
        yield
    finally:
        lock.release()


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


def save_golden(
    trace, name: str, root: str | os.PathLike, stages: Iterable[str] | None = None, *, update: bool = False,
    force: bool = False, score: dict | None = None, source: str | None = None,
) -> GoldenChange:
    """Bless ``trace`` (only the stages matching ``stages`` globs, if given) as golden ``name``.

    An existing golden is replaced only with ``update``; an update whose run scores worse against the
    reference than the golden's own run did (``score``, see `ref_score`) is refused unless ``force``.
    Returns what changed.
    """
    from pyparity.trace import Trace, write_trace

    path = golden_dir(root, name)
    globs = list(stages or [])
    sel = trace.select(globs) if globs else trace
    if not len(sel):
        raise InputError(f"golden {name}: no stage of {trace.source} matches {', '.join(globs) or '*'}")
    with _lock(path):
        old = None
        old_meta: dict = {}
        if path.exists():
            if not update:
                raise InputError(f"{path}: golden exists; replace it with an update", param="update")
            try:
                old_meta = read_golden_meta(path)
                from pyparity.trace import read_trace

                old = read_trace(path)
            except TraceError:
                old = None  # a damaged golden is replaced, not compared
        old_score = (old_meta.get("golden") or {}).get("ref_score")
        if old is not None and is_worse(score, old_score) and not force:
            return GoldenChange(name, path, "refused", message=(
                f"this run fails {score['failing']} stage(s) against the reference, the golden's run failed "
                f"{old_score.get('failing')}; force the update to bless it anyway"))
        change = GoldenChange(name, path, "created" if old is None else "updated")
        if old is not None:
            old_names = set(old.names)
            new_names = set(sel.names)
            change.added = [n for n in sel.names if n not in old_names]
            change.removed = [n for n in old.names if n not in new_names]
            change.changed = [n for n in sel.names if n in old_names and not _same(old[n], sel[n])]
            if not (change.added or change.removed or change.changed) and old_meta.get("producer") == trace.meta.get("producer"):
                change.action = "unchanged"
                return change
        meta = dict(trace.meta)
        meta.setdefault("producer", producer_meta("?"))
        if isinstance(meta.get("input"), dict):  # no machine-specific paths in committed goldens
            meta["input"] = {k: v for k, v in meta["input"].items() if k != "path"}
        meta["golden"] = {
            "format": GOLDEN_FORMAT,
            "name": name,
            "stages": globs,
            "source": Path(source or str(trace.source)).name,
            "ref_score": score,
            "blessed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        # materialise the selection so write_trace sees plain arrays in the trace's order
        arrays = [(n, np.asarray(sel[n])) for n in sel.names]
        write_trace(Trace.from_arrays(arrays, meta=meta), path, meta=meta)
        if change.action == "created":
            change.message = f"{len(arrays)} stages"
        return change
