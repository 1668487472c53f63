"""NumPy's OpenBLAS on one thread, for the pipelines whose matrix products must not depend on the thread
count: MTCNN's, which match OpenFace's OpenBLAS bit for bit, and the img2pose numpy backend's chunks.

OpenFace calls ``openblas_set_num_threads(1)`` (CNN::Read) and its sgemm ran with OpenBLAS's Haswell
kernels. Which accumulator an element of a product lands in depends on how OpenBLAS tiles the
matrix, and the tiling changes with the thread count, so NumPy's bundled OpenBLAS reproduces the
reference bit for bit only with the Haswell kernels (``OPENBLAS_CORETYPE=Haswell``, which
``pyparity/__init__.py`` asks for before NumPy loads) and one thread. ``single_thread()`` sets one
BLAS thread for the duration (``openblas_set_num_threads_local``, OpenBLAS >= 0.3.27). NumPy's
OpenBLAS applies that count to the whole process, not only to the calling thread, so concurrent
blocks (MTCNN's pyramid levels on a thread pool) share one refcounted setting: one thread while any
block is open, the previous count restored when the last one closes. Where the symbol is missing
the products still run, and may differ from the reference in the last bit.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from contextlib import contextmanager

_LIB = None
_LOADED = False
_LOAD_LOCK = threading.Lock()


def _openblas():
    global _LIB, _LOADED
    if _LOADED:
        return _LIB
    # threads that find it still loading must wait for the library, not run their products on
    # OpenBLAS's default thread count
    with _LOAD_LOCK:
        if not _LOADED:
            _LIB = _find_openblas()
            _LOADED = True
    return _LIB


def _find_openblas():
    try:
        import numpy as np

        libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas*.so*"))):
            lib = ctypes.CDLL(path)
            if hasattr(lib, "openblas_set_num_threads_local"):
                lib.openblas_set_num_threads_local.argtypes = [ctypes.c_int]
                lib.openblas_set_num_threads_local.restype = ctypes.c_int
                return lib
    except OSError:  # pragma: no cover - platform without the bundled library
        pass
    return None


def corename() -> str:
    """OpenBLAS's kernel family in use ("Haswell", "SkylakeX", ...) or "unknown"."""
    lib = _openblas()
    if lib is None:
        return "unknown"
    for sym in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
        f = getattr(lib, sym, None)
        if f is not None:
            f.restype = ctypes.c_char_p
            return f().decode()
    return "unknown"


_ACTIVE = 0                 # threads inside single_thread()
_SAVED = 1                  # the thread count to restore when the last one leaves
_ACTIVE_LOCK = threading.Lock()


@contextmanager
def single_thread():
    """OpenBLAS on one thread while any thread is inside this block (refcounted: the last to leave
    restores the count found by the first to enter)."""
    global _ACTIVE, _SAVED
    lib = _openblas()
    if lib is None:
        yield
        return
    with _ACTIVE_LOCK:
        old = lib.openblas_set_num_threads_local(1)
        if _ACTIVE == 0:
            _SAVED = old if old > 0 else 1
        _ACTIVE += 1
    try:
        yield
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE -= 1
            if _ACTIVE == 0:
                lib.openblas_set_num_threads_local(_SAVED)
