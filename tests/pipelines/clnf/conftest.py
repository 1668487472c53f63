"""Fixtures the CLNF tests share: OpenFace's general CLNF model, its PDM, the synthetic CEN dumps."""

from __future__ import annotations

from pathlib import Path

import pytest

CEN_COLLECTION = "openface-2.0.2-cen-synthetic"  # C++ CE-CLM on the synthetic CEN experts


@pytest.fixture(scope="module")
def model(openface_model_dir):
    """main_clnf_general.txt, experts loaded on first use (`load_clnf_model`)."""
    from pyparity.pipelines.clnf.fitting import load_clnf_model

    return load_clnf_model(openface_model_dir / "main_clnf_general.txt")


@pytest.fixture(scope="module")
def pdm(openface_model_dir):
    from pyparity.pipelines.clnf.model import read_pdm

    return read_pdm(openface_model_dir / "pdms" / "In-the-wild_aligned_PDM_68.txt")


@pytest.fixture(scope="module")
def cen_dumps(shared_dir) -> Path:
    return shared_dir / "reference_dumps" / CEN_COLLECTION
