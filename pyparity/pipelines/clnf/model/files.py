"""Parser of OpenFace's CLNF model description files.

`main_clnf_general.txt` (CLNF::Read) names the core model file and the hierarchical part models with
their landmark mappings and the detection validator; `clnf_general.txt` (CLNF::Read_CLNF) names the
PDM, the triangulations and the patch experts per scale. Relative paths are resolved against the
directory of the file that names them, as C++ does with boost::filesystem `root / location`.

API:
    read_main_model(path) -> MainModel       # main_clnf_general.txt (or a part's main_clnf_*.txt)
    read_clnf_model(path) -> ClnfModelFiles  # clnf_general.txt
    read_lines(path), clnf_entries(path), must_exist(p, named_in)   # the pieces ceclm_model reuses
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from pyparity.errors import ModelError


@dataclass(frozen=True)
class ClnfModelFiles:
    """What a `clnf_*.txt` file names (CLNF::Read_CLNF). Paths are absolute."""

    path: Path
    pdm: Path | None
    triangulations: Path | None
    patches_ccnf: tuple[Path, ...]       # one file per scale, in file order (scale 0 first)
    patches_svr: tuple[Path, ...] = ()
    patches_cen: tuple[Path, ...] = ()
    early_termination: Path | None = None


@dataclass(frozen=True)
class PartParameters:
    """FaceModelParameters overrides that CLNF::Read sets for a part model, by its name."""

    window_sizes_init: tuple[int, ...]
    window_sizes_small: tuple[int, ...]
    reg_factor: float
    sigma: float
    weight_factor: float
    validate_detections: bool = False
    refine_hierarchical: bool = False
    refine_parameters: bool = False


@dataclass(frozen=True)
class PartModel:
    """A `LandmarkDetector_part` line: the part's own main model and (main index, part index) pairs."""

    name: str
    main_path: Path
    model: "MainModel"
    mappings: tuple[tuple[int, int], ...]
    parameters: PartParameters


@dataclass(frozen=True)
class MainModel:
    """What a `main_clnf_*.txt` file names (CLNF::Read)."""

    path: Path
    clnf: ClnfModelFiles
    parts: tuple[PartModel, ...] = ()
    validator: Path | None = None
    face_det_conversion: Path | None = None
    eye_model: bool = False              # set by C++ when a left_eye_28/right_eye_28 part is present


# Default FaceModelParameters (window_sizes_init 11,9,7,5; reg 25, sigma 1.5, weight 0) are
# overridden per part name in CLNF::Read; parts not named there keep the defaults.
_DEFAULT_PART = PartParameters((11, 9, 7, 5), (0, 9, 7, 0), 25.0, 1.5, 0.0)
_PART_PARAMETERS = {
    "left_eye": PartParameters((5, 3), (5, 3), 0.1, 2.0, 0.0),
    "right_eye": PartParameters((5, 3), (5, 3), 0.1, 2.0, 0.0),
    "left_eye_28": PartParameters((3, 5, 9), (3, 5, 9), 0.5, 1.0, 0.0),
    "right_eye_28": PartParameters((3, 5, 9), (3, 5, 9), 0.5, 1.0, 0.0),
    "mouth": PartParameters((7, 7), (7, 7), 1.0, 2.0, 0.0),
    "brow": PartParameters((11, 9), (11, 9), 10.0, 3.5, 0.0),
    "inner": PartParameters((9,), (9,), 2.5, 1.75, 2.5),
}


def part_parameters(name: str) -> PartParameters:
    """The parameter overrides CLNF::Read applies to a part model called `name`."""
    return _PART_PARAMETERS.get(name, _DEFAULT_PART)


def read_lines(path: Path) -> list[str]:
    try:
        text = path.read_bytes().decode("latin-1")
    except OSError as e:
        raise ModelError(f"{path}: cannot read model description file ({e.strerror})") from None
    # std::getline splits on '\n'; C++ strips one trailing '\r' from the location only, but
    # stripping it from the whole line is equivalent for every field we read.
    return [ln[:-1] if ln.endswith("\r") else ln for ln in text.split("\n")]


def must_exist(p: Path, named_in: Path) -> Path:
    if not p.is_file():
        raise ModelError(f"{named_in}: names {p}, which does not exist")
    return p


