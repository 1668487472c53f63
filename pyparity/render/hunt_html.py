"""A self-contained HTML page of a hunt (no script, nothing fetched): the verdict, the introducing
stages with their diagnoses, the inherited ones, the runs; for a sequence or a corpus, the summary
(per item, first divergences by stage, worst items, introducing stages grouped by stage); for one
image, the first run's stage table.

The page is `templates/hunt.html.j2` (Jinja2, autoescaped: `pyparity.render.templating`); this module
computes what it shows."""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.atomic import write_text_atomic
from pyparity.hunt.chain import MATCHED, PARITY
from pyparity.render.html import _fmt, _stages

_ALIGN = {"convention": "align with (a convention fix)", "mask": "align with (a mask: hides a difference)"}


def _hyps(hyps) -> list[dict]:
    out = []
    for h in hyps or ():
        hint = h.transform.startswith("#")
        out.append({"title": h.title, "detail": h.detail, "step": h.transform.lstrip("# ") if hint
                    else _ALIGN.get(getattr(h, "fix_kind", ""), "align with"), "code": "" if hint else h.transform})
    return out


def _chain(res) -> dict:
    intros = []
    for n, (_group, group_intros) in enumerate(res.groups(), start=1):
        first = group_intros[0]
        s = first.result
        intros.append({"n": n, "stage": first.stage, "status": s.status, "count": len(group_intros),
                       "size": _fmt(s.max_abs) if s.max_abs is not None else f"{s.shape_a} vs {s.shape_b}",
                       "capture": first.capture, "diagnosis": _hyps(s.diagnosis),
                       "not_injected": first.why_not_injected or ""})
    return {
        "ok": res.end in (PARITY, MATCHED), "verdict": res.verdict(), "introducing": intros,
        "inherited": [[k, v] for k, v in res.inherited.items()],
        "remaining": [[s.name, s.status, _fmt(s.max_abs)] for s in res.remaining],
        "isolated": None if res.isolated_run is None else [
            {"stage": i.stage, "status": i.result.status, "max": _fmt(i.result.max_abs),
             "diagnosis": _hyps(i.result.diagnosis)} for i in res.isolated],
        "runs": [[str(r.number), "; ".join(r.inject) or "nothing (the port as it is)",
                  r.report.verdict() + "; " + ", ".join(f"{v} {k}" for k, v in r.report.counts().items())]
                 for r in res.runs],
    }


def _summary(summary) -> dict:
    return {
        "ok": summary.ok, "line": summary.line(),
        "item_rows": [[i.name, i.input, i.status, i.first_divergence or i.error or "", i.first_cause,
                   _fmt(i.output_max_abs) if i.status == "diverged" else ""] for i in summary.items],
        "firsts": [[s, str(n)] for s, n in summary.first_divergences()],
        "worst": [[i.name, i.output_stage or "", _fmt(i.output_max_abs)] for i in summary.worst()],
        "chains": [[c.label, f"{len(c.items)}: " + ", ".join(c.items), "; ".join(c.diagnoses)] for c in summary.chains()],
    }


def render_hunt_html(outcome) -> str:
    import pyparity
    from pyparity.render.templating import render

    one_image = outcome.result is not None and outcome.kind == "image"
    return render(
        "hunt.html.j2", title=f"pyparity hunt: {outcome.probe}", reference=outcome.reference,
        version=pyparity.__version__,
        summary=_summary(outcome.summary) if outcome.summary is not None else None,
        result=_chain(outcome.result) if outcome.result is not None else None,
        stages=_stages(outcome.result.first.report) if one_image else [],
        diverged=[(name, _chain(res)) for name, res in outcome.results if not res.ok])


def write_hunt_html(outcome, path: str | os.PathLike) -> Path:
    return write_text_atomic(path, render_hunt_html(outcome))
