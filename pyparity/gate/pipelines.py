"""Pipelines the gate can run, by name: a `GateEntry` (an application-layer spec with the options and
the stages the gate keeps), or a callable ``fn(input_path, rec, model_dir)`` (a test's toy pipeline),
or a ``"module:function"`` string naming one. Entries are picklable, so worker processes run the same
ones, and importing the registry imports no pipeline code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Union

from pyparity.errors import InputError

PipelineFn = Callable[[Path, object, Union[Path, None]], None]

#: What the gate's `clnf` pipeline keeps of an OpenFace image run: the detector's output and the fit's
#: checkpoints (initialisation, each scale's parameters and iteration counts, the fit, the parts, the
#: refit, the validator) and every reported output. The per-iteration arrays stay out of the gate; the
#: CLI (`pyparity run openface-image --diff`) and the parity tests compare those.
CLNF_GATE_STAGES = (
    "mtcnn/output/*", "face*/clnf/input/bbox", "face*/clnf/h*/rotation_hypothesis", "face*/clnf/h*/init/*",
    "face*/clnf/h*/fit/s*/view_id", "face*/clnf/h*/fit/s*/*/iterations", "face*/clnf/h*/fit/s*/params_global",
    "face*/clnf/h*/fit/s*/params_local", "face*/clnf/h*/fit/*", "face*/clnf/h*/parts/*/output/landmarks_stacked",
    "face*/clnf/h*/parts_merged/*", "face*/clnf/h*/refit/*", "face*/clnf/h*/validation/*", "face*/output/*",
)


@dataclass(frozen=True)
class GateEntry:
    """A spec (`pyparity.app.spec`) run with ``options`` (the gate's model folder added), keeping the stages
    matching ``stages`` (all when empty)."""

    spec: str
    options: Mapping[str, object] = field(default_factory=dict)
    stages: tuple[str, ...] = ()


Entry = Union[GateEntry, str, PipelineFn]

_REGISTRY: dict[str, Entry] = {
    "mtcnn": GateEntry("mtcnn"),
    "clnf": GateEntry("openface-image", {"aus": False, "level": 1}, CLNF_GATE_STAGES),
}


def register(name: str, fn: Entry) -> None:
    """Add or replace a pipeline (tests register toy pipelines; a string is ``"module:function"``)."""
    _REGISTRY[name] = fn


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    return sorted(_REGISTRY)


def entry(name: str) -> Entry:
    """The registry entry for ``name``, or ``name`` itself when it reads ``module:function``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return name
    raise InputError(f"unknown pipeline {name!r} (known: {', '.join(names())}; or give module:function)")


def resolve(spec: Entry) -> Union[GateEntry, PipelineFn]:
    """A `GateEntry` as it is; anything else as the callable it names (imports the module now)."""
    if isinstance(spec, GateEntry) or callable(spec):
        return spec
    if isinstance(spec, str) and spec in _REGISTRY:
        return resolve(_REGISTRY[spec])
    mod, _, attr = str(spec).partition(":")
    if not mod or not attr:
        raise InputError(f"pipeline {spec!r}: expected a registered name or module:function")
    try:
        fn = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"pipeline {spec!r} cannot be imported ({exc})") from None
    if not callable(fn):
        raise InputError(f"pipeline {spec!r} is not callable")
    return fn
