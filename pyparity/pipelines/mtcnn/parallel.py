"""Independent pieces of MTCNN's work (pyramid levels, chunks of crops) spread over threads.

Every piece computes exactly what it would alone (its own single-threaded sgemm calls, the same
numba kernels, which release the GIL), so the bits do not depend on the thread count; only the
wall time does. The pool is shared by the process and created on first use.

Threads: `pyparity.pipelines.threads.default_threads` (``PYPARITY_THREADS``, else the CPUs); ``set_threads(n)``
changes it (1 runs everything on the calling thread, e.g. in a worker process of a gate that already
keeps every core busy).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence, TypeVar

from pyparity.errors import InputError
from pyparity.pipelines.threads import default_threads

T = TypeVar("T")
R = TypeVar("R")

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_threads: int | None = None


def threads() -> int:
    """How many threads MTCNN's independent pieces run on."""
    global _threads
    if _threads is None:
        _threads = default_threads()
    return _threads


def set_threads(n: int) -> None:
    """Run MTCNN's independent pieces on ``n`` threads (1: on the calling thread only)."""
    global _threads, _pool
    if int(n) < 1:
        raise InputError(f"threads must be >= 1, got {n}")
    with _lock:
        _threads = int(n)
        if _pool is not None:
            _pool.shutdown(wait=False)
            _pool = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=threads(), thread_name_prefix="pyparity-mtcnn")
        return _pool


def _forget_pool_in_child() -> None:
    # a forked child (a gate's worker process) inherits the pool object but none of its threads
    global _pool, _lock
    _pool = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def map_in_threads(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """``[fn(x) for x in items]``, the items spread over the pool (in order of the list: put the
    largest first). Exceptions propagate as they would from the loop."""
    if threads() == 1 or len(items) < 2 or threading.current_thread().name.startswith("pyparity-mtcnn"):
        return [fn(x) for x in items]
    return list(_executor().map(fn, items))
