"""Reading and writing traces in the reference dump format (``meta.json`` + ``index.tsv`` + ``arrays.npz``).

The same format serves as pyparity's own trace format. Writing is incremental (each array goes into
the zip as it is recorded) and atomic: everything is written into a hidden sibling directory that is
renamed into place only when the index and metadata are complete, so an interrupted run never leaves
something that reads as a complete trace.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from pyparity.errors import TraceError
from pyparity.trace.trace import StageInfo, Trace, dtype_label

FORMAT_NAME = "reference-dump"
FORMAT_VERSION = 1
INDEX_HEADER = ["seq", "name", "dtype", "shape"]


# reading ---------------------------------------------------------------------------------

def read_trace(path: str | os.PathLike) -> Trace:
    """Open a trace / reference dump directory lazily (the index is read, arrays are not).

    Raises `TraceError` with one line naming the file and the problem when the directory is not a
    trace, the index is malformed, or the index and the archive disagree.
    """
    root = Path(path)
    if not root.exists():
        raise TraceError(f"{root}: no such file or directory")
    if not root.is_dir():
        raise TraceError(f"{root}: not a trace (expected a directory with meta.json, index.tsv, arrays.npz)")
    missing = [f for f in ("meta.json", "index.tsv", "arrays.npz") if not (root / f).is_file()]
    if missing:
        raise TraceError(f"{root}: not a trace (missing {', '.join(missing)})")
    meta = _read_meta(root / "meta.json")
    stages = _read_index(root / "index.tsv")
    source = str(root)
    archive = _LazyNpz(root / "arrays.npz")
    members = archive.names()
    in_index = {s.name for s in stages}
    absent = [s.name for s in stages if s.name not in members]
    if absent:
        raise TraceError(
            f"{root / 'arrays.npz'}: {len(absent)} stage(s) of index.tsv are not in the archive "
            f"(first: {absent[0]!r})"
        )
    extra = sorted(members - in_index)
    if extra:
        raise TraceError(
            f"{root / 'index.tsv'}: {len(extra)} array(s) in arrays.npz are not in the index (first: {extra[0]!r})"
        )
    return Trace(stages, archive.load, meta, source)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TraceError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise TraceError(f"{path}: expected a JSON object")
    fmt, ver = meta.get("format"), meta.get("version")
    if fmt is not None and fmt != FORMAT_NAME:
        raise TraceError(f"{path}: format {fmt!r} is not {FORMAT_NAME!r}")
    if ver is not None and ver != FORMAT_VERSION:
        raise TraceError(f"{path}: format version {ver!r} is not supported (only {FORMAT_VERSION})")
    return meta


def _read_index(path: Path) -> list[StageInfo]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError(f"{path}: cannot be read ({exc})") from None
    if not lines or lines[0].split("\t") != INDEX_HEADER:
        raise TraceError(f"{path}: header must be {' / '.join(INDEX_HEADER)} (tab-separated)")
    stages: list[StageInfo] = []
    seen: set[str] = set()
    for lineno, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cols = line.split("\t")
        if len(cols) != 4:
            raise TraceError(f"{path}:{lineno}: expected 4 tab-separated columns, got {len(cols)}")
        seq_s, name, dtype, shape_s = cols
        try:
            seq = int(seq_s)
            shape = tuple(int(d) for d in shape_s.split(",")) if shape_s.strip() else ()
            np.dtype(dtype)
        except (ValueError, TypeError) as exc:
            raise TraceError(f"{path}:{lineno}: malformed row ({exc})") from None
        if any(d < 0 for d in shape):
            raise TraceError(f"{path}:{lineno}: negative dimension in shape {shape_s!r}")
        if seq != len(stages):
            raise TraceError(f"{path}:{lineno}: seq {seq} out of order (expected {len(stages)})")
        if not name or name in seen:
            raise TraceError(f"{path}:{lineno}: {'empty' if not name else 'duplicate'} stage name {name!r}")
        seen.add(name)
        stages.append(StageInfo(seq, name, dtype, shape))
    return stages


class _LazyNpz:
    """Member access to an .npz without reading it whole; stored (uncompressed) members are memory-mapped."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise TraceError(f"{path}: not a readable .npz archive ({exc}); truncated or corrupt?") from None
        self._infos = {}
        for zi in self._zip.infolist():
            n = zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename
            self._infos[n] = zi

    def names(self) -> set[str]:
        return set(self._infos)

    def load(self, name: str) -> np.ndarray:
        zi = self._infos[name]
        try:
            if zi.compress_type == zipfile.ZIP_STORED:
                arr = self._map_stored(zi)
                if arr is not None:
                    return arr
            with self._zip.open(zi) as f:
                return np.lib.format.read_array(f, allow_pickle=False)
        except TraceError:
            raise
        except Exception as exc:
            raise TraceError(f"{self.path}: member {name!r} is corrupt ({type(exc).__name__}: {exc})") from None

    def _map_stored(self, zi: zipfile.ZipInfo) -> np.ndarray | None:
        with open(self.path, "rb") as fh:
            fh.seek(zi.header_offset)
            hdr = fh.read(30)
            if len(hdr) < 30 or hdr[:4] != b"PK\x03\x04":
                raise TraceError(f"{self.path}: bad local header for {zi.filename!r}")
            name_len, extra_len = struct.unpack("<HH", hdr[26:30])
            data_start = zi.header_offset + 30 + name_len + extra_len
            fh.seek(data_start)
            version = np.lib.format.read_magic(fh)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
            elif version in ((2, 0), (3, 0)):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
            else:
                return None
            if dtype.hasobject:
                raise TraceError(f"{self.path}: member {zi.filename!r} holds Python objects; refusing to load")
            offset = fh.tell()
            nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if offset + nbytes > data_start + zi.file_size:
                raise TraceError(f"{self.path}: member {zi.filename!r} is truncated")
        if nbytes == 0:
            return np.empty(shape, dtype=dtype, order="F" if fortran else "C")
        mm = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape, order="F" if fortran else "C")
        return np.asarray(mm)


