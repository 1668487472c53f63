"""What several specs share: verified model folders."""

from __future__ import annotations

from pathlib import Path


def checked_model_dir(model_dir, group: str = "openface", param: str = "model_dir") -> Path | None:
    """A given model folder checked against the model manifest exactly as ``$PYPARITY_MODEL_DIR``'s
    (``$PYPARITY_AU_DIR``'s for group ``openface_au``) is, size and sha256; None stays None (the pipeline
    asks the model manager, which checks too)."""
    if model_dir is None:
        return None
    from pyparity.errors import ModelError
    from pyparity.models.manager import verified_group_dir

    try:
        return verified_group_dir(group, model_dir)
    except ModelError as exc:
        raise ModelError(str(exc), param=param) from None
