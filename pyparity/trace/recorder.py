"""The Recorder that pipeline code calls to record its stages by name.

Pipeline functions take ``rec: StageRecorder = NULL_RECORDER`` (anything with the `StageRecorder` methods:
a `Recorder`, `NULL_RECORDER`, `SelectedStages`, a probe's capture). When recording is off the calls are
no-ops on a shared object (no copies, no allocation); code that would compute something *only*
to record it checks ``rec.enabled`` first.
"""

from __future__ import annotations

import contextlib
import os
from typing import ContextManager, Iterable, Iterator, Mapping, Protocol

import numpy as np

from pyparity.errors import TraceError
from pyparity.trace.dumpio import TraceWriter
from pyparity.trace.trace import Trace, glob_match


class StageRecorder(Protocol):
    """What pipeline code records through: named arrays under nested scopes."""

    enabled: bool

    @property
    def prefix(self) -> str: ...

    def save(self, name: str, value) -> None: ...

    def scope(self, prefix: str) -> ContextManager: ...

    def update_meta(self, **kw) -> None: ...


class NullRecorder:
    """Recording off: every call returns at once."""

    enabled = False
    prefix = ""

    def save(self, name: str, value) -> None:  # noqa: D401 - same signature as Recorder.save
        return None

    def scope(self, prefix: str):
        return _NULL_SCOPE

    def update_meta(self, **kw) -> None:
        return None


_NULL_SCOPE = contextlib.nullcontext()
NULL_RECORDER = NullRecorder()


class Recorder:
    """Records named arrays in call order, to memory or straight to a trace directory.

    Parameters
    ----------
    path : if given, each array is written to disk as it is saved and the trace appears at ``path``
        atomically on `finish`; otherwise arrays are kept (copied) in memory.
    meta : the trace's metadata (producer, input, models, parameters, conventions).
    select : optional globs; only matching stage names are recorded.

    A name saved twice gets ``__1``, ``__2``, ... appended, as in the reference dumps. Use as a context
    manager: leaving with an exception discards everything written.
    """

    enabled = True

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        meta: Mapping | None = None,
        select: Iterable[str] | None = None,
        compress: bool = False,
    ):
        self.meta: dict = dict(meta or {})
        self._select = list(select) if select else None
        self._prefixes: list[str] = []
        self.prefix = ""
        self._counts: dict[str, int] = {}
        self._writer = TraceWriter(path, compress=compress) if path is not None else None
        self._memory: dict[str, np.ndarray] | None = None if path is not None else {}
        self._trace: Trace | None = None

    # recording ---------------------------------------------------------------------------
    def save(self, name: str, value) -> None:
        full = self.prefix + name
        if self._select is not None and not any(glob_match(full, p) for p in self._select):
            return
        n = self._counts.get(full, 0)
        self._counts[full] = n + 1
        key = full if n == 0 else f"{full}__{n}"
        arr = np.asanyarray(value)
        if arr.dtype.hasobject:
            raise TraceError(f"stage {key!r}: object arrays cannot be recorded")
        if self._trace is not None:
            raise TraceError(f"stage {key!r}: recorder already finished")
        if self._writer is not None:
            self._writer.write(key, arr)
        else:
            self._memory[key] = np.array(arr, copy=True)  # the pipeline may mutate it later

    @contextlib.contextmanager
    def scope(self, prefix: str) -> Iterator["Recorder"]:
        self._prefixes.append(prefix.strip("/"))
        self.prefix = "/".join(p for p in self._prefixes if p) + "/" if any(self._prefixes) else ""
        try:
            yield self
        finally:
            self._prefixes.pop()
            self.prefix = "/".join(p for p in self._prefixes if p) + "/" if any(self._prefixes) else ""

    def update_meta(self, **kw) -> None:
        """Merge keys into the metadata (dicts are merged one level deep)."""
        for k, v in kw.items():
            if isinstance(v, Mapping) and isinstance(self.meta.get(k), Mapping):
                self.meta[k] = {**self.meta[k], **v}
            else:
                self.meta[k] = v

    # ending ------------------------------------------------------------------------------
    def finish(self) -> Trace:
        """The recorded trace; for a disk recorder, commits it atomically first."""
        if self._trace is None:
            if self._writer is not None:
                from pyparity.trace.dumpio import read_trace

                self._writer.meta = {**self.meta}
                path = self._writer.commit()
                self._trace = read_trace(path)
            else:
                self._trace = Trace.from_arrays(self._memory, meta=self.meta)
        return self._trace

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
        self._memory = {}

    @property
    def names(self) -> list[str]:
        if self._memory is not None:
            return list(self._memory)
        return [s.name for s in self._writer._rows]

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish()
        else:
            self.abort()


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
