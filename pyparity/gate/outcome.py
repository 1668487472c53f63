"""What a gate case is run with (`GateOptions`) and what it sends back to the coordinator (`CaseOutcome`:
summary lines, the failing stages, JUnit XML text, the report of a failed case; with ``--update`` the
`GoldenPayload` its golden keeps), with the case statuses."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from pyparity.app.reports import ReportOptions

PASS, REGRESSION, DIVERGED, ERROR, NEW, UPDATED, UNCHANGED, REFUSED, NOTHING = (
    "pass", "regression", "diverged", "error", "new", "updated", "unchanged", "refused", "nothing-compared")
FAILED = {REGRESSION, DIVERGED, ERROR, REFUSED, NOTHING}


@dataclass
class GateOptions:
    """goldens: the golden root; update/force: bless this run's results; html_dir: one page per case;
    inject: the gate's self-test perturbations; reports: ``--policy`` (over every case's) and ``--stage``."""

    goldens: Path
    model_dir: Path | None = None
    update: bool = False
    force: bool = False
    html_dir: Path | None = None
    inject: list[str] = field(default_factory=list)
    reports: ReportOptions = field(default_factory=ReportOptions)
    timeout: float | None = None     # seconds per case (None: no limit)


@dataclass
class GoldenPayload:
    """What an ``--update`` run sends the coordinator to bless: the golden's stages of this run."""

    arrays: list
    meta: dict
    score: dict | None
    source: str


_NOT_REPORTED = ("junit", "report", "golden_payload")


@dataclass
class CaseOutcome:
    name: str
    pipeline: str
    golden: str
    status: str
    golden_status: str = ""          # match / regression / nothing-compared / missing / "" (not compared)
    golden_first: str | None = None
    golden_summary: str = ""
    reference_status: str = ""       # match / diverged / nothing-compared / "" (no reference listed)
    reference_first: str | None = None
    reference_summary: str = ""
    failing_stages: list[str] = field(default_factory=list)
    golden_change: str = ""
    message: str = ""
    html: str | None = None
    seconds: float = 0.0
    junit: list[str] = field(default_factory=list)
    report: object | None = None     # the DiffReport that failed the case (kept for failed cases only)
    golden_payload: GoldenPayload | None = None  # --update only; consumed by the coordinator

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    @classmethod
    def from_dict(cls, d: dict) -> "CaseOutcome":
        """An outcome as `to_dict` (plus its ``junit``) stored it in the results journal."""
        return cls(**{k: v for k, v in d.items() if k != "failed"})

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _NOT_REPORTED}
        d["failing_stages"] = list(self.failing_stages)
        d["failed"] = self.failed
        return d
