"""The OpenFace models with the AU models, shared by the image and AU tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def models(openface_model_dir, openface_au_dir):
    from pyparity.pipelines.openface import load_openface_models

    return load_openface_models(openface_model_dir, aus=True, au_dir=openface_au_dir)
