"""The CE-CLM models on the synthetic CEN experts: {early termination off: ..., on: ...}."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def models(shared_dir, openface_model_dir):
    from pyparity.pipelines.clnf.ceclm import load_ceclm_model

    cen = shared_dir / "openface" / "synthetic_cen"
    return {False: load_ceclm_model(openface_model_dir, cen),
            True: load_ceclm_model(openface_model_dir, cen, cen / "no_early_termination" / "early_term_cen_of.txt")}
