"""The numpy backend's threads: fixed chunks of each layer's work, pulled by the threads as they come.

A layer's work is cut into chunks whose bounds depend only on the layer's shape (the 16 Winograd
GEMMs, blocks of output channels), never on the thread count, and every chunk's products run on one
BLAS thread (`single_thread`): the bits do not depend on how many threads ran them, only the wall
time does. The calling thread works too and the pool's threads pull the next chunk when they are
free, so a thread the OS leaves waiting (a shared, oversubscribed machine) delays one chunk, not the
layer: OpenBLAS's own threads split each product in fixed halves and wait for the slower one, once
per product, which on a busy machine costs more than the product itself.

    with threads.using(n):          # NumpyNetwork around backbone / rpn_head / roi_networks
        threads.run(fn, n_chunks)   # fn(0) ... fn(n_chunks - 1), any order, any thread

Outside ``using`` (or with n = 1), `run` calls the chunks in order on the calling thread.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator

from pyparity.pipelines.blas import single_thread
from pyparity.pipelines.threads import default_threads

_state = threading.local()
_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _executor(workers: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < workers:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pyparity-img2pose")
            _pool_size = workers
        return _pool


def _forget_pool_in_child() -> None:
    # a forked child (a gate's worker process) inherits the pool object but none of its threads
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


@contextmanager
def using(n: int | None) -> Iterator[None]:
    """Within the block, `run` on this thread spreads chunks over ``n`` threads (None:
    `default_threads`), each chunk's BLAS calls on one thread."""
    n = default_threads() if n is None else max(int(n), 1)
    old = getattr(_state, "threads", 1)
    _state.threads = n
    try:
        with single_thread():
            yield
    finally:
        _state.threads = old


def run(fn: Callable[[int], None], n_chunks: int) -> None:
    """``fn(i)`` for every i in range(n_chunks), spread over the threads of the enclosing `using`.
    The first exception propagates after every started chunk has finished."""
    n = min(getattr(_state, "threads", 1), n_chunks)
    if n <= 1 or getattr(_state, "in_chunk", False):
        for i in range(n_chunks):
            fn(i)
        return
    it = iter(range(n_chunks))
    lock = threading.Lock()

    def drain() -> None:
        _state.in_chunk = True  # a chunk that calls run() again runs it serially (no pool deadlock)
        try:
            while True:
                with lock:
                    i = next(it, None)
                if i is None:
                    return
                fn(i)
        finally:
            _state.in_chunk = False

    futures = [_executor(n - 1).submit(drain) for _ in range(n - 1)]
    try:
        drain()
    finally:
        errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def blocks(n: int, size: int) -> list[slice]:
    """[0, n) cut into consecutive slices of ``size`` (the last one shorter)."""
    return [slice(a, min(a + size, n)) for a in range(0, n, size)]
