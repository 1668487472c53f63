"""Builds pyclnf 0.4.1's CLNF from pyparity's OpenFace model folder plus the synthetic CEN experts.

pyclnf loads a folder of its own (``derived/pyclnf/1``: NumPy exports of the PDMs, CCNF sigma
components and eye/inner models, plus the CEN ``.dat`` files and the validator linked as they are),
which ``pyclnf.models.ensure_models`` builds from OpenFace's originals found through
``OPENFACE_MODELS_DIR``. ensure_models checks every original against the SHA-256 of OpenFace
2.2.0's *real* CEN experts, which the synthetic stand-ins (``$shared/openface/synthetic_cen``, the
experts of the ``openface-2.0.2-cen-synthetic`` dumps) cannot match. So the probe does what
ensure_models does, minus the checksums: it lays out ``originals/`` with symlinks (OpenFace's model
folder, the synthetic CEN files in place of the real ones), runs pyclnf's own exporters
(``pyclnf.models._derive.derive_all``) into pyparity's cache once, and passes that folder as
``CLNF(model_dir=...)``. Nothing is downloaded and nothing lands in the repository.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from pyparity.errors import ModelError
from pyparity.probe.shipped._cache import port_cache_dir, symlink

_M = "lib/local/LandmarkDetector/model/"
# OpenFace files pyclnf's exporters read (paths inside OpenFace's model folder).
_MODEL_FILES = (
    "pdms/In-the-wild_aligned_PDM_68.txt",
    "patch_experts/ccnf_patches_0.25_general.txt",
    "model_eye/pdms/pdm_28_l_eye_3D_closed.txt",
    "model_eye/pdms/pdm_28_eye_3D_closed.txt",
    "model_eye/patch_experts/left_ccnf_patches_1.00_synth_lid_.txt",
    "model_eye/patch_experts/left_ccnf_patches_1.50_synth_lid_.txt",
    "model_eye/patch_experts/ccnf_patches_1.00_synth_lid_.txt",
    "model_eye/patch_experts/ccnf_patches_1.50_synth_lid_.txt",
    "model_inner/pdms/pdm_51_inner.txt",
    "model_inner/patch_experts/ccnf_patches_1.00_inner.txt",
    "detection_validation/validator_cnn_68.txt",
)
_CEN_SCALES = ("0.25", "0.35", "0.50", "1.00")
_STAMP = "pyparity-probe.json"


def models_dir_for_pyclnf(models: str | os.PathLike, cen_dir: str | os.PathLike) -> Path:
    """pyclnf's model folder, derived (once, cached) from an OpenFace model folder and CEN files."""
    import pyclnf

    models, cen_dir = Path(models), Path(cen_dir)
    sources = {_M + f: models / f for f in _MODEL_FILES}
    sources.update({_M + f"patch_experts/cen_patches_{s}_of.dat": cen_dir / f"cen_patches_{s}_of.dat"
                    for s in _CEN_SCALES})
    missing = [str(p) for p in sources.values() if not p.is_file()]
    if missing:
        raise ModelError(f"{missing[0]}: missing (pyclnf's model folder is built from it)")
    key = {rel: [str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns] for rel, p in sources.items()}
    key["pyclnf"] = pyclnf.__version__
    root = port_cache_dir("pyclnf", json.dumps(key, sort_keys=True))
    ready = root / "derived"
    try:
        if json.loads((ready / _STAMP).read_text()) == key:
            return ready
    except (OSError, ValueError):
        pass
    originals = root / "originals"
    for rel, src in sources.items():
        symlink(src, originals / rel)
    from pyclnf.models import _derive

    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _derive.derive_all(originals, tmp)
        (tmp / _STAMP).write_text(json.dumps(key, sort_keys=True))
        if ready.exists():
            shutil.rmtree(ready)
        os.replace(tmp, ready)
    except OSError:
        if not (ready / _STAMP).is_file():  # another run won the race: use its folder
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ready


def build(models: str, cen_dir: str, **clnf_kwargs):
    """pyclnf.CLNF on that folder; ``clnf_kwargs`` as CLNF's (the probe fixes the CPU path)."""
    from pyclnf import CLNF

    model_dir = models_dir_for_pyclnf(models, cen_dir)
    # pyclnf prints progress lines while it loads; keep pyparity's output its own.
    with contextlib.redirect_stdout(io.StringIO()):
        return CLNF(model_dir=str(model_dir), **clnf_kwargs)
