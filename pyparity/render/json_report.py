"""JSON rendering of a diff report."""

from __future__ import annotations

import json
import os

from pyparity.diff.report import DiffReport
from pyparity.atomic import write_text_atomic


def report_json(report: DiffReport) -> str:
    return json.dumps(report.to_dict(), indent=1, allow_nan=False)


def write_json(report: DiffReport, path: str | os.PathLike) -> None:
    write_text_atomic(path, report_json(report) + "\n")
