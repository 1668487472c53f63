"""pyparity: stage-by-stage parity testing for face and pose pipelines."""

import os as _os

# The C++ reference dumps were computed with OpenBLAS's Haswell (AVX2) kernels; NumPy's and SciPy's
# bundled OpenBLAS pick kernels by CPU, which changes matrix products in the last bit. Asking for the
# same kernels makes more of them bit-identical (e.g. the CCNF Sigma Cholesky). It only takes effect
# if NumPy is not loaded yet, and never overrides the user's own setting.
_os.environ.setdefault("OPENBLAS_CORETYPE", "Haswell")

__version__ = "0.1.0"
