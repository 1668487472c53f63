"""JSON rendering of a diff report: the document CI reads (schema ``pyparity-diff-report/1``).

The schema is committed as package data (``pyparity/schemas/diff-report-1.schema.json``) and
documented in ``docs/reports.md``. A change that removes or retypes a field raises the number after
the slash; new fields may appear within a version.
"""

from __future__ import annotations

import json
import os
from importlib import resources

from pyparity.atomic import write_text_atomic
from pyparity.diff.report import DiffReport

SCHEMA = "pyparity-diff-report/1"
SCHEMA_FILES = {SCHEMA: "diff-report-1.schema.json", "pyparity-gate-report/1": "gate-report-1.schema.json",
                "pyparity-hunt-report/1": "hunt-report-1.schema.json"}


def schema_document(schema: str = SCHEMA) -> dict:
    """The JSON Schema (draft 2020-12) of a report kind, as shipped with pyparity."""
    return json.loads(resources.files("pyparity").joinpath("schemas", SCHEMA_FILES[schema]).read_text("utf-8"))


def report_document(report: DiffReport) -> dict:
    """The report as a JSON-ready dict: ``schema`` and ``pyparity`` (the version that wrote it) first."""
    import pyparity
    from pyparity.render.summary import key_outputs

    doc = {"schema": SCHEMA, "pyparity": pyparity.__version__, "verdict": report.verdict()}
    doc.update(report.to_dict())
    doc["key_outputs"] = [k.to_dict() for k in key_outputs(report)]
    return doc


def report_json(report: DiffReport) -> str:
    return json.dumps(report_document(report), indent=1, allow_nan=False)


def write_json(report: DiffReport, path: str | os.PathLike) -> None:
    write_text_atomic(path, report_json(report) + "\n")
