"""The model manifest: which licensed model files pyparity uses, where they come from, their checksums.

OpenFace's model files (academic, non-commercial licence) and img2pose's data files (CC BY-NC 4.0)
are never committed to the project; ``openface-2.2.0.toml`` beside this module (package data) pins
them instead (format in ``docs/models.md``). This module reads that file into plain dataclasses and can regenerate it from
local folders, so that the pins are reproducible::

    python -m pyparity.models.manifest --openface ../shared/openface/model \\
        --au ../shared/openface/cpp-2.0.2/lib/local/FaceAnalyser/AU_predictors \\
        --synthetic-cen ../shared/openface/synthetic_cen --img2pose ../shared/img2pose \\
        --out pyparity/models/openface-2.2.0.toml

Vocabulary: a *group* is a set of files that share a licence and a cache folder (``openface``,
``openface_au``, ``synthetic_cen``, ``img2pose``); a file's *name* is its path inside the group's folder (for
``openface``, inside OpenFace's ``model/`` folder: ``mtcnn_detector/PNet.dat``); its *key* is
``group/name``; its *path* is where it lives in the upstream repository.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StringConstraints

from pyparity.errors import ModelError
from pyparity.tomlfile import Strict, read_toml, validate

FORMAT = "pyparity-model-manifest"
FORMAT_VERSION = 1
DEFAULT_MANIFEST_NAME = "openface-2.2.0.toml"

__all__ = [
    "Licence", "Group", "ModelFile", "Unpinned", "Manifest",
    "default_manifest_path", "load_manifest", "build_manifest", "manifest_to_toml", "sha256_file",
]


@dataclass(frozen=True)
class Licence:
    id: str
    title: str
    url: str
    summary: str


@dataclass(frozen=True)
class Group:
    id: str
    description: str
    licence: str
    cache_dir: str            # relative to the cache root
    default: bool             # fetched and verified without --only/--all
    mirror_layouts: tuple[str, ...]   # where a file may sit in a --from folder ("{name}" is substituted)


@dataclass(frozen=True)
class ModelFile:
    group: str
    name: str
    path: str                 # upstream-repository-relative
    size: int
    sha256: str
    urls: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class Unpinned:
    """A file known upstream but with no checksum we could pin (never fetched; listed for the user)."""

    group: str
    name: str
    path: str
    urls: tuple[str, ...]
    note: str

    @property
    def key(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class Manifest:
    source: Path | None
    licences: dict[str, Licence]
    groups: dict[str, Group]
    files: tuple[ModelFile, ...]
    unpinned: tuple[Unpinned, ...] = field(default=())

    def group_files(self, group: str) -> list[ModelFile]:
        return [f for f in self.files if f.group == group]

    def by_key(self) -> dict[str, ModelFile]:
        return {f.key: f for f in self.files}


def default_manifest_path() -> Path:
    """``$PYPARITY_MANIFEST`` if set, else the manifest shipped beside this module (package data: the
    same file in a checkout, an editable install and a wheel)."""
    env = os.environ.get("PYPARITY_MANIFEST", "").strip()
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().with_name(DEFAULT_MANIFEST_NAME)


Sha256 = Annotated[str, BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
                   StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _LicenceTable(Strict):
    title: str
    url: str
    summary: str


class _GroupTable(Strict):
    description: str
    licence: str
    cache_dir: str
    default: bool
    mirror_layouts: list[str]


class _FileTable(Strict):
    group: str
    name: str
    path: str
    size: Annotated[int, Field(ge=0)]
    sha256: Sha256
    urls: list[str] = []


class _UnpinnedTable(Strict):
    group: str
    name: str
    path: str
    urls: list[str] = []
    note: str = ""


class ManifestFile(Strict):
    """The manifest's schema (format in docs/models.md); `load_manifest` checks the cross-references."""

    MESSAGES = {"format": f"not a {FORMAT} version {FORMAT_VERSION} file",
                "version": f"not a {FORMAT} version {FORMAT_VERSION} file",
                "file.*.sha256": "[[file]] #{i}: sha256 must be 64 hex digits"}
    format: Literal["pyparity-model-manifest"]
    version: Literal[1]
    licences: dict[str, _LicenceTable] = {}
    groups: dict[str, _GroupTable] = {}
    file: list[_FileTable] = []
    unpinned: list[_UnpinnedTable] = []


