"""The in-memory trace type shared by our runs and by ingested reference dumps."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Mapping

import numpy as np

from pyparity.errors import TraceError


@dataclass(frozen=True)
class StageInfo:
    """One recorded array as the index describes it (loading the array is not needed to know this)."""

    seq: int
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n


def dtype_label(dtype: np.dtype) -> str:
    """The index's dtype column: NumPy's name for numbers (``float32``), the type string otherwise (``<U5``)."""
    dt = np.dtype(dtype)
    return dt.name if dt.kind in "biufc" else dt.str


def glob_match(name: str, pattern: str) -> bool:
    """Stage-name glob: ``*`` stays inside one path component, ``**`` crosses components."""
    return _compile_glob(pattern)(name)


def glob_escape(name: str) -> str:
    """A glob that matches exactly ``name`` (its ``*``, ``?`` and ``[`` taken literally)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


_GLOB_CACHE: dict[str, Callable[[str], bool]] = {}


def _compile_glob(pattern: str) -> Callable[[str], bool]:
    fn = _GLOB_CACHE.get(pattern)
    if fn is None:
        import re

        out = []
        i = 0
        while i < len(pattern):
            c = pattern[i]
            if pattern.startswith("**/", i):
                out.append("(?:.*/)?")
                i += 3
                continue
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                continue
            if c == "*":
                out.append("[^/]*")
            elif c == "?":
                out.append("[^/]")
            elif c == "[":
                j = pattern.find("]", i)
                if j < 0:
                    out.append(re.escape(c))
                else:
                    out.append(fnmatch.translate(pattern[i : j + 1])[4:-3])
                    i = j
            else:
                out.append(re.escape(c))
            i += 1
        rx = re.compile("".join(out) + r"\Z")
        fn = lambda s, _rx=rx: _rx.match(s) is not None  # noqa: E731
        _GLOB_CACHE[pattern] = fn
    return fn


IN_MEMORY = "<memory>"  # the source of a trace built in memory (never read from or saved to a path)


class Trace:
    """Ordered named arrays of one run, with metadata; arrays load on access.

    Parameters
    ----------
    stages : the index, in recording order.
    loader : returns the array of one stage name; called lazily, on access.
    meta : producer, input, models, parameters, conventions (the dump format's ``meta.json``).
    source : where the trace came from (a path), for messages.
    """

    def __init__(
        self,
        stages: Iterable[StageInfo],
        loader: Callable[[str], np.ndarray],
        meta: Mapping | None = None,
        source: str | None = None,
    ):
        self._stages = list(stages)
        self._by_name = {s.name: s for s in self._stages}
        if len(self._by_name) != len(self._stages):
            seen: set[str] = set()
            dup = next(s.name for s in self._stages if s.name in seen or seen.add(s.name))
            raise TraceError(f"{source or 'trace'}: stage {dup!r} occurs more than once")
        self._loader = loader
        self.meta = dict(meta or {})
        self.source = source

    # construction -----------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, object] | Iterable[tuple[str, object]], meta: Mapping | None = None,
        source: str | None = None,
    ) -> "Trace":
        """A trace held in memory, in the given order (copies nothing that is already an array)."""
        items = arrays.items() if isinstance(arrays, Mapping) else arrays
        data: dict[str, np.ndarray] = {}
        stages = []
        for seq, (name, value) in enumerate(items):
            a = np.asarray(value)
            data[name] = a
            stages.append(StageInfo(seq, name, dtype_label(a.dtype), tuple(a.shape)))
        return cls(stages, data.__getitem__, meta, source or IN_MEMORY)

    # access ------------------------------------------------------------------------------
    @property
    def stages(self) -> list[StageInfo]:
        return list(self._stages)

    @property
    def names(self) -> list[str]:
        return [s.name for s in self._stages]

    def info(self, name: str) -> StageInfo:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"{self.source or 'trace'} has no stage {name!r}") from None

    def __len__(self) -> int:
        return len(self._stages)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __getitem__(self, name: str) -> np.ndarray:
        info = self.info(name)
        arr = self._loader(name)
        if dtype_label(arr.dtype) != info.dtype or tuple(arr.shape) != info.shape:
            raise TraceError(
                f"{self.source}: stage {name!r} holds {dtype_label(arr.dtype)} {_fmt_shape(arr.shape)} "
                f"but the index says {info.dtype} {_fmt_shape(info.shape)}"
            )
        return arr

    def verify(self, name: str) -> None:
        """Read one stage and check it against the index and the archive's CRC (raises TraceError): for a
        stage that nothing is compared with, so that corruption is found wherever it is."""
        self[name]

    def get(self, name: str, default=None):
        return self[name] if name in self._by_name else default

    def select(self, patterns: Iterable[str]) -> "Trace":
        """The stages whose names match any of the globs, in the same order."""
        pats = list(patterns)
        keep = [s for s in self._stages if any(glob_match(s.name, p) for p in pats)]
        return Trace(keep, self._loader, self.meta, self.source)

    def with_prefix_removed(self, prefix: str) -> "Trace":
        """The stages under ``prefix/``, renamed without it (e.g. tracking dumps' ``face00/``)."""
        p = prefix.rstrip("/") + "/"
        keep = [StageInfo(s.seq, s.name[len(p):], s.dtype, s.shape) for s in self._stages if s.name.startswith(p)]
        return Trace(keep, lambda n: self._loader(p + n), self.meta, self.source)

    def validate(self) -> None:
        """Load every array and check it against the index (raises TraceError)."""
        for s in self._stages:
            try:
                self[s.name]
            except TraceError:
                raise
            except Exception as exc:  # a corrupt member surfaces as zlib/zipfile/ValueError
                raise TraceError(f"{self.source}: stage {s.name!r} cannot be read ({exc})") from None

    def __repr__(self) -> str:
        return f"Trace({self.source!r}, {len(self)} stages)"


def _fmt_shape(shape) -> str:
    return "(" + ",".join(str(d) for d in shape) + ")" if len(shape) else "()"
