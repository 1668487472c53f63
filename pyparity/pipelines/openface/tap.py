"""A recorder wrapper that keeps a copy of a few stages while passing everything on.

The image pipeline needs the eye part models' fitted parameters for gaze (EstimateGaze reads the
hierarchical models' state); the CLNF API records them as stages (`parts/<name>/fit/params_*`), so the
pipeline taps them from the recording instead of reaching into the fit.
"""

from __future__ import annotations

import contextlib
from typing import Iterable, Iterator

import numpy as np

from pyparity.trace.trace import glob_match


class StageTap:
    """Recorder-compatible: `save`/`scope`/`update_meta`; `captured[name]` holds copies of the stages
    whose full name matches one of `patterns`. Always enabled (the tapped stages must be computed)."""

    enabled = True

    def __init__(self, inner, patterns: Iterable[str]):
        self.inner = inner
        self.patterns = list(patterns)
        self._stack: list[str] = []
        self.captured: dict[str, np.ndarray] = {}

    @property
    def prefix(self) -> str:
        parts = [p for p in self._stack if p]
        return "/".join(parts) + "/" if parts else ""

    def save(self, name: str, value) -> None:
        full = self.prefix + name
        if any(glob_match(full, p) for p in self.patterns):
            self.captured[full] = np.array(value, copy=True)
        if self.inner.enabled:
            self.inner.save(name, value)

    @contextlib.contextmanager
    def scope(self, prefix: str) -> Iterator["StageTap"]:
        self._stack.append(prefix.strip("/"))
        try:
            if self.inner.enabled:
                with self.inner.scope(prefix):
                    yield self
            else:
                yield self
        finally:
            self._stack.pop()

    def update_meta(self, **kw) -> None:
        self.inner.update_meta(**kw)


class SelectedStages:
    """Recorder-compatible filter: passes on only the stages whose full name (the inner recorder's
    prefix + name) matches one of `patterns` (e.g. a gate that keeps a pipeline's checkpoints)."""

    enabled = True

    def __init__(self, inner, patterns: Iterable[str]):
        self.inner = inner
        self.patterns = list(patterns)

    @property
    def prefix(self) -> str:
        return self.inner.prefix

    def save(self, name: str, value) -> None:
        if any(glob_match(self.inner.prefix + name, p) for p in self.patterns):
            self.inner.save(name, value)

    def scope(self, prefix: str):
        return self.inner.scope(prefix)

    def update_meta(self, **kw) -> None:
        self.inner.update_meta(**kw)
