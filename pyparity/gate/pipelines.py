"""Pipelines the gate can run: ``name -> callable(input_path, rec, model_dir)``, imported lazily.

A pipeline entry is either a callable or a ``"module:function"`` string; strings keep the registry
picklable, so worker processes resolve the same entries (and importing the registry never imports
NumPy-heavy pipeline code). A corpus spec may also name a pipeline directly as ``"module:function"``.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Callable, Union

from pyparity.errors import InputError

PipelineFn = Callable[[Path, object, Union[Path, None]], None]

_REGISTRY: dict[str, Union[str, PipelineFn]] = {
    "mtcnn": "pyparity.gate.pipelines:run_mtcnn",
    "clnf": "pyparity.gate.pipelines:run_clnf",
}


def run_mtcnn(input_path: Path, rec, model_dir: Path | None) -> None:
    """OpenFace MTCNN with its defaults (min face 60, thresholds 0.6/0.7/0.7), stages under ``mtcnn/``."""
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.mtcnn import detect

    detect(read_image_bgr(input_path), model_dir=model_dir, rec=rec)


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

_OPENFACE_MODELS: dict = {}


def run_clnf(input_path: Path, rec, model_dir: Path | None) -> None:
    """OpenFace FaceLandmarkImg (MTCNN, CLNF with main_clnf_general, validator, outputs), keeping the
    stages of ``CLNF_GATE_STAGES``; models are loaded once per process."""
    from pyparity.imageio import read_image_bgr
    from pyparity.pipelines.openface import load_openface_models, run_image
    from pyparity.trace.recorder import SelectedStages

    key = str(model_dir)
    if key not in _OPENFACE_MODELS:
        _OPENFACE_MODELS[key] = load_openface_models(model_dir)
    run_image(read_image_bgr(input_path), _OPENFACE_MODELS[key], rec=SelectedStages(rec, CLNF_GATE_STAGES), level=1)


def register(name: str, fn: Union[str, PipelineFn]) -> None:
    """Add or replace a pipeline (tests register toy pipelines; a string is ``"module:function"``)."""
    _REGISTRY[name] = fn


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> list[str]:
    return sorted(_REGISTRY)


def entry(name: str) -> Union[str, PipelineFn]:
    """The registry entry for ``name``, or ``name`` itself when it reads ``module:function``."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if ":" in name:
        return name
    raise InputError(f"unknown pipeline {name!r} (known: {', '.join(names())}; or give module:function)")


def resolve(spec: Union[str, PipelineFn]) -> PipelineFn:
    """Turn a registry entry into the callable (imports the module now)."""
    if callable(spec):
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


def default_model_dir() -> Path | None:
    """``$PYPARITY_MODEL_DIR`` when set, else None (the pipeline asks the model manager)."""
    v = os.environ.get("PYPARITY_MODEL_DIR")
    return Path(v) if v else None
