"""Installing licensed model files into the cache: licences accepted once, files copied from a local
mirror (``--from``) or downloaded, checked against the manifest's size and sha256, all or nothing.

``fetch`` first writes every file into a staging folder inside the cache root and checks it there
(size capped at the pinned size while it streams, then the sha256); only when all passed are they
renamed (atomically) into place. A failure (wrong checksum, missing file, unreachable URL, Ctrl-C)
leaves the cache as it was. Where files live and how they are verified later is `pyparity.models.manager`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Sequence

from pyparity.errors import ModelError
from pyparity.models import manager
from pyparity.models.manifest import Licence, Manifest, ModelFile

__all__ = ["fetch", "licence_accepted", "accept_licence", "licences_to_accept", "not_accepted_message",
           "FetchResult", "DOWNLOAD_TIMEOUT_S"]

DOWNLOAD_TIMEOUT_S = 10.0
_CHUNK = 1 << 20
ProgressFn = Callable[[ModelFile, int, int], None]   # (file, bytes done for this file, file size)
PromptFn = Callable[[Licence], bool]


# --------------------------------------------------------------------------------------------------
# Licences

def _licence_record(lid: str) -> Path:
    return manager.cache_root() / "licences" / f"{lid}.accepted.json"


def licence_accepted(lid: str) -> bool:
    m = manager.manifest()
    p = _licence_record(lid)
    try:
        rec = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    lic = m.licences.get(lid)
    return isinstance(rec, dict) and lic is not None and rec.get("url") == lic.url


def accept_licence(lid: str) -> None:
    from pyparity.atomic import write_text_atomic

    lic = manager.manifest().licences[lid]
    rec = {"licence": lid, "title": lic.title, "url": lic.url,
           "accepted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    try:
        write_text_atomic(_licence_record(lid), json.dumps(rec, indent=2) + "\n")
    except OSError as exc:
        raise ModelError(f"{_licence_record(lid)}: cannot record the licence acceptance: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------------
# Fetching

@dataclass(frozen=True)
class FetchResult:
    fetched: tuple[tuple[ModelFile, str], ...]   # (file, source: a mirror path or a URL)
    already: tuple[ModelFile, ...]
    licences_accepted: tuple[str, ...]


def _copy_stream(src: BinaryIO, dst: BinaryIO, f: ModelFile, progress: ProgressFn | None, what: str):
    """Copy and hash; stops as soon as more than the pinned size arrives. Returns (size, sha256)."""
    import hashlib

    h = hashlib.sha256()
    n = 0
    if progress:
        progress(f, 0, f.size)
    while True:
        b = src.read(_CHUNK)
        if not b:
            break
        n += len(b)
        if n > f.size:
            raise ModelError(f"{f.key}: {what} is larger than the pinned {f.size} bytes")
        h.update(b)
        dst.write(b)
        if progress:
            progress(f, n, f.size)
    return n, h.hexdigest()


def _check_digest(f: ModelFile, n: int, digest: str, what: str) -> None:
    if n != f.size:
        raise ModelError(f"{f.key}: {what} has {n} bytes, the manifest pins {f.size}")
    if digest != f.sha256:
        raise ModelError(f"{f.key}: {what} fails its sha256 check (got {digest[:16]}…, expected "
                         f"{f.sha256[:16]}…); refusing to install it")


def _mirror_candidates(f: ModelFile, from_dirs: Sequence[Path], m: Manifest) -> list[Path]:
    out = []
    for d in from_dirs:
        for layout in m.groups[f.group].mirror_layouts:
            p = Path(os.path.normpath(Path(d) / layout.format(name=f.name)))
            if p.is_file() and p not in out:
                out.append(p)
    return out


def _stage_from_mirror(f: ModelFile, srcs: list[Path], tmp: Path, progress: ProgressFn | None) -> str:
    errors = []
    for src in srcs:
        try:
            with open(src, "rb") as fi, open(tmp, "wb") as fo:
                n, digest = _copy_stream(fi, fo, f, progress, str(src))
                fo.flush()
                os.fsync(fo.fileno())
            _check_digest(f, n, digest, str(src))
            return str(src)
        except ModelError as exc:
            errors.append(str(exc))
        except OSError as exc:
            errors.append(f"{f.key}: cannot read {src}: {exc.strerror or exc}")
    raise ModelError(errors[0] if len(errors) == 1 else "; ".join(errors))


def _stage_from_urls(f: ModelFile, tmp: Path, progress: ProgressFn | None, timeout: float) -> str:
    if not f.urls:
        raise ModelError(f"{f.key}: not found in the mirror folder(s) and it has no official download URL; "
                         "copy it with `pyparity models fetch --from DIR`")
    last = ""
    for url in f.urls:
        try:
            req = urllib.request.Request(url, headers={"User-Agent": "pyparity-model-manager"})
            with urllib.request.urlopen(req, timeout=timeout) as resp, open(tmp, "wb") as fo:
                n, digest = _copy_stream(resp, fo, f, progress, url)
                fo.flush()
                os.fsync(fo.fileno())
            _check_digest(f, n, digest, f"the download from {url}")
            return url
        except ModelError:
            raise  # a wrong checksum from the official URL is not something a retry fixes
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            last = f"{url}: {reason}"
    raise ModelError(f"{f.key}: cannot download ({last}); no network? copy from a local mirror with "
                     "`pyparity models fetch --from DIR`")


def _cache_dest(f: ModelFile) -> Path:
    return manager.cache_root() / manager.manifest().groups[f.group].cache_dir / f.name


def _partition(wanted: Sequence[ModelFile], force: bool, m: Manifest) -> tuple[list[ModelFile], list[ModelFile]]:
    """(to install, already installed and verified) -- cheap: stamps, hashing only unstamped files."""
    stamps = manager.load_stamps()
    todo, already = [], []
    for f in wanted:
        s, _ = manager.check_file(f, _cache_dest(f), False, stamps)
        (already if s.status == "ok" and not force else todo).append(f)
    return todo, already


def _unaccepted(files: Sequence[ModelFile], m: Manifest) -> list[Licence]:
    lids = dict.fromkeys(m.groups[f.group].licence for f in files)
    return [m.licences[lid] for lid in lids if not licence_accepted(lid)]


def not_accepted_message(lic: Licence) -> str:
    return (f"the licence of these model files is not accepted: {lic.title} ({lic.url}); "
            "read it, then run `pyparity models fetch --accept-license`")


def licences_to_accept(names: Sequence[str] | None = None, all_groups: bool = False,
                       force: bool = False) -> list[Licence]:
    """The licences a ``fetch`` with these arguments would need accepted (none if nothing is to install)."""
    m = manager.manifest()
    todo, _ = _partition(manager.select(names, all_groups=all_groups, m=m), force, m)
    return _unaccepted(todo, m)


def fetch(
    from_dir: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    accept_license: bool = False,
    names: Sequence[str] | None = None,
    progress: ProgressFn | None = None,
    *,
    all_groups: bool = False,
    force: bool = False,
    prompt: PromptFn | None = None,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> FetchResult:
    """Install the selected files into the cache, verified, all-or-nothing.

    from_dir: mirror folder(s) laid out like OpenFace's ``model/`` folder (or an OpenFace checkout,
        or a folder holding ``openface/model``...; each group's ``mirror_layouts`` say where to
        look). Files not found there are downloaded from their official URLs.
    accept_license: accept the licences of the files fetched (recorded once in the cache).
        Otherwise ``prompt(licence) -> bool`` is asked (the CLI asks on a terminal); without a
        prompt, an unaccepted licence is a ``ModelError``.
    names: globs on ``group/name``, ``name`` or the upstream path (default: the default groups;
        ``all_groups``: everything).
    progress: ``progress(file, bytes_done, size)`` while each file is copied or downloaded.
    force: re-install files already present and verified.
    The OpenFace groups always go to the cache, even when ``$PYPARITY_MODEL_DIR`` / ``$PYPARITY_AU_DIR``
    point elsewhere.
    """
    m = manager.manifest()
    wanted = manager.select(names, all_groups=all_groups, m=m)
    from_dirs = [] if from_dir is None else (
        [Path(from_dir)] if isinstance(from_dir, (str, os.PathLike)) else [Path(d) for d in from_dir])
    for d in from_dirs:
        if not d.is_dir():
            raise ModelError(f"{d}: mirror folder not found")
    root = manager.cache_root()
    stamps = manager.load_stamps()
    dest = _cache_dest
    todo, already = _partition(wanted, force, m)
    accepted = []
    for lic in _unaccepted(todo, m):
        if not (accept_license or (prompt is not None and prompt(lic))):
            raise ModelError(not_accepted_message(lic))
        accept_licence(lic.id)
        accepted.append(lic.id)

    if not todo:
        return FetchResult((), tuple(already), tuple(accepted))

    try:
        root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    except OSError as exc:
        raise ModelError(f"{root}: cannot write to the model cache: {exc.strerror or exc} "
                         "(set PYPARITY_CACHE_DIR to a writable folder)") from None
    fetched = []
    try:
        staged = []
        for i, f in enumerate(todo):
            tmp = staging / f"{i:04d}.part"
            srcs = _mirror_candidates(f, from_dirs, m)
            if srcs:
                source = _stage_from_mirror(f, srcs, tmp, progress)
            else:
                source = _stage_from_urls(f, tmp, progress, timeout)
            staged.append((f, tmp, source))
        for f, tmp, source in staged:
            d = dest(f)
            try:
                d.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(tmp, 0o644)
                os.replace(tmp, d)
            except OSError as exc:
                raise ModelError(f"{d}: cannot install: {exc.strerror or exc}") from None
            st = d.stat()
            stamps[str(d.resolve())] = manager.file_signature(st) + [f.sha256]
            fetched.append((f, source))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if fetched:
            manager.save_stamps()
    return FetchResult(tuple(fetched), tuple(already), tuple(accepted))