def load_manifest(path: str | os.PathLike | None = None) -> Manifest:
    """Read and check a manifest; every problem is a one-line ``ModelError`` naming the file."""
    p = Path(path) if path is not None else default_manifest_path()
    raw = read_toml(p, "model manifest", ModelError,
                    missing="model manifest not found (set PYPARITY_MANIFEST or reinstall pyparity)")
    m = validate(ManifestFile, raw, str(p), ModelError)
    licences = {lid: Licence(lid, d.title, d.url, d.summary) for lid, d in m.licences.items()}
    groups = {}
    for gid, d in m.groups.items():
        if d.licence not in licences:
            raise ModelError(f"{p}: [groups.{gid}]: unknown licence {d.licence!r}")
        groups[gid] = Group(gid, d.description, d.licence, d.cache_dir, d.default, tuple(d.mirror_layouts))
    files = []
    seen = set()
    for i, d in enumerate(m.file):
        w = f"{p}: [[file]] #{i + 1}"
        f = ModelFile(d.group, d.name, d.path, d.size, d.sha256, tuple(d.urls))
        if f.group not in groups:
            raise ModelError(f"{w}: unknown group {f.group!r}")
        if Path(f.name).is_absolute() or ".." in Path(f.name).parts:
            raise ModelError(f"{w}: {f.name}: name must be a relative path inside the group folder")
        if f.key in seen:
            raise ModelError(f"{w}: {f.key} is listed twice")
        seen.add(f.key)
        files.append(f)
    unpinned = tuple(Unpinned(d.group, d.name, d.path, tuple(d.urls), d.note) for d in m.unpinned)
    return Manifest(p, licences, groups, tuple(files), unpinned)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            b = fh.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


# ---------------------------------------------------------------------------------------------------
# Building the manifest from local folders (the metadata that cannot be computed lives here).

OPENFACE_TAG = "OpenFace_2.2.0"
OPENFACE_PREFIX = "lib/local/LandmarkDetector/model/"
OPENFACE_AU_PREFIX = "lib/local/FaceAnalyser/AU_predictors/"
OPENFACE_RAW = f"https://raw.githubusercontent.com/TadasBaltrusaitis/OpenFace/{OPENFACE_TAG}/"
IMG2POSE_COMMIT = "fd5473efb83d78c530afc7db12b7c2aa631ea5cb"
IMG2POSE_RAW = f"https://raw.githubusercontent.com/vitoralbiero/img2pose/{IMG2POSE_COMMIT}/"
IMG2POSE_FILES = ("pose_references/reference_3d_68_points_trans.npy", "pose_references/reference_3d_5_points_trans.npy")

LICENCES = {
    "openface": Licence(
        "openface",
        "OpenFace software licence agreement (Carnegie Mellon University): academic or non-profit "
        "organisation, non-commercial research use only",
        f"https://github.com/TadasBaltrusaitis/OpenFace/blob/{OPENFACE_TAG}/OpenFace-license.txt",
        "OpenFace's model files are licensed, not sold, by Carnegie Mellon University for your own "
        "non-commercial internal research only. You may not redistribute, sell, rent, sublicense or give "
        "third parties access to them; derivatives you make are owned by the licensor and fall under the "
        "same terms. Commercial use needs a separate licence from CMU. The files are provided as-is, "
        "without warranty. pyparity never ships them: it downloads or copies them into your per-user cache.",
    ),
    "img2pose": Licence(
        "img2pose",
        "Creative Commons Attribution-NonCommercial 4.0 International (CC BY-NC 4.0), img2pose "
        "(Albiero et al., CVPR 2021)",
        f"https://github.com/vitoralbiero/img2pose/blob/{IMG2POSE_COMMIT}/license.md",
        "img2pose's model and data files may be used and shared for non-commercial purposes only, "
        "with attribution to the authors (cite the img2pose paper); no commercial use. Provided as-is, "
        "without warranty.",
    ),
}

