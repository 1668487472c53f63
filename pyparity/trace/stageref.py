"""`StageRef`: "start from the reference at stage S", the one way every pipeline is told to take its
early stages from a reference trace instead of computing them (stage isolation)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyparity.errors import TraceError
from pyparity.trace.trace import Trace


@dataclass(frozen=True)
class StageRef:
    """Stage ``stage`` and everything after it are computed; what comes before it is read from
    ``reference`` (and recorded as it is there). ``stage`` is a pipeline's start point (its
    ``START_STAGES`` or a stage name), without leading or trailing ``/``."""

    reference: Trace
    stage: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", str(self.stage).strip("/"))

    @property
    def source(self) -> str:
        return str(self.reference.source or "reference")

    def __contains__(self, name: str) -> bool:
        return name in self.reference

    def array(self, name: str, dtype=None) -> np.ndarray:
        """The reference's stage ``name`` (as ``dtype``), or a TraceError naming what starting here needs."""
        if name not in self.reference:
            raise TraceError(f"{self.source}: no stage {name} to start from", param="start", value=self.stage)
        a = np.asarray(self.reference[name])
        return a if dtype is None else a.astype(dtype)

    def with_stage(self, stage: str) -> "StageRef":
        return StageRef(self.reference, stage)
