"""SciPy's LAPACK on one thread, as the reference's OpenBLAS ran the small factorisations."""

from __future__ import annotations

import ctypes
import os
from contextlib import contextmanager


_SET_THREADS_LOCAL = []   # [callable or None], resolved on first use


def _scipy_openblas_set_threads_local():
    """`openblas_set_num_threads_local` of the OpenBLAS that scipy.linalg.lapack is linked to (SciPy's
    bundled libscipy_openblas), or None where there is none (another LAPACK: nothing to do)."""
    if not _SET_THREADS_LOCAL:
        fn = None
        try:
            from scipy.linalg import lapack  # noqa: F401  (loads the library)
            with open(f"/proc/{os.getpid()}/maps") as fh:
                libs = sorted({ln.split()[-1] for ln in fh if "scipy.libs" in ln and "openblas" in ln.lower()})
            for path in libs:
                lib = ctypes.CDLL(path)
                if hasattr(lib, "openblas_set_num_threads_local"):
                    fn = lib.openblas_set_num_threads_local
                    fn.restype = ctypes.c_int
                    fn.argtypes = [ctypes.c_int]
                    break
        except (OSError, ImportError):
            fn = None
        _SET_THREADS_LOCAL.append(fn)
    return _SET_THREADS_LOCAL[0]


@contextmanager
def single_thread_lapack():
    """Run SciPy's LAPACK single-threaded in this thread.

    CCNF Sigma for window 11 (121x121) comes from LAPACK sposv (ccnf._invert_cholesky). The reference's
    OpenBLAS ran it on one thread (its threading threshold); SciPy's OpenBLAS with two or more threads
    factorises in a different order: the window-11 responses then differ by up to 1.5e-8, which the KDE
    grid amplifies to 0.1 px after two scales. With one thread every response, and the whole fit, is
    bit-identical to the reference on all shared dumps."""
    fn = _scipy_openblas_set_threads_local()
    if fn is None:
        yield
        return
    prev = fn(1)
    try:
        yield
    finally:
        fn(prev)
