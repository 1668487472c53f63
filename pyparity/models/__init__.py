"""Model files: the manager of licensed upstream files (manifest, fetch, verify, cache) and synthetic weights.

Everyday API (details in ``pyparity.models.manager``, fetching in ``pyparity.models.install``)::

    from pyparity.models import openface_model_dir, model_path, fetch, verify, list_models
    d = openface_model_dir()          # verified folder laid out like OpenFace's model/ folder
    au = openface_au_dir()            # verified folder laid out like OpenFace's FaceAnalyser/AU_predictors/
    pnet = d / "mtcnn_detector" / "PNet.dat"
    fetch(from_dir="../shared/openface/model", accept_license=True)   # or `pyparity models fetch`

Pipelines take ``model_dir=`` explicitly; tests pass the ``openface_model_dir`` fixture (../shared).
"""

from __future__ import annotations

_EXPORTS = (
    "FetchResult", "FileStatus", "cache_root", "fetch", "img2pose_dir", "list_models", "model_path",
    "openface_au_dir", "openface_model_dir", "synthetic_cen_dir", "verified_openface_dir", "verify",
)
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    # Lazy, so `python -m pyparity.models.manifest` and `pyparity.models.synthetic_weights` do not
    # import the manager first.
    if name in _EXPORTS:
        from pyparity.models import install, manager

        return getattr(install if name in ("fetch", "FetchResult") else manager, name)
    raise AttributeError(f"module 'pyparity.models' has no attribute {name!r}")
