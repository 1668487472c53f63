"""The registry of pipeline specs: by name (``mtcnn``, ``openface-image``, ...), ``probe:NAME`` for a
probe, or from a trace's producer block. The built-in specs are imported on first use, so that importing
the registry imports no pipeline code."""

from __future__ import annotations

import importlib
import os
from typing import Mapping

from pyparity.app.spec import PipelineSpec
from pyparity.errors import InputError

_BUILTIN: dict[str, str] = {
    "mtcnn": "pyparity.app.specs.mtcnn:MTCNN",
    "openface-image": "pyparity.app.specs.openface:OPENFACE_IMAGE",
    "clnf": "pyparity.app.specs.openface:CLNF",
    "openface-sequence": "pyparity.app.specs.openface:OPENFACE_SEQUENCE",
    "img2pose": "pyparity.app.specs.img2pose:IMG2POSE",
    "pof": "pyparity.app.specs.pof:POF",
}
_REGISTERED: dict[str, PipelineSpec] = {}
PROBE_PREFIX = "probe:"


def register(spec_: PipelineSpec) -> None:
    """Add or replace a spec (a plugin's pipeline, a test's toy pipeline)."""
    _REGISTERED[spec_.name] = spec_


def unregister(name: str) -> None:
    _REGISTERED.pop(name, None)


def names() -> list[str]:
    return sorted(set(_BUILTIN) | set(_REGISTERED))


def spec(name: str, probe_file: str | os.PathLike | None = None) -> PipelineSpec:
    """The spec registered as ``name``; ``probe:NAME`` runs a probe (a shipped one by name, or the
    probe file ``probe_file``)."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in _BUILTIN:
        module, _, attr = _BUILTIN[name].partition(":")
        return getattr(importlib.import_module(module), attr)
    if name.startswith(PROBE_PREFIX):
        from pyparity.app.specs.probe import probe_spec

        return probe_spec(probe_file or name[len(PROBE_PREFIX):])
    raise InputError(f"unknown pipeline {name!r} (known: {', '.join(names())}, or probe:NAME)")


def spec_for_producer(producer: Mapping | None) -> PipelineSpec | None:
    """The spec of the pipeline a trace's producer block names (None: not one of ours, or unknown)."""
    if not isinstance(producer, Mapping):
        return None
    name = producer.get("pipeline")
    legacy = producer.get("name")
    if not name and isinstance(legacy, str) and legacy.startswith(PROBE_PREFIX):  # traces of pyparity <= 0.1
        name = legacy
    if not isinstance(name, str) or not name:
        return None
    try:
        return spec(name, producer.get("probe_file"))
    except Exception:  # a probe file that moved, a pipeline of another install: judge it by the default
        return None

