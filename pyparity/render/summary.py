"""What a passing diff says in one block: the key outputs' largest errors, in their units, and the time.

Key outputs are the stages a port's user looks at (a pipeline's ``output/`` boxes and landmarks in
pixels, POF's joints in metres); per face or frame they are grouped (``face*/output/landmarks_stacked``)
and the largest error of the group is shown with how many stages it covers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyparity.diff.compare import IGNORED, ONLY_IN_A, ONLY_IN_B, StageResult
from pyparity.diff.report import DiffReport
from pyparity.render.escape import printable
from pyparity.render.numbers import fmt_number
from pyparity.trace.trace import glob_match

# (glob, unit): the first matching glob of a stage gives its unit
KEY_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("face*/output/landmarks_3d*", ""),  # millimetres in camera space: not a pixel error, left out
    ("face*/output/landmarks*", "px"),   # OpenFace, CLNF
    ("mtcnn/output/boxes", "px"),        # MTCNN
    ("output/boxes", "px"),              # img2pose
    ("frame*/output/pose_3d_m", "m"),    # POF
)

_NUMBERED = re.compile(r"(?<![^/])(face|frame)\d+(?=/)")


@dataclass(frozen=True)
class KeyOutput:
    stages: str          # the stage, or the group's glob (``face*/output/landmarks_stacked``)
    unit: str
    max_abs: float
    count: int           # stages in the group

    def describe(self) -> str:
        return (f"{printable(self.stages)} {fmt_number(self.max_abs)} {self.unit}"
                + (f" ({self.count} stages)" if self.count > 1 else ""))

    def to_dict(self) -> dict:
        from pyparity.diff.report import json_number

        return {"stages": self.stages, "unit": self.unit, "max_abs": json_number(self.max_abs), "count": self.count}


def _compared(s: StageResult) -> bool:
    return s.status not in (ONLY_IN_A, ONLY_IN_B, IGNORED) and s.max_abs is not None


def key_outputs(report: DiffReport) -> list[KeyOutput]:
    """The key outputs compared in ``report``, grouped over faces and frames, in recording order."""
    groups: dict[str, list] = {}
    for s in report.stages:
        if not _compared(s):
            continue
        unit = next((u for g, u in KEY_OUTPUTS if glob_match(s.name, g)), None)
        if not unit:
            continue
        key = _NUMBERED.sub(lambda m: m.group(1) + "*", s.name)
        g = groups.setdefault(key, [unit, 0.0, 0])
        g[1] = max(g[1], float(s.max_abs))
        g[2] += 1
    return [KeyOutput(k if n > 1 else _only(report, k), u, m, n) for k, (u, m, n) in groups.items()]


def _only(report: DiffReport, key: str) -> str:
    """A group of one stage is named by the stage itself."""
    return next(s.name for s in report.stages if _compared(s)
                and _NUMBERED.sub(lambda m: m.group(1) + "*", s.name) == key)


def largest_error(report: DiffReport) -> StageResult | None:
    """The compared stage with the largest max abs error (None when nothing was compared)."""
    return max((s for s in report.stages if _compared(s)), key=lambda s: s.max_abs, default=None)
