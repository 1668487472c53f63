"""Policy references, resolved one way for every front-end (CLI, gate, pytest plugin, probes).

A reference is a `Policy` (used as it is), a path (an ``os.PathLike``, or a string spelled as a path:
holding a ``/`` or ending in ``.toml``; ``./mtcnn`` is the file ``mtcnn`` in the current folder), or a
bare name: a built-in policy (``pyparity/policies/<name>.toml``), or an error listing them. A bare name
never reads a file from the working directory, so a stray file named like a built-in policy cannot
change a verdict.
"""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.diff.policy import BUILTIN_POLICY_DIR, Policy, builtin_policy, load_policy
from pyparity.errors import PolicyError


def builtin_policy_names() -> list[str]:
    return sorted(p.stem for p in BUILTIN_POLICY_DIR.glob("*.toml"))


def spelled_as_path(ref: str) -> bool:
    """True for ``dir/file``, ``./name``, ``name.toml``; False for a bare name such as ``mtcnn``."""
    seps = {"/", os.sep} | ({os.altsep} if os.altsep else set())
    return any(s in ref for s in seps) or ref.endswith(".toml") or ref in (".", "..")


def _path(ref: str | os.PathLike, base: str | os.PathLike | None) -> Path:
    p = Path(os.path.expanduser(os.fspath(ref)))
    return p if p.is_absolute() or base is None else Path(base) / p


def policy_reference(ref: str | os.PathLike, base: str | os.PathLike | None = None) -> str:
    """``ref`` checked and made independent of the working directory: a built-in name as it is, a path
    made absolute (relative to ``base`` if given). For specs that name a policy now and load it later."""
    if isinstance(ref, str) and not ref.strip():
        raise PolicyError("policy: an empty name (give a built-in name or a TOML path)")
    if isinstance(ref, str) and not spelled_as_path(ref):
        if ref not in builtin_policy_names():
            raise PolicyError(f"no built-in policy named {ref!r} (have: {', '.join(builtin_policy_names())}; "
                              f"write ./{ref} for a file of that name)")
        return ref
    p = _path(ref, base).resolve()
    if not p.is_file():
        raise PolicyError(f"{p}: no such policy file")
    return str(p)


def resolve_policy(ref, base: str | os.PathLike | None = None) -> Policy | None:
    """The `Policy` a reference names (see the module docstring); None stays None (the caller's default).
    ``base``: the folder relative paths are taken from (a spec file's folder), else the working directory."""
    if ref is None or isinstance(ref, Policy):
        return ref
    if isinstance(ref, str):
        if not ref.strip():
            raise PolicyError("policy: an empty name (give a built-in name or a TOML path)")
        if not spelled_as_path(ref):
            return builtin_policy(policy_reference(ref))
    elif not isinstance(ref, os.PathLike):
        raise PolicyError(f"policy: expected a Policy, a built-in name or a path, got {type(ref).__name__}")
    return load_policy(_path(ref, base))
