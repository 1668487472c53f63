"""Run NumPy's float32 matrix products the way OpenFace's OpenBLAS did: one thread.

OpenFace calls ``openblas_set_num_threads(1)`` (CNN::Read) and its sgemm ran with OpenBLAS's Haswell
kernels. Which accumulator an element of a product lands in depends on how OpenBLAS tiles the
matrix, and the tiling changes with the thread count, so NumPy's bundled OpenBLAS reproduces the
reference bit for bit only with the Haswell kernels (``OPENBLAS_CORETYPE=Haswell``, which
``pyparity/__init__.py`` asks for before NumPy loads) and one thread. ``single_thread()`` limits the
calling thread to one BLAS thread for the duration (``openblas_set_num_threads_local``, OpenBLAS >=
0.3.27), leaving other threads and the process-wide setting alone. Where that symbol is missing the
products still run, and may differ from the reference in the last bit.
"""

from __future__ import annotations

import ctypes
import glob
import os
from contextlib import contextmanager

_LIB = None
_LOADED = False


def _openblas():
    global _LIB, _LOADED
    if _LOADED:
        return _LIB
    _LOADED = True
    try:
        import numpy as np

        libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
        for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas*.so*"))):
            lib = ctypes.CDLL(path)
            if hasattr(lib, "openblas_set_num_threads_local"):
                lib.openblas_set_num_threads_local.argtypes = [ctypes.c_int]
                lib.openblas_set_num_threads_local.restype = ctypes.c_int
                _LIB = lib
                break
    except OSError:  # pragma: no cover - platform without the bundled library
        _LIB = None
    return _LIB


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


@contextmanager
def single_thread():
    lib = _openblas()
    if lib is None:
        yield
        return
    old = lib.openblas_set_num_threads_local(1)
    try:
        yield
    finally:
        lib.openblas_set_num_threads_local(old if old > 0 else 1)
