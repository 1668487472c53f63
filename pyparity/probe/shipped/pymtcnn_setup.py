"""Builds pymtcnn 1.2's detector from pyparity's OpenFace model folder, the way a user would.

pymtcnn finds OpenFace's MTCNN weights through ``OPENFACE_MODELS_DIR``: it expects
``$OPENFACE_MODELS_DIR/2.2.0/originals/lib/local/LandmarkDetector/model/mtcnn_detector/{P,R,O}Net.dat``
(checked against its SHA-256 list; OpenFace 2.0.2's files are byte-identical to 2.2.0's) and converts
them, on first use, into ``derived/pymtcnn/1/{pnet,rnet,onet}.onnx``. The probe lays out that folder
with symlinks to ``$models/mtcnn_detector/*.dat`` in pyparity's cache, sets ``OPENFACE_MODELS_DIR``
while the detector is built, and never lets pymtcnn download (the licence is not accepted for it:
missing files raise ``ModelsNotInstalledError``).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from pyparity.errors import ModelError
from pyparity.probe.shipped._cache import port_cache_dir, symlink

_ORIGINALS = "2.2.0/originals/lib/local/LandmarkDetector/model/mtcnn_detector"
_FILES = ("PNet.dat", "RNet.dat", "ONet.dat")


@contextlib.contextmanager
def _env(**values: str):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def models_dir_for_pymtcnn(models: str | os.PathLike) -> Path:
    """The ``OPENFACE_MODELS_DIR`` folder for pymtcnn, laid out from an OpenFace model folder."""
    src = Path(models) / "mtcnn_detector"
    missing = [f for f in _FILES if not (src / f).is_file()]
    if missing:
        raise ModelError(f"{src}: missing {', '.join(missing)} (OpenFace's MTCNN weights)")
    root = port_cache_dir("pymtcnn", str(src.resolve()))
    for f in _FILES:
        symlink(src / f, root / _ORIGINALS / f)
    return root


def build(models: str, backend: str = "cpu"):
    """pymtcnn.MTCNN on the CPU (onnxruntime), its models found through OPENFACE_MODELS_DIR."""
    import pymtcnn
    from pymtcnn.models import ensure_models

    root = models_dir_for_pymtcnn(models)
    # OPENFACE_MODELS_ACCEPT_LICENSE is forced off: the files are all there, so nothing is downloaded;
    # if one were not, pymtcnn raises instead of fetching it.
    with _env(OPENFACE_MODELS_DIR=str(root), OPENFACE_MODELS_ACCEPT_LICENSE="0"):
        ensure_models()  # converts the .dat files into pymtcnn's ONNX models once (cached)
        return pymtcnn.MTCNN(backend=backend)
