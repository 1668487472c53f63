"""Where the shared data folder is (OpenFace's samples and sources, the reference dumps, img2pose's 3D
points): an explicit path (a command's option), else ``$PYPARITY_SHARED``. Never guessed from where
pyparity is installed or run: an installed package has no checkout beside it."""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.errors import InputError

ENV = "PYPARITY_SHARED"


def shared_dir(explicit: str | os.PathLike | None = None, option: str | None = "--shared DIR") -> Path:
    """The shared folder: ``explicit`` if given, else ``$PYPARITY_SHARED``. Neither set, or a folder that
    does not exist: a one-line `InputError` saying how to give it (``option``, the variable)."""
    if explicit is not None:
        path, where = Path(explicit).expanduser(), str(explicit)
    else:
        raw = os.environ.get(ENV, "").strip()
        if not raw:
            how = f"pass {option} or set {ENV}" if option else f"set {ENV}"
            raise InputError(f"the shared data folder is not given: {how} (e.g. export {ENV}=$PWD/../shared)")
        path, where = Path(raw).expanduser(), f"{ENV}={raw}"
    if not path.is_dir():
        raise InputError(f"{where}: the shared data folder does not exist")
    return path


def shared_dir_or_none() -> Path | None:
    """``$PYPARITY_SHARED`` when it names a folder, else None (for lookups that are optional)."""
    raw = os.environ.get(ENV, "").strip()
    return Path(raw).expanduser() if raw and Path(raw).expanduser().is_dir() else None