def clnf_entries(path: Path) -> Iterator[tuple[str, str]]:
    """The (module, location) pairs of a `clnf_*.txt` file as CLNF::Read_CLNF splits its lines: the
    first word, then the rest of the line after one space (it may contain spaces); blank lines skipped."""
    for line in read_lines(path):
        parts = line.lstrip().split(maxsplit=1)
        if not parts:
            continue
        module = parts[0]
        # C++: getline(lineStream, location) then erase the first character (the separating space)
        rest = line.lstrip()[len(module):]
        yield module, rest[1:] if rest else ""


def read_clnf_model(path: str | Path) -> ClnfModelFiles:
    """Parse a `clnf_*.txt` file as CLNF::Read_CLNF does: `MODULE location` per line, the location
    being the rest of the line after one space (it may contain spaces), relative to the file's folder."""
    path = Path(path).resolve()
    root = path.parent
    pdm = tris = early = None
    svr: list[Path] = []
    ccnf: list[Path] = []
    cen: list[Path] = []
    for module, location in clnf_entries(path):
        loc = root / location
        if module == "PDM":
            pdm = must_exist(loc, path)
        elif module == "Triangulations":
            tris = must_exist(loc, path)
        elif module == "PatchesIntensity":
            svr.append(must_exist(loc, path))
        elif module == "PatchesCCNF":
            ccnf.append(must_exist(loc, path))
        elif module == "PatchesCEN":
            cen.append(must_exist(loc, path))
        elif module == "EarlyTermination":
            early = must_exist(loc, path)
    if pdm is None:
        raise ModelError(f"{path}: no PDM line")
    if not (ccnf or svr or cen):
        raise ModelError(f"{path}: no patch expert lines (PatchesCCNF/PatchesIntensity/PatchesCEN)")
    return ClnfModelFiles(path, pdm, tris, tuple(ccnf), tuple(svr), tuple(cen), early)


def read_main_model(path: str | Path, read_core: Callable[[Path], ClnfModelFiles] | None = None,
                    part_error_line: bool = False) -> MainModel:
    """Parse a `main_clnf_*.txt` file as CLNF::Read does (whitespace-separated fields, locations
    relative to the file's folder), reading the part models recursively (with the defaults).
    read_core reads the file the LandmarkDetector line names (default read_clnf_model; ceclm_model
    passes its `cen_general.txt` reader). part_error_line: a part line without a name or with an odd
    number of indices is one `malformed LandmarkDetector_part line` error quoting the line (ceclm_model's
    message) instead of the two specific ones."""
    if read_core is None:
        read_core = read_clnf_model
    path = Path(path).resolve()
    root = path.parent
    clnf = None
    parts: list[PartModel] = []
    validator = conversion = None
    eye_model = False
    for line in read_lines(path):
        fields = line.split()
        if len(fields) < 2:
            continue
        module, location = fields[0], fields[1]
        loc = root / location
        if module == "LandmarkDetector":
            clnf = read_core(must_exist(loc, path))
        elif module == "LandmarkDetector_part":
            if part_error_line and (len(fields) < 3 or (len(fields) - 3) % 2):
                raise ModelError(f"{path}: malformed LandmarkDetector_part line: {line.strip()[:80]}")
            if len(fields) < 3:
                raise ModelError(f"{path}: LandmarkDetector_part line without a part name")
            name = fields[2]
            nums = fields[3:]
            if len(nums) % 2:
                raise ModelError(f"{path}: part {name} has an odd number of mapping indices")
            try:
                idx = [int(v) for v in nums]
            except ValueError:
                raise ModelError(f"{path}: part {name} has a non-integer mapping index") from None
            mappings = tuple(zip(idx[0::2], idx[1::2]))
            sub = read_main_model(must_exist(loc, path))
            parts.append(PartModel(name, loc.resolve(), sub, mappings, part_parameters(name)))
            if name in ("left_eye_28", "right_eye_28"):
                eye_model = True
        elif module == "DetectionValidator":
            validator = must_exist(loc, path)
        elif module == "FaceDetConversion":
            conversion = loc
    if clnf is None:
        raise ModelError(f"{path}: no LandmarkDetector line")
    return MainModel(path, clnf, tuple(parts), validator, conversion, eye_model)
