"""What a trace's metadata says about its input: the file and its sha256."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str | None:
    """The file's sha256, read in blocks; None for a folder or an unreadable path."""
    try:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    except OSError:
        return None


def input_meta(path: str | Path, with_path: bool = False) -> dict:
    """``{"file": name, "sha256": ...}`` (no checksum for a folder); ``with_path`` adds the full path."""
    p = Path(path)
    meta: dict = {"file": p.name}
    if p.is_file():
        meta["sha256"] = file_sha256(p)
    if with_path:
        meta["path"] = str(p)
    return meta