GROUPS = {
    "openface": Group(
        "openface",
        "OpenFace 2.2.0's model folder (lib/local/LandmarkDetector/model/): MTCNN, CLNF/CE-CLM main "
        "files, PDMs, CCNF/SVR patch experts, inner-face and eye part models, validators, triangulations",
        "openface", "openface-2.2.0/model", True,
        ("{name}", "model/{name}", OPENFACE_PREFIX + "{name}", "openface/model/{name}"),
    ),
    # FaceAnalyser's models live outside the landmark model folder, so a mirror folder may be the
    # AU_predictors folder itself, an OpenFace checkout, ../shared, or the landmark model folder of
    # ../shared (openface/model -> openface/cpp-2.0.2/...) or of a checkout (its ../../FaceAnalyser/...):
    # `pyparity models fetch --from <model folder>` then finds both groups.
    "openface_au": Group(
        "openface_au",
        "OpenFace 2.2.0's action-unit models (lib/local/FaceAnalyser/AU_predictors/): the static and dynamic "
        "linear SVR/SVM files and their lists, the AU PDM and triangulation (FaceAnalyser)",
        "openface", "openface-2.2.0/AU_predictors", True,
        ("{name}", "AU_predictors/{name}", OPENFACE_AU_PREFIX + "{name}",
         "cpp-2.0.2/" + OPENFACE_AU_PREFIX + "{name}", "openface/cpp-2.0.2/" + OPENFACE_AU_PREFIX + "{name}",
         "../cpp-2.0.2/" + OPENFACE_AU_PREFIX + "{name}", "../../FaceAnalyser/AU_predictors/{name}"),
    ),
    "synthetic_cen": Group(
        "synthetic_cen",
        "Synthetic CE-CLM patch experts derived from OpenFace's CCNF files (../shared/openface/synthetic_cen, "
        "see its README): no official URL, local mirror only; used by the openface-2.0.2-cen-synthetic dumps",
        "openface", "openface-2.2.0/synthetic_cen", False,
        ("{name}", "synthetic_cen/{name}", "openface/synthetic_cen/{name}", "../synthetic_cen/{name}"),
    ),
    "img2pose": Group(
        "img2pose",
        f"img2pose's 3D reference points (vitoralbiero/img2pose @ {IMG2POSE_COMMIT[:7]}, pose_references/)",
        "img2pose", "img2pose", False,
        ("{name}", "img2pose/{name}", "../img2pose/{name}", "../../img2pose/{name}"),
    ),
}

_CEN_DOWNLOADS = {  # OpenFace's download_models.sh / .ps1 (Dropbox first, OneDrive as the fallback)
    "0.25": ("https://www.dropbox.com/s/7na5qsjzz8yfoer/cen_patches_0.25_of.dat?dl=1",
             "https://onedrive.live.com/download?cid=2E2ADA578BFF6E6E&resid=2E2ADA578BFF6E6E%2153072&authkey=AKqoZtcN0PSIZH4"),
    "0.35": ("https://www.dropbox.com/s/k7bj804cyiu474t/cen_patches_0.35_of.dat?dl=1",
             "https://onedrive.live.com/download?cid=2E2ADA578BFF6E6E&resid=2E2ADA578BFF6E6E%2153079&authkey=ANpDR1n3ckL_0gs"),
    "0.50": ("https://www.dropbox.com/s/ixt4vkbmxgab1iu/cen_patches_0.50_of.dat?dl=1",
             "https://onedrive.live.com/download?cid=2E2ADA578BFF6E6E&resid=2E2ADA578BFF6E6E%2153074&authkey=AGi-e30AfRc_zvs"),
    "1.00": ("https://www.dropbox.com/s/2t5t1sdpshzfhpj/cen_patches_1.00_of.dat?dl=1",
             "https://onedrive.live.com/download?cid=2E2ADA578BFF6E6E&resid=2E2ADA578BFF6E6E%2153070&authkey=AD6KjtYipphwBPc"),
}

UNPINNED = tuple(
    [Unpinned("openface", f"patch_experts/cen_patches_{s}_of.dat", f"{OPENFACE_PREFIX}patch_experts/cen_patches_{s}_of.dat",
              urls, "trained CE-CLM experts, not in OpenFace's git tree: its download_models.sh fetches them from "
              "Dropbox/OneDrive; they could not be downloaded here, so no checksum is pinned (the CE-CLM dumps use "
              "the synthetic_cen group instead)")
     for s, urls in _CEN_DOWNLOADS.items()]
    + [Unpinned("img2pose", n, f"models/{n}", ("https://github.com/vitoralbiero/img2pose/wiki/Model-Zoo",),
                "released checkpoint / WIDER pose statistics, inside models.zip linked from the Model Zoo wiki page "
                "(not a direct download); not fetchable here, so no checksum is pinned (the img2pose dumps use "
                "synthetic weights and the pose mean/stddev in their meta.json)")
       for n in ("img2pose_v1.pth", "WIDER_train_pose_mean_v1.npy", "WIDER_train_pose_stddev_v1.npy")]
)


