"""The model manager: a per-user cache of licensed model files, fetched, verified and located.

Layout of the cache root (``$PYPARITY_CACHE_DIR``, else ``$XDG_CACHE_HOME/pyparity``, else
``~/.cache/pyparity``)::

    openface-2.2.0/model/            laid out like OpenFace's lib/local/LandmarkDetector/model/
    openface-2.2.0/AU_predictors/    laid out like OpenFace's lib/local/FaceAnalyser/AU_predictors/
    openface-2.2.0/synthetic_cen/    the synthetic CE-CLM experts (mirror only)
    img2pose/pose_references/        img2pose's 3D reference points
    licences/<id>.accepted.json      one record per accepted licence
    verified.json                    path -> (size, mtime_ns, inode, sha256) of files already hashed

``$PYPARITY_MODEL_DIR``, when set, is used as the OpenFace model folder instead of the cache's, and
``$PYPARITY_AU_DIR`` as the AU_predictors folder.

Verification is by size and sha256 against the manifest (``pyparity/models/openface-2.2.0.toml``, package data). Hashing
is done once per file version: ``verified.json`` remembers the stat signature of every file whose
hash was checked, so ``openface_model_dir()`` costs a few ``stat`` calls, not 35 MB of hashing.

Installing files (``fetch``, licences) is `pyparity.models.install`.
"""

from __future__ import annotations

import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from pyparity.errors import ModelError
from pyparity.models.manifest import Manifest, ModelFile, load_manifest

__all__ = [
    "cache_root", "group_dir", "openface_model_dir", "openface_au_dir", "verified_group_dir", "verified_openface_dir",
    "synthetic_cen_dir", "img2pose_dir", "model_path", "verify", "list_models", "select", "manifest", "FileStatus",
]

_manifest_cache: dict[str, Manifest] = {}
_stamps: dict[str, list] | None = None
_stamps_file: Path | None = None


def manifest(path: str | os.PathLike | None = None) -> Manifest:
    """The manifest (loaded once per process and path)."""
    from pyparity.models.manifest import default_manifest_path

    key = str(Path(path) if path is not None else default_manifest_path())
    if key not in _manifest_cache:
        _manifest_cache[key] = load_manifest(key)
    return _manifest_cache[key]


def cache_root() -> Path:
    env = os.environ.get("PYPARITY_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "pyparity"


# groups whose folder an environment variable may point elsewhere (still checked against the manifest)
DIR_OVERRIDES = {"openface": "PYPARITY_MODEL_DIR", "openface_au": "PYPARITY_AU_DIR"}


def group_dir(group: str, m: Manifest | None = None) -> Path:
    """Where a group's files live: the cache folder, or the folder its DIR_OVERRIDES variable names."""
    m = m or manifest()
    if group not in m.groups:
        raise ModelError(f"unknown model group {group!r} (known: {', '.join(m.groups)})")
    env = os.environ.get(DIR_OVERRIDES[group], "").strip() if group in DIR_OVERRIDES else ""
    if env:
        return Path(env).expanduser()
    return cache_root() / m.groups[group].cache_dir


# --------------------------------------------------------------------------------------------------
# Hash stamps: hash a file version once, then trust its stat signature.

def _stamp_path() -> Path:
    return cache_root() / "verified.json"


def load_stamps() -> dict[str, list]:
    global _stamps, _stamps_file
    sp = _stamp_path()
    if _stamps is None or _stamps_file != sp:
        try:
            data = json.loads(sp.read_text(encoding="utf-8"))
            _stamps = data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            _stamps = {}
        _stamps_file = sp
    return _stamps


def save_stamps() -> None:
    if _stamps is None or _stamps_file is None:
        return
    try:
        from pyparity.atomic import write_text_atomic

        write_text_atomic(_stamps_file, json.dumps(_stamps, indent=0, sort_keys=True))
    except OSError:
        pass  # a read-only cache only costs re-hashing in the next process


def file_signature(st: os.stat_result) -> list:
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _clear_process_caches() -> None:
    """Forget what this process loaded (tests that change environment variables call this)."""
    global _stamps, _stamps_file
    _manifest_cache.clear()
    _stamps, _stamps_file = None, None


@dataclass(frozen=True)
class FileStatus:
    file: ModelFile
    path: Path
    status: str          # ok | missing | size mismatch | sha256 mismatch | not fetched
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "not fetched")

    @property
    def message(self) -> str:
        return f"{self.file.key}: {self.status}" + (f" ({self.detail})" if self.detail else "") + f" at {self.path}"


