"""Atomic outputs: every file and folder pyparity writes appears whole or not at all.

A file is written to a hidden temporary sibling (``.NAME.<random>.partial``) and renamed over its path
when complete. A folder (a trace, a golden, a folder of frame traces) is built in a hidden sibling
``.NAME.partial-<random>`` and swapped into place: on Linux with one ``renameat2(RENAME_EXCHANGE)``, so
a reader never finds the path missing, elsewhere with two renames. While a folder is being built its
writer holds an advisory lock (``.NAME.writer.lock``, ``flock``: `WriterLock`): a second writer of the same path is
refused at once with a clear error instead of racing, and the lock dies with its process, so the
leftovers of a killed writer (``.NAME.partial-*``, ``.NAME.old-*``) are known to be stale and are
removed by the next writer.

A failure (full disk, unwritable folder, Ctrl-C, SIGTERM) removes the temporary and leaves whatever was
at the path before. Problems are raised as one-line `OutputError`s naming the path.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

from pyparity.errors import OutputError

try:  # POSIX; elsewhere folders are written without the writer lock
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def output_error(path: str | os.PathLike, exc: OSError, what: str = "") -> OutputError:
    """One line for an OSError met while writing ``path``."""
    p = Path(path)
    reason = exc.strerror or str(exc)
    if isinstance(exc, IsADirectoryError):
        reason = "it is a directory"
    elif exc.errno == errno.ENOSPC:
        reason = "no space left on the device"
    return OutputError(f"{p}: cannot write {what or 'it'} ({reason})")


def _ensure_parent(p: Path) -> None:
    """Create ``p``'s folder if needed; one line if a file stands where a folder must be."""
    parent = p.parent
    for q in (parent, *parent.parents):
        if q.exists():
            if not q.is_dir():
                raise OutputError(f"{p}: cannot write it ({q} is not a directory)")
            break
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(p, exc) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """A temporary path next to ``path`` to write a file to (``suffix``: an extension a writer insists
    on, e.g. ``.npz``); renamed over ``path`` when the block ends without an exception."""
    p = Path(path)
    _ensure_parent(p)
    if p.is_dir():
        raise OutputError(f"{p}: cannot write it (it is a directory)")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".partial" + suffix, dir=p.parent)
        os.close(fd)
    except OSError as exc:
        raise output_error(p, exc) from None
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; outputs are meant to be read
        os.replace(tmp, p)
    except OSError as exc:
        raise output_error(p, exc) from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    p = Path(path)
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return p


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    return write_bytes_atomic(path, text.encode("utf-8"))


# folders -------------------------------------------------------------------------------------------

class LockHeld(OutputError):
    """Another process holds the lock of the path being written."""


class WriterLock:
    """``flock`` on ``.NAME.<kind>.lock`` next to ``final``; released (and the file removed) on release.

    The kernel drops the lock when its process dies, so a lock file left by a killed writer never
    blocks the next one. (filelock does the same flock, but keeps its lock files on release: one
    hidden file beside every trace and golden, committed along with goldens by accident.)
    """

    def __init__(self, final: Path, what: str, kind: str = "writer"):
        self.final = Path(final)
        self.what = what
        self.path = self.final.parent / f".{self.final.name}.{kind}.lock"
        self.fd: int | None = None

    def acquire(self) -> None:
        if fcntl is None:  # pragma: no cover
            return
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise output_error(self.final, exc, self.what) from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise LockHeld(f"{self.final}: another process is writing this {self.what} now; "
                                  "wait for it to finish (or write to another path)") from None
            # a holder that released meanwhile unlinked the file we opened: lock the new one instead
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                return
            os.close(fd)

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)
        os.close(self.fd)
        self.fd = None

    def __enter__(self) -> "WriterLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _remove_stale(final: Path, keep: Path | None) -> None:
    """Leftovers of killed writers of ``final`` (only called while holding its writer lock)."""
    try:
        siblings = list(final.parent.iterdir())
    except OSError:
        return
    for q in siblings:
        if q != keep and (q.name.startswith(f".{final.name}.partial-") or q.name.startswith(f".{final.name}.old-")):
            shutil.rmtree(q, ignore_errors=True)


def _renameat2():
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_AT_FDCWD, _RENAME_EXCHANGE = -100, 2
_EXCHANGE = None


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one step; False where the system cannot."""
    global _EXCHANGE
    if _EXCHANGE is None:
        _EXCHANGE = _renameat2() or False
    if not _EXCHANGE:
        return False
    import ctypes

    if _EXCHANGE(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(err, os.strerror(err), str(b))


def replace_dir(tmp: Path, final: Path) -> None:
    """Move the complete folder ``tmp`` to ``final``; what was at ``final`` is removed afterwards."""
    if final.exists() and _exchange(tmp, final):
        shutil.rmtree(tmp, ignore_errors=True)  # now the previous contents
        return
    if final.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        old.rmdir()
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)


class AtomicDir:
    """A folder built in a hidden sibling (``.tmp``) and swapped into place whole by `commit`.

    Holds the path's writer lock from construction to `commit`/`abort` (a second writer gets an
    `OutputError`); removes stale leftovers of killed writers of the same path.
    """

    def __init__(self, final: str | os.PathLike, what: str = "folder"):
        self.final = Path(final)
        self.what = what
        _ensure_parent(self.final)
        self._lock = WriterLock(self.final, what)
        self._lock.acquire()
        try:
            _remove_stale(self.final, None)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.partial-", dir=self.final.parent))
        except OSError as exc:
            self._lock.release()
            raise output_error(self.final, exc, what) from None
        except BaseException:
            self._lock.release()
            raise
        self.done = False

    def commit(self) -> Path:
        if self.done:
            return self.final
        try:
            replace_dir(self.tmp, self.final)
        except OSError as exc:
            self.abort()
            raise output_error(self.final, exc, self.what) from None
        self.done = True
        self._lock.release()
        return self.final

    def abort(self) -> None:
        if self.done:
            return
        self.done = True
        shutil.rmtree(self.tmp, ignore_errors=True)
        self._lock.release()
