"""JSON rendering of a hunt. For one image, the document is the first run's diff report (a
``pyparity-diff-report/1`` document, as ``pyparity diff --json`` writes it) with the hunt under ``hunt``:
the chain of introducing stages with their diagnoses, the inherited stages, how it ended, every run's
comparison summary. For a sequence or a corpus it is a ``pyparity-hunt-report/1`` document with the
summary (per item, first divergences by stage, worst items, introducing stages grouped by stage).
Both schemas are committed as package data (``pyparity/schemas/``) and documented in docs/reports.md."""

from __future__ import annotations

import json
import os

from pyparity.atomic import write_text_atomic
from pyparity.diff.report import stage_dict
from pyparity.hunt.chain import ENDINGS

SCHEMA = "pyparity-hunt-report/1"


def _intro(i) -> dict:
    return {"stage": i.stage, "run": i.run, "capture": i.capture or None, "group": i.group or None,
            "injected_after": i.injected_after, "why_not_injected": i.why_not_injected or None,
            "comparison": stage_dict(i.result)}


def _run(r) -> dict:
    rep = r.report
    return {"run": r.number, "inject": r.inject, "injected": r.injected, "notes": r.notes, "failed": r.failed,
            "ok": rep.ok, "first_divergence": rep.first_divergence, "counts": rep.counts(),
            "nothing_compared": rep.nothing_compared or None,
            "failing": [s.name for s in rep.stages if s.failing]}


def result_dict(res, full_report: bool = True) -> dict:
    out = {
        "probe": res.subject,
        "input": res.input,
        "reference": res.reference,
        "ok": res.ok,
        "verdict": res.verdict(),
        "end": {"status": res.end, "meaning": ENDINGS[res.end], "detail": res.end_detail or None},
        "first_divergence": res.first_divergence,
        "introducing": [_intro(i) for i in res.introduced],
        "inherited": [{"stage": k, "cured_by_injecting": v} for k, v in res.inherited.items()],
        "remaining": [stage_dict(s) for s in res.remaining],
        "not_reached": res.not_reached,
        "only_in_port": res.only_port,
        "runs": [_run(r) for r in res.runs],
    }
    if res.isolated_run is not None:
        out["isolate_all"] = {"run": _run(res.isolated_run), "introducing": [_intro(i) for i in res.isolated]}
    if full_report:
        out["first_run_report"] = res.first.report.to_dict()
    return out


def summary_dict(summary) -> dict:
    return {
        "line": summary.line(),
        "ok": summary.ok,
        "nothing_compared": summary.nothing_compared or None,
        "counts": {st: summary.count(st) for st in ("match", "diverged", "nothing-compared", "no-reference", "error")},
        "items": [{k: v for k, v in vars(i).items() if k != "groups"}
                  | {"introduced": [list(t) for t in i.introduced], "output_max_abs": _num(i.output_max_abs)}
                  for i in summary.items],
        "first_divergence_by_stage": [{"stage": s, "items": n} for s, n in summary.first_divergences()],
        "worst": [i.name for i in summary.worst()],
        "chains_by_stage": [{"stage": c.stages[0], "stages": c.stages, "capture": c.pattern or None, "items": c.items,
                             "diagnoses": c.diagnoses} for c in summary.chains()],
    }


def outcome_dict(outcome) -> dict:
    import pyparity
    from pyparity.render.json_report import report_document

    if outcome.kind == "image":
        # one image: the first run's diff report (as `pyparity diff --json` writes it), the hunt added
        doc = report_document(outcome.result.first.report)
    else:
        doc = {"schema": SCHEMA, "pyparity": pyparity.__version__}
    doc.update({"kind": outcome.kind, "probe": outcome.probe, "reference": outcome.reference,
                "exit_code": outcome.exit_code})
    if outcome.result is not None:
        doc["hunt"] = result_dict(outcome.result, full_report=False)
    if outcome.summary is not None:
        doc["summary"] = summary_dict(outcome.summary)
    if outcome.results:
        doc["inputs"] = {name: result_dict(r, full_report=False) for name, r in outcome.results}
    return doc


def hunt_json(outcome) -> str:
    return json.dumps(outcome_dict(outcome), indent=1, allow_nan=False, default=_default) + "\n"


def write_hunt_json(outcome, path: str | os.PathLike) -> None:
    write_text_atomic(path, hunt_json(outcome))


def _num(x):
    import math

    return x if x is None or math.isfinite(x) else str(x)


def _default(x):
    import numpy as np

    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.floating):
        return float(x) if np.isfinite(x) else str(x)
    if isinstance(x, tuple):
        return list(x)
    raise TypeError(f"not JSON: {type(x).__name__}")
