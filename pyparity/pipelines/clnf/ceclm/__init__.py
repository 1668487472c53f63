"""CE-CLM: CLNF with CEN patch experts, several rotation hypotheses and early termination."""

from pyparity.pipelines.clnf.ceclm.fit import fit_face_ceclm
from pyparity.pipelines.clnf.ceclm.isolation import ceclm_fit_from_reference
from pyparity.pipelines.clnf.ceclm.model import CeclmModel, load_ceclm_model

__all__ = ["fit_face_ceclm", "ceclm_fit_from_reference", "CeclmModel", "load_ceclm_model"]
