"""A per-case time limit that works on whatever thread runs the case (a local worker process's main
thread, a Dask worker's task thread, the gate's own thread).

A timer thread raises `CaseTimeout` in the case's thread (``PyThreadState_SetAsyncExc``). Python
delivers it at the next bytecode, so a case stuck inside one long compiled call (a NumPy or numba
kernel) stops when that call returns; a pipeline is a sequence of short stages, so that is soon.
`CaseTimeout` is a ``BaseException``: a pipeline's ``except Exception`` does not swallow it.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from typing import Iterator


class CaseTimeout(BaseException):
    """The case ran past its time limit."""


def _raise_in(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise `CaseTimeout` in this thread if the block runs longer than ``seconds`` (None: no limit)."""
    if not seconds or seconds <= 0:
        yield
        return
    tid = threading.get_ident()
    lock = threading.Lock()
    state = {"inside": True, "fired": False}

    def fire() -> None:
        with lock:
            if state["inside"]:
                state["fired"] = True
                _raise_in(tid, CaseTimeout)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            state["inside"] = False
            timer.cancel()
            # fired but not yet delivered (the block ended first): take it back so it cannot hit the caller
            if state["fired"]:
                _raise_in(tid, None)