def check_file(f: ModelFile, p: Path, deep: bool, stamps: dict[str, list]) -> tuple[FileStatus, bool]:
    """Check one file; returns (status, stamps changed)."""
    try:
        st = p.stat()
    except OSError:
        return FileStatus(f, p, "missing"), False
    if not p.is_file():
        return FileStatus(f, p, "missing", "not a regular file"), False
    if st.st_size != f.size:
        return FileStatus(f, p, "size mismatch", f"{st.st_size} bytes, expected {f.size}"), False
    key = str(p.resolve())
    sig = file_signature(st)
    known = stamps.get(key)
    if not deep and known is not None and known[:3] == sig and known[3] == f.sha256:
        return FileStatus(f, p, "ok"), False
    from pyparity.models.manifest import sha256_file

    try:
        digest = sha256_file(p)
    except OSError as exc:
        return FileStatus(f, p, "missing", f"unreadable: {exc.strerror or exc}"), False
    if digest != f.sha256:
        stamps.pop(key, None)
        return FileStatus(f, p, "sha256 mismatch", f"got {digest[:12]}…, expected {f.sha256[:12]}…"), True
    stamps[key] = sig + [digest]
    return FileStatus(f, p, "ok"), known != stamps[key]


def _check_many(files: Iterable[ModelFile], deep: bool, m: Manifest, optional_absent_ok: bool,
                folder: Path | None = None) -> list[FileStatus]:
    stamps = load_stamps()
    out, changed = [], False
    for f in files:
        p = (folder if folder is not None else group_dir(f.group, m)) / f.name
        s, ch = check_file(f, p, deep, stamps)
        changed |= ch
        if s.status == "missing" and not s.detail and optional_absent_ok and not m.groups[f.group].default:
            s = FileStatus(f, p, "not fetched")
        out.append(s)
    if changed:
        save_stamps()
    return out


# --------------------------------------------------------------------------------------------------
# Selection

def select(names: Sequence[str] | None = None, all_groups: bool = False, m: Manifest | None = None) -> list[ModelFile]:
    """Manifest entries chosen by globs (matched against ``group/name``, ``name`` and the upstream path).

    No globs: the default groups' files (``all_groups``: every file). A glob that matches nothing is an error.
    """
    m = m or manifest()
    if not names:
        return [f for f in m.files if all_groups or m.groups[f.group].default]
    chosen: dict[str, ModelFile] = {}
    for g in names:
        hits = [f for f in m.files
                if any(fnmatch.fnmatchcase(s, g) for s in (f.key, f.name, f.path, f.group))]
        if not hits:
            if any(fnmatch.fnmatchcase(u.key, g) or fnmatch.fnmatchcase(u.name, g) for u in m.unpinned):
                raise ModelError(f"{g!r} names a file with no pinned checksum, which pyparity cannot fetch or "
                                 "verify (see `pyparity models list --all`)")
            raise ModelError(f"no model file matches {g!r} (see `pyparity models list --all`)")
        for f in hits:
            chosen.setdefault(f.key, f)
    return [f for f in m.files if f.key in chosen]


# --------------------------------------------------------------------------------------------------
# Public queries

def verify(names: Sequence[str] | None = None, all_groups: bool = False, deep: bool = True) -> list[FileStatus]:
    """Status of each selected file (default: every file; absent files of optional groups are
    "not fetched", which is not a failure). ``deep``: hash every file even if its stamp is current."""
    m = manifest()
    files = select(names, all_groups=True, m=m) if names else list(m.files)
    return _check_many(files, deep=deep, m=m, optional_absent_ok=not names and not all_groups)


def list_models(all_groups: bool = True) -> list[FileStatus]:
    """Status of every manifest file, cheaply (hashes only files never hashed in this version)."""
    m = manifest()
    return _check_many(select(None, all_groups=all_groups, m=m), deep=False, m=m, optional_absent_ok=True)