def _scan(folder: Path, group: str, path_prefix: str, url_prefix: str | None,
          only: tuple[str, ...] | None = None) -> list[ModelFile]:
    if not folder.is_dir():
        raise ModelError(f"{folder}: not a folder")
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and not p.name.startswith(".") and p.name not in ("README.md", "SHA256SUMS"))
    if only is not None:
        missing = [n for n in only if n not in names]
        if missing:
            raise ModelError(f"{folder}: missing {', '.join(missing)}")
        names = list(only)
    out = []
    for n in names:
        p = folder / n
        path = path_prefix + n
        out.append(ModelFile(group, n, path, p.stat().st_size, sha256_file(p),
                             (url_prefix + path,) if url_prefix else ()))
    return out


def build_manifest(openface: Path, synthetic_cen: Path | None = None, img2pose: Path | None = None,
                   au: Path | None = None) -> Manifest:
    """Pin every file of a local OpenFace model folder (+ its AU_predictors folder, the synthetic CEN
    and img2pose folders)."""
    files = _scan(Path(openface), "openface", OPENFACE_PREFIX, OPENFACE_RAW)
    if au is not None:
        files += _scan(Path(au), "openface_au", OPENFACE_AU_PREFIX, OPENFACE_RAW)
    if synthetic_cen is not None:
        files += _scan(Path(synthetic_cen), "synthetic_cen", "", None)
    if img2pose is not None:
        files += _scan(Path(img2pose), "img2pose", "", IMG2POSE_RAW, only=IMG2POSE_FILES)
    return Manifest(None, dict(LICENCES), dict(GROUPS), tuple(files), UNPINNED)


def _s(v) -> str:
    """A TOML value (JSON's string escapes are valid TOML basic-string escapes)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_s(x) for x in v) + "]"
    raise TypeError(type(v))


def manifest_to_toml(m: Manifest, header: str = "") -> str:
    lines = [f"# {ln}" if ln else "#" for ln in header.splitlines()]
    lines += [f"format = {_s(FORMAT)}", f"version = {FORMAT_VERSION}", ""]
    for lic in m.licences.values():
        lines += [f"[licences.{lic.id}]", f"title = {_s(lic.title)}", f"url = {_s(lic.url)}",
                  f"summary = {_s(lic.summary)}", ""]
    for g in m.groups.values():
        lines += [f"[groups.{g.id}]", f"description = {_s(g.description)}", f"licence = {_s(g.licence)}",
                  f"cache_dir = {_s(g.cache_dir)}", f"default = {_s(g.default)}",
                  f"mirror_layouts = {_s(list(g.mirror_layouts))}", ""]
    for f in m.files:
        lines += ["[[file]]", f"group = {_s(f.group)}", f"name = {_s(f.name)}", f"path = {_s(f.path)}",
                  f"size = {f.size}", f"sha256 = {_s(f.sha256)}", f"urls = {_s(list(f.urls))}", ""]
    for u in m.unpinned:
        lines += ["[[unpinned]]", f"group = {_s(u.group)}", f"name = {_s(u.name)}", f"path = {_s(u.path)}",
                  f"urls = {_s(list(u.urls))}", f"note = {_s(u.note)}", ""]
    return "\n".join(lines)


HEADER = """\
pyparity model manifest: the licensed model files pyparity uses, pinned by size and sha256.
The files themselves are NEVER committed (OpenFace: non-commercial licence, no redistribution;
img2pose: CC BY-NC 4.0). `pyparity models fetch` downloads or copies them into the per-user cache.
Generated by: python -m pyparity.models.manifest --openface DIR --au DIR --synthetic-cen DIR --img2pose DIR
(pins computed from ../shared/openface/model and its AU_predictors: same git blobs as OpenFace's tree).
Format: docs/models.md"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pyparity.models.manifest", description=__doc__.split("\n")[0])
    ap.add_argument("--openface", required=True, type=Path, help="a folder laid out like OpenFace's model/ folder")
    ap.add_argument("--au", type=Path, help="OpenFace's lib/local/FaceAnalyser/AU_predictors folder")
    ap.add_argument("--synthetic-cen", type=Path, help="the synthetic CEN folder (../shared/openface/synthetic_cen)")
    ap.add_argument("--img2pose", type=Path, help="a folder holding img2pose's pose_references/")
    ap.add_argument("--out", type=Path, help="write here (atomically) instead of stdout")
    a = ap.parse_args(argv)
    try:
        text = manifest_to_toml(build_manifest(a.openface, a.synthetic_cen, a.img2pose, a.au), HEADER)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if a.out is None:
        sys.stdout.write(text)
    else:
        from pyparity.atomic import write_text_atomic

        write_text_atomic(a.out, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
