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
import threading
import zipfile
import zlib
from pathlib import Path
from typing import Mapping

import numpy as np

from pyparity.errors import TraceError
from pyparity.trace.trace import StageInfo, Trace, dtype_label

FORMAT_NAME = "reference-dump"
FORMAT_VERSION = 1
INDEX_HEADER = ["seq", "name", "dtype", "shape"]


# reading ---------------------------------------------------------------------------------

# What a trace may make a reader decompress, in total (its compressed members' declared sizes); a
# larger one is refused before anything is decompressed. Stored members are memory-mapped, so their
# size is bounded by the file itself.
DEFAULT_MAX_DECOMPRESSED_BYTES = 2 * 1024 ** 3
MAX_DECOMPRESSED_ENV = "PYPARITY_MAX_DECOMPRESSED_BYTES"
_MAX_NPY_HEADER = 1 << 16  # numpy refuses .npy headers over 10,000 bytes itself
_CRC_BLOCK = 1 << 24


def max_decompressed_bytes() -> int:
    """The limit on a trace's declared uncompressed size (``PYPARITY_MAX_DECOMPRESSED_BYTES``, bytes)."""
    raw = os.environ.get(MAX_DECOMPRESSED_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_DECOMPRESSED_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        raise TraceError(f"{MAX_DECOMPRESSED_ENV}={raw!r}: expected a positive number of bytes")
    return value


def read_trace(path: str | os.PathLike) -> Trace:
    """Open a trace / reference dump directory lazily (the index is read, arrays are not).

    Raises `TraceError` with one line naming the file and the problem when the directory is not a
    trace, the index is malformed, the index and the archive disagree (names, sizes), the archive
    repeats a member, or its members declare more than `max_decompressed_bytes` to decompress.
    Each array is checked when it is read: its .npy header against the index, its bytes against the
    archive's CRC-32 (memory-mapped members too, once each).
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
    archive.expect(stages)
    return Trace(stages, archive.load, meta, source)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except RecursionError:
        raise TraceError(f"{path}: not valid JSON (nested too deeply)") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
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
            dt = np.dtype(dtype)
        except Exception as exc:  # int() and np.dtype() raise ValueError, TypeError, SyntaxError, ...
            raise TraceError(f"{path}:{lineno}: malformed row ({type(exc).__name__}: {exc})") from None
        if dt.hasobject:
            raise TraceError(f"{path}:{lineno}: dtype {dtype!r} holds Python objects; a trace holds data only")
        if any(d < 0 for d in shape):
            raise TraceError(f"{path}:{lineno}: negative dimension in shape {shape_s!r}")
        if seq != len(stages):
            raise TraceError(f"{path}:{lineno}: seq {seq} out of order (expected {len(stages)})")
        if not name or name in seen:
            raise TraceError(f"{path}:{lineno}: {'empty' if not name else 'duplicate'} stage name {name!r}")
        seen.add(name)
        stages.append(StageInfo(seq, name, dtype, shape))
    return stages


def _data_bytes(shape: tuple[int, ...], dtype: np.dtype) -> int:
    n = dtype.itemsize
    for d in shape:
        n *= int(d)
    return n


# NumPy parses .npy headers with ast.literal_eval, and CPython 3.11's AST constructor is not thread-safe
# (two threads parsing at once: "SystemError: AST constructor recursion depth mismatch", seen on 3.11.7):
# traces read on several threads of one process (a Dask worker's) parse their headers one at a time.
_NPY_HEADER_LOCK = threading.Lock()


def _read_npy_header(f) -> tuple[tuple[int, ...], bool, np.dtype]:
    version = np.lib.format.read_magic(f)
    with _NPY_HEADER_LOCK:
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(f)
        if version in ((2, 0), (3, 0)):
            return np.lib.format.read_array_header_2_0(f)
    raise ValueError(f".npy format version {version} is not supported")


class _LazyNpz:
    """Member access to an .npz without reading it whole; stored (uncompressed) members are memory-mapped.

    Opening checks the central directory (no member repeated, sizes that fit the file and the limit);
    `expect` checks each member's size against the index's dtype and shape; `load` checks a member's
    .npy header against both before reading its data, and its CRC-32 (once per member).
    """

    def __init__(self, path: Path):
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path)
            self._size = path.stat().st_size
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise TraceError(f"{path}: not a readable .npz archive ({exc}); truncated or corrupt?") from None
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._expected: dict[str, StageInfo] = {}
        self._verified: set[str] = set()
        declared = 0
        for zi in self._zip.infolist():
            n = zi.filename[:-4] if zi.filename.endswith(".npy") else zi.filename
            if n in self._infos:
                raise TraceError(f"{path}: member {n!r} occurs more than once in the archive; refusing to pick one")
            self._infos[n] = zi
            if zi.compress_type == zipfile.ZIP_STORED:
                if zi.compress_size != zi.file_size or zi.header_offset + 30 + zi.file_size > self._size:
                    raise TraceError(f"{path}: member {zi.filename!r} is truncated (its declared size "
                                     f"{zi.file_size} runs past the end of the file)")
            else:
                declared += zi.file_size
        limit = max_decompressed_bytes()
        if declared > limit:
            raise TraceError(f"{path}: compressed members declare {declared} bytes uncompressed, over the limit of "
                             f"{limit} ({MAX_DECOMPRESSED_ENV}); refusing to decompress")

    def names(self) -> set[str]:
        return set(self._infos)

    def expect(self, stages: list[StageInfo]) -> None:
        """Check each member's uncompressed size against the index's dtype × shape (nothing is read)."""
        for s in stages:
            zi = self._infos[s.name]
            nbytes = _data_bytes(s.shape, np.dtype(s.dtype))
            header = zi.file_size - nbytes
            if not 10 <= header <= _MAX_NPY_HEADER:
                raise TraceError(f"{self.path}: member {zi.filename!r} is corrupt or the index is wrong: it holds "
                                 f"{zi.file_size} bytes, the index says "
                                 f"{s.dtype} {s.shape} ({nbytes} bytes of data)")
            self._expected[s.name] = s

    def load(self, name: str) -> np.ndarray:
        zi = self._infos[name]
        try:
            if zi.compress_type == zipfile.ZIP_STORED:
                return self._map_stored(name, zi)
            with self._zip.open(zi) as f:
                shape, fortran, dtype = _read_npy_header(f)
                self._check_header(name, zi, shape, dtype, f.tell())
                return _read_data(f, shape, fortran, dtype)
        except TraceError:
            raise
        except Exception as exc:  # zlib, zipfile (Bad CRC-32), numpy's header parser, short reads
            raise TraceError(f"{self.path}: member {name!r} is corrupt ({type(exc).__name__}: {exc})") from None

    def _check_header(self, name: str, zi: zipfile.ZipInfo, shape, dtype: np.dtype, header_len: int) -> None:
        """The .npy header against the index and the archive, before any data is read."""
        if dtype.hasobject:
            raise TraceError(f"{self.path}: member {zi.filename!r} holds Python objects; refusing to load")
        end = header_len + _data_bytes(shape, dtype)
        if end > zi.file_size:
            raise TraceError(f"{self.path}: member {zi.filename!r} is truncated ({zi.file_size} bytes, its header "
                             f"declares {end})")
        if end < zi.file_size:
            raise TraceError(f"{self.path}: member {zi.filename!r} is corrupt ({zi.file_size - end} bytes after its array)")
        want = self._expected.get(name)
        if want is not None and (dtype_label(dtype) != want.dtype or tuple(shape) != want.shape):
            raise TraceError(f"{self.path}: stage {name!r} holds {dtype_label(dtype)} {tuple(shape)} but the index "
                             f"says {want.dtype} {want.shape}")

    def _map_stored(self, name: str, zi: zipfile.ZipInfo) -> np.ndarray:
        with open(self.path, "rb") as fh:
            fh.seek(zi.header_offset)
            hdr = fh.read(30)
            if len(hdr) < 30 or hdr[:4] != b"PK\x03\x04":
                raise TraceError(f"{self.path}: bad local header for {zi.filename!r}")
            name_len, extra_len = struct.unpack("<HH", hdr[26:30])
            data_start = zi.header_offset + 30 + name_len + extra_len
            if data_start + zi.file_size > self._size:
                raise TraceError(f"{self.path}: member {zi.filename!r} is truncated (runs past the end of the file)")
            fh.seek(data_start)
            shape, fortran, dtype = _read_npy_header(fh)
            offset = fh.tell()
            self._check_header(name, zi, shape, dtype, offset - data_start)
            if name not in self._verified:
                fh.seek(data_start)
                crc, left = 0, zi.file_size
                while left:
                    block = fh.read(min(left, _CRC_BLOCK))
                    if not block:
                        raise TraceError(f"{self.path}: member {zi.filename!r} is truncated")
                    crc = zlib.crc32(block, crc)
                    left -= len(block)
                if crc != zi.CRC:
                    raise TraceError(f"{self.path}: member {zi.filename!r} is corrupt (CRC-32 mismatch: the bytes "
                                     "changed after it was written)")
                self._verified.add(name)
        order = "F" if fortran else "C"
        if _data_bytes(shape, dtype) == 0:
            return np.empty(shape, dtype=dtype, order=order)
        mm = np.memmap(self.path, dtype=dtype, mode="r", offset=offset, shape=shape, order=order)
        return np.asarray(mm)


def _read_data(f, shape, fortran: bool, dtype: np.dtype) -> np.ndarray:
    """The array after a .npy header from a stream, read in blocks into one writable array; reading to
    the member's end makes zipfile check its CRC-32."""
    count = 1
    for d in shape:
        count *= int(d)
    flat = np.empty(count, dtype=dtype)
    raw = flat.view(np.uint8) if count else np.empty(0, np.uint8)
    pos = 0
    while pos < raw.size:
        block = f.read(min(raw.size - pos, _CRC_BLOCK))
        if not block:
            raise ValueError(f"the member ends after {pos} of {raw.size} bytes")
        raw[pos : pos + len(block)] = np.frombuffer(block, np.uint8)
        pos += len(block)
    if f.read(1):
        raise ValueError("bytes after the array")
    return flat.reshape(shape, order="F" if fortran else "C")


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
