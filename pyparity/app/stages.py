"""The stage index: every stage name pattern the pipelines declare (`pyparity.trace.stage_index`),
loaded by importing the recording modules, with where each is computed here and in the reference."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from dataclasses import dataclass
from pathlib import Path

from pyparity.trace.stage_index import DECLARED, Stage, base_name

#: the packages whose modules record stages (a module declares its own)
PACKAGES = ("pyparity.pipelines",)


@dataclass(frozen=True)
class Where:
    """A declared stage with the file and line of its recording function (and the full patterns shown)."""

    stage: Stage
    path: str        # relative to the package's parent folder: pyparity/pipelines/mtcnn/pnet.py
    line: int | None
    globs: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return f"{self.path}:{self.line}" if self.line else self.path

    def to_dict(self) -> dict:
        return {"patterns": list(self.globs or self.stage.globs), "module": self.stage.module,
                "function": self.stage.function, "code": self.code, "reference": self.stage.reference,
                "about": self.stage.about}


def load() -> list[Stage]:
    """Every declaration, in module order (importing every recording module once)."""
    for package in PACKAGES:
        pkg = importlib.import_module(package)
        for m in pkgutil.walk_packages(pkg.__path__, package + "."):
            importlib.import_module(m.name)
    return [s for module in sorted(DECLARED) for s in DECLARED[module]]


def where(stage: Stage, glob: str | None = None) -> Where:
    """The file and line of ``stage``'s recording function; with ``glob``, its full patterns that overlap it."""
    mod = importlib.import_module(stage.module)
    root = Path(importlib.import_module("pyparity").__file__).resolve().parent.parent
    path = Path(mod.__file__).resolve()
    rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    fn = getattr(mod, stage.function.split(".")[0], None)
    for part in stage.function.split(".")[1:]:
        fn = getattr(fn, part, None)
    try:
        line = inspect.getsourcelines(fn)[1] if fn is not None else None
    except (OSError, TypeError):
        line = None
    return Where(stage, rel, line, stage.overlapping(glob) if glob else stage.globs)


class StageIndex:
    """Declarations looked up by concrete stage name, bucketed by the name's last component (a pattern
    whose last component is a glob is tried for every name)."""

    def __init__(self, stages: list[Stage] | None = None):
        self.stages = stages if stages is not None else load()
        self._by_leaf: dict[str, list[tuple[str, Stage]]] = {}
        self._wild: list[tuple[str, Stage]] = []
        for s in self.stages:
            for g in s.globs:
                leaf = g.rsplit("/", 1)[-1]
                target = self._wild if any(c in leaf for c in "*?[") else self._by_leaf.setdefault(leaf, [])
                target.append((g, s))

    def lookup(self, name: str) -> list[Stage]:
        """The declarations ``name`` matches (one, in a consistent index)."""
        from pyparity.trace.trace import glob_match

        name = base_name(name)
        found: list[Stage] = []
        for g, s in self._by_leaf.get(name.rsplit("/", 1)[-1], []) + self._wild:
            if s not in found and glob_match(name, g):
                found.append(s)
        return found


def lookup(name: str, stages: list[Stage] | None = None) -> list[Stage]:
    """The declarations a concrete stage name matches (one, in a consistent index)."""
    return StageIndex(stages).lookup(name)


def query(glob: str | None, stages: list[Stage] | None = None) -> list[Stage]:
    """The declarations some stage matching ``glob`` could come from (every one for None)."""
    stages = stages if stages is not None else load()
    return stages if glob is None else [s for s in stages if s.overlapping(glob)]