def _require(group: str, files: Sequence[ModelFile] | None = None, folder: Path | None = None) -> Path:
    m = manifest()
    d = folder if folder is not None else group_dir(group, m)
    statuses = _check_many(files if files is not None else m.group_files(group), deep=False, m=m,
                           optional_absent_ok=False, folder=folder)
    bad = [s for s in statuses if not s.ok]
    if bad:
        var = DIR_OVERRIDES.get(group, "")
        overridden = bool(var) and bool(os.environ.get(var, "").strip())
        where = f"model folder {d}" if folder is not None else f"{var}={d}" if overridden else str(d)
        missing = [s for s in bad if s.status == "missing"]
        first = bad[0]
        what = (f"{first.file.name}: {first.status}" + (f" ({first.detail})" if first.detail else "")
                + (f" and {len(bad) - 1} more file(s) are missing or corrupt" if len(bad) > 1 else ""))
        how = ("run `pyparity models fetch" + (f" --only '{group}/*'" if not m.groups[group].default else "")
               + "` (add --from DIR to copy from a local mirror)")
        if folder is not None:
            how = f"give an intact copy of {_FOLDER_KINDS.get(group, 'the folder')}, or none and " + how
        elif overridden:
            how = f"point {var} at an intact copy of OpenFace's folder, or unset it and " + how
        if missing and len(missing) == len(bad) and len(bad) == len(statuses):
            raise ModelError(f"{group} model files are not installed in {where} (none of its {len(bad)} files: "
                             f"{first.file.name}, ...): {how}")
        raise ModelError(f"{where}: {what}; {how}")
    return d


def openface_model_dir() -> Path:
    """The verified folder laid out like OpenFace's ``model/`` folder (``.../mtcnn_detector/PNet.dat``).

    ``$PYPARITY_MODEL_DIR`` if set, else the cache's copy. Raises ``ModelError`` (one line, telling
    the user to run ``pyparity models fetch``) when a file is missing or fails its size/sha256 check.
    """
    return _require("openface")


def openface_au_dir() -> Path:
    """The verified folder laid out like OpenFace's ``lib/local/FaceAnalyser/AU_predictors/``
    (``main_static_svms.txt``, ``svr_combined/...``). ``$PYPARITY_AU_DIR`` if set, else the cache's copy;
    ``ModelError`` (telling the user to run ``pyparity models fetch``) when a file is missing or corrupt."""
    return _require("openface_au")


_FOLDER_KINDS = {"openface": "OpenFace's model folder (main_clnf_general.txt, mtcnn_detector/, patch_experts/, ...)",
                 "openface_au": "OpenFace's AU_predictors folder (main_static_svms.txt, svr_combined/, ...)"}


def verified_group_dir(group: str, folder: str | os.PathLike) -> Path:
    """A folder given for a model group (``--model-dir``, ``--au-dir``), checked exactly as the folder of
    its environment variable (``DIR_OVERRIDES``) is: every file of the manifest's group present with its
    size and sha256 (hashed once per file version). ``ModelError`` naming the first missing or corrupt file."""
    d = Path(folder).expanduser()
    if not d.is_dir():
        raise ModelError(f"model folder {d} does not exist (or is not a folder); expected "
                         f"{_FOLDER_KINDS.get(group, group)}")
    return _require(group, folder=d)


def verified_openface_dir(folder: str | os.PathLike) -> Path:
    """`verified_group_dir` for OpenFace's model folder (what ``$PYPARITY_MODEL_DIR`` names)."""
    return verified_group_dir("openface", folder)


def synthetic_cen_dir() -> Path:
    """The verified folder of synthetic CEN experts (``cen_patches_0.25_of.dat``, ...,
    ``no_early_termination/early_term_cen_of.txt``), laid out like ../shared/openface/synthetic_cen."""
    return _require("synthetic_cen")


def img2pose_dir() -> Path:
    """The verified img2pose data folder (``pose_references/reference_3d_68_points_trans.npy``, ...)."""
    return _require("img2pose")


def model_path(relpath: str) -> Path:
    """The verified path of one file: ``"mtcnn_detector/PNet.dat"`` (OpenFace model-relative),
    ``"model/..."`` or ``"lib/local/LandmarkDetector/model/..."`` (OpenFace-relative), or a key
    ``"group/name"`` (``"img2pose/pose_references/reference_3d_5_points_trans.npy"``)."""
    m = manifest()
    rel = relpath.replace("\\", "/")
    while rel.startswith("./"):
        rel = rel[2:]
    candidates = [rel]
    for prefix in ("lib/local/LandmarkDetector/model/", "model/"):
        if rel.startswith(prefix):
            candidates.append("openface/" + rel[len(prefix):])
    for prefix in ("lib/local/FaceAnalyser/AU_predictors/", "AU_predictors/"):
        if rel.startswith(prefix):
            candidates.append("openface_au/" + rel[len(prefix):])
    candidates.append("openface/" + rel)
    keys = m.by_key()
    for c in candidates:
        f = keys.get(c)
        if f is not None:
            _require(f.group, [f])
            return group_dir(f.group, m) / f.name
    for f in m.files:
        if f.path == rel:
            _require(f.group, [f])
            return group_dir(f.group, m) / f.name
    raise ModelError(f"{relpath!r} is not a model file pyparity knows (see `pyparity models list --all`)")
