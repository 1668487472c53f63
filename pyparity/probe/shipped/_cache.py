"""A per-user cache folder where shipped probes lay out the model folders that ports expect.

Ports look for OpenFace's files in their own places (pymtcnn: ``$OPENFACE_MODELS_DIR/2.2.0/originals/...``;
pyclnf: a folder of its own layout). The probes build those layouts from pyparity's OpenFace model
folder with symlinks (nothing is copied: the licence forbids redistribution, and nothing may land in
the repository), in ``$PYPARITY_CACHE_DIR`` or ``$XDG_CACHE_HOME/pyparity`` (default ``~/.cache/pyparity``),
falling back to the temporary folder when that is not writable. One sub-folder per model folder.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def cache_root() -> Path:
    env = os.environ.get("PYPARITY_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "pyparity"


def port_cache_dir(port: str, *keys: str) -> Path:
    """A writable folder for `port`, unique per `keys` (e.g. the resolved model folder)."""
    digest = hashlib.sha256("\0".join(keys).encode("utf-8")).hexdigest()[:16]
    for root in (cache_root(), Path(tempfile.gettempdir()) / f"pyparity-cache-{os.getuid()}"):
        d = root / "probe-ports" / f"{port}-{digest}"
        try:
            d.mkdir(parents=True, exist_ok=True)
            probe = d / f".w{os.getpid()}"
            probe.touch()
            probe.unlink()
            return d
        except OSError:
            continue
    raise OSError(f"no writable cache folder for {port} (tried {cache_root()} and the temporary folder)")


def symlink(target: Path, link: Path) -> None:
    """Point `link` at `target`, replacing a stale link (concurrent runs may race: both win)."""
    link.parent.mkdir(parents=True, exist_ok=True)
    target = Path(target).resolve()
    try:
        if link.is_symlink() and Path(os.readlink(link)) == target:
            return
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink(target, link)
    except FileExistsError:
        pass