# writing ---------------------------------------------------------------------------------

class TraceWriter:
    """Writes a trace as it is recorded; `commit` makes it appear atomically at ``path``.

    ``compress`` deflates members (as the reference dumps do); the default stores them so that reading
    can memory-map them.
    """

    def __init__(self, path: str | os.PathLike, meta: Mapping | None = None, compress: bool = False):
        from pyparity.atomic import AtomicDir

        self.path = Path(path)
        if self.path.exists() and not _is_trace_dir(self.path):
            raise TraceError(f"{self.path}: exists and is not a trace; refusing to overwrite it")
        self._done = True  # until the folder is set up (an abandoned writer's __del__ then does nothing)
        self._dir = AtomicDir(self.path, what="trace")
        self._tmp = self._dir.tmp
        try:
            self._zip = zipfile.ZipFile(
                self._tmp / "arrays.npz", "w",
                compression=zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED, allowZip64=True,
            )
        except OSError as exc:
            self._dir.abort()
            raise self._output_error(exc) from None
        self._rows: list[StageInfo] = []
        self._names: set[str] = set()
        self.meta = dict(meta or {})
        self._done = False

    def _output_error(self, exc: OSError):
        from pyparity.atomic import output_error

        return output_error(self.path, exc, "trace")

    def write(self, name: str, array: np.ndarray) -> None:
        if self._done:
            raise TraceError(f"{self.path}: trace already committed")
        if name in self._names:
            raise TraceError(f"{self.path}: stage {name!r} written twice")
        if not name or any(c in name for c in "\t\r\n\x00"):  # index.tsv (or a zip name) could not hold it
            raise TraceError(f"{self.path}: stage name {name!r} is empty or holds a tab, line break or NUL")
        a = np.asanyarray(array)
        if a.dtype.hasobject:
            raise TraceError(f"stage {name!r}: object arrays cannot be recorded")
        a = np.asarray(a)
        try:
            with self._zip.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, a, allow_pickle=False)
        except OSError as exc:  # a full disk, a vanished folder: one line, and nothing left behind
            self.abort()
            raise self._output_error(exc) from None
        self._names.add(name)
        self._rows.append(StageInfo(len(self._rows), name, dtype_label(a.dtype), tuple(a.shape)))

    def commit(self) -> Path:
        if self._done:
            return self.path
        try:
            self._zip.close()
            meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, **self.meta}
            meta["format"], meta["version"] = FORMAT_NAME, FORMAT_VERSION
            _write_text(self._tmp / "meta.json",
                        json.dumps(meta, indent=1, sort_keys=False, default=_json_default) + "\n")
            lines = ["\t".join(INDEX_HEADER)]
            lines += [f"{s.seq}\t{s.name}\t{s.dtype}\t{','.join(str(d) for d in s.shape)}" for s in self._rows]
            _write_text(self._tmp / "index.tsv", "\n".join(lines) + "\n")
            _fsync_file(self._tmp / "arrays.npz")
        except OSError as exc:
            self.abort()
            raise self._output_error(exc) from None
        except BaseException:
            self.abort()
            raise
        self._dir.commit()
        self._done = True
        return self.path

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            self._zip.close()
        except Exception:  # noqa: BLE001 - a zip that cannot be finished is being thrown away
            pass
        finally:
            self._dir.abort()

    def __del__(self):  # an abandoned writer leaves no partial directory behind
        try:
            if not self._done:
                self.abort()
        except Exception:
            pass


def write_trace(trace: Trace, path: str | os.PathLike, compress: bool = False, meta: Mapping | None = None) -> Path:
    """Write any trace (ours or an ingested reference dump) atomically to ``path``."""
    w = TraceWriter(path, meta if meta is not None else trace.meta, compress=compress)
    try:
        for name in trace.names:
            w.write(name, trace[name])
        return w.commit()
    except BaseException:
        w.abort()
        raise


def _is_trace_dir(p: Path) -> bool:
    return p.is_dir() and (p / "index.tsv").is_file() and (p / "arrays.npz").is_file()


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
