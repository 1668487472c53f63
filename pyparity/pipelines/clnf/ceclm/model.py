"""The CE-CLM model description (`main_ceclm_general.txt` and the `cen_general.txt` it names), read as
CLNF::Read and CLNF::Read_CLNF do, with the CEN expert files taken from a folder of the caller's choice.

    m = load_ceclm_model(model_dir, cen_dir=None, early_term_path=None) -> CeclmModel
    m.clnf: detect.ClnfModel (PDM, the CCNF part models with their parameters, FitSettings of CE-CLM)
    m.experts: cen.CenPatchExperts; m.early_term: early_termination.EarlyTermination
    m.validator_path, m.cen_paths, m.early_term_path

`cen_general.txt` names `patch_experts/cen_patches_{0.25,0.35,0.50,1.00}_of.dat`; `cen_dir` replaces
their folder (the synthetic experts of ../shared/openface/synthetic_cen, say). `early_term_path`
replaces the `EarlyTermination` file. A missing or malformed file is a one-line error naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyparity.errors import InputError, ModelError
from pyparity.pipelines.clnf.experts.cen import CenPatchExperts, read_cen_patch_experts
from pyparity.pipelines.clnf.fitting.landmarks import ClnfModel
from pyparity.pipelines.clnf.ceclm.early_termination import EarlyTermination, read_early_termination
from pyparity.pipelines.clnf.fitting.fit import FitSettings
from pyparity.pipelines.clnf.model.files import ClnfModelFiles, clnf_entries, must_exist, read_main_model
from pyparity.pipelines.clnf.model.pdm import read_pdm

MAIN_FILE = "main_ceclm_general.txt"


@dataclass
class CeclmModel:
    clnf: ClnfModel                  # PDM, parts, settings, window sizes (11, 9, 7, 5)
    experts: CenPatchExperts
    early_term: EarlyTermination
    main_path: Path
    cen_paths: tuple[Path, ...]
    early_term_path: Path
    validator_path: Path | None
    face_det_conversion: Path | None

    # the attributes the image pipeline reads from a CCNF ClnfModel, so both models load alike
    @property
    def pdm(self):
        return self.clnf.pdm

    @property
    def parts(self) -> list:
        return self.clnf.parts

    @property
    def main(self) -> "CeclmMainInfo":
        return self.clnf.main


@dataclass(frozen=True)
class CeclmMainInfo:
    """What `main_ceclm_general.txt` names, with the field names of model_files.MainModel."""

    path: Path
    validator: Path | None
    face_det_conversion: Path | None
    parts: tuple


def ceclm_settings() -> FitSettings:
    """FaceModelParameters::init for a model whose stem is `main_ceclm_general`: sigma = 1.5f·1.5,
    reg_factor = 0.9f·25 (float), weight_factor 0, refine_parameters on."""
    return FitSettings(reg_factor=22.5, sigma=2.25, weight_factor=0.0, refine_parameters=True,
                       num_optimisation_iteration=5)


def _read_cen_general(path: Path, cen_dir: Path | None) -> ClnfModelFiles:
    """CLNF::Read_CLNF: `MODULE location` lines, location relative to the file's folder (the rest of
    the line after one space). PatchesCEN locations are redirected into cen_dir when given; the
    Triangulations line is not read, the EarlyTermination location is checked by the caller."""
    root = path.parent
    pdm = early = None
    cen: list[Path] = []
    for module, location in clnf_entries(path):
        if module == "PDM":
            pdm = must_exist(root / location, path)
        elif module == "PatchesCEN":
            p = (Path(cen_dir) / Path(location).name) if cen_dir is not None else root / location
            if not p.is_file():
                if cen_dir is not None:
                    raise InputError(f"CEN patch expert file {p.name} is missing from the CEN folder {cen_dir}")
                # OpenFace's git tree and model mirror lack the trained CEN files (download_models.sh
                # fetches them; `pyparity models list` shows their URLs)
                raise InputError(f"CEN patch expert file {p} (named in {path.name}) does not exist: install "
                                 f"OpenFace's trained CEN experts there, or give a CEN folder", param="cen_dir")
            cen.append(p)
        elif module == "EarlyTermination":
            early = root / location
        elif module in ("PatchesCCNF", "PatchesIntensity"):
            raise ModelError(f"{path}: a CE-CLM model names CEN experts only, found {module}")
    if pdm is None:
        raise ModelError(f"{path}: no PDM line")
    if not cen:
        raise ModelError(f"{path}: no PatchesCEN lines")
    return ClnfModelFiles(path, pdm, None, (), patches_cen=tuple(cen), early_termination=early)


def load_ceclm_model(model_dir=None, cen_dir=None, early_term_path=None) -> CeclmModel:
    """Read `model_dir/main_ceclm_general.txt` (model_dir: OpenFace's model folder, default the model
    manager's; a path to the main file itself is accepted too), the PDM, the CEN files (from cen_dir,
    default the folder cen_general.txt names: `patch_experts/` of the model folder), the
    early-termination file and the CCNF part models."""
    if model_dir is None:
        from pyparity.models import openface_model_dir
        model_dir = openface_model_dir()
    main_path = Path(model_dir)
    if main_path.is_dir():
        main_path = main_path / MAIN_FILE
    if not main_path.is_file():
        raise InputError(f"CE-CLM model description {main_path} does not exist")
    if cen_dir is not None and not Path(cen_dir).is_dir():
        raise InputError(f"CEN folder {cen_dir} does not exist")
    main_path = main_path.resolve()
    cen_folder = Path(cen_dir) if cen_dir is not None else None
    # CLNF::Read with the CEN core reader; the part models are CCNF (main_clnf_synth_*.txt), read
    # with the CCNF reader and parameters
    main = read_main_model(main_path, read_core=lambda p: _read_cen_general(p, cen_folder), part_error_line=True)
    core, parts = main.clnf, main.parts
    validator, conversion = main.validator, main.face_det_conversion
    experts = CenPatchExperts([read_cen_patch_experts(p) for p in core.patches_cen])
    et_path = Path(early_term_path) if early_term_path is not None else core.early_termination
    if et_path is None:
        raise ModelError(f"{main_path}: the CE-CLM model names no EarlyTermination file")
    if not et_path.is_file():
        raise InputError(f"early-termination file {et_path} does not exist")
    et = read_early_termination(et_path, experts.n_views)
    n_numbers = len(et_path.read_text(encoding="ascii", errors="replace").split())
    if n_numbers != 3 * experts.n_views:
        # C++ reads 3·n_views numbers whatever the file holds; a different count means the CEN files
        # and the early-termination file describe different view sets
        raise ModelError(f"{core.patches_cen[0]}: {experts.n_views} views, but {et_path} holds {n_numbers} numbers "
                         f"(3 per view: weights, biases, cutoffs)")
    pdm = read_pdm(core.pdm)
    for p in parts:
        for mi, _ in p.mappings:
            if not 0 <= mi < pdm.n_points:
                raise ModelError(f"{main_path}: part {p.name} maps landmark {mi}, outside the PDM "
                                 f"({pdm.n_points} points)")
    info = CeclmMainInfo(main_path, validator, conversion, tuple(parts))
    clnf = ClnfModel(pdm, info, window_sizes=(11, 9, 7, 5), settings=ceclm_settings(),
                     parts=[(p, read_pdm(p.model.clnf.pdm)) for p in parts])
    clnf._experts["main"] = experts       # the CEN experts stand where a CCNF model keeps its own
    clnf.load_experts()                   # the parts' CCNF experts now: a bad file fails the load
    return CeclmModel(clnf, experts, et, main_path, core.patches_cen, et_path, validator, conversion)
