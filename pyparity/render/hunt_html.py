"""A self-contained HTML page of a hunt (no script, nothing fetched): the verdict, the introducing
stages with their diagnoses, the inherited ones, the runs; for a sequence or a corpus, the summary
(per item, first divergences by stage, worst items, introducing stages grouped by stage); for one
image, the first run's stage table."""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.atomic import write_text_atomic
from pyparity.hunt.chain import MATCHED, PARITY
from pyparity.render.escape import html_text as esc
from pyparity.render.html import _CSS, _fmt, _stage_table


def _rows(header: list[str], rows: list[list[str]]) -> str:
    out = ["<table class='stages'><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>")
    return "".join(out) + "</table>"


def _hyps(hyps) -> str:
    if not hyps:
        return "<span class='muted'>no simple explanation found</span>"
    parts = []
    for h in hyps:
        fix = getattr(h, "fix_kind", "")
        label = {"convention": "align with (a convention fix)", "mask": "align with (a mask: hides a difference)"}
        step = (f"next: {esc(h.transform.lstrip('# '))}" if h.transform.startswith("#")
                else f"{esc(label.get(fix, 'align with'))}: <code>{esc(h.transform)}</code>")
        parts.append(f"<b>{esc(h.title)}</b><br>{esc(h.detail)}<br><span class='muted'>{step}</span>")
    return "<br>".join(parts)


def _chain(res) -> str:
    ok = res.end in (PARITY, MATCHED)
    html = [f"<p class='{'ok' if ok else 'bad'}'>{esc(res.verdict())}</p>"]
    rows = []
    for n, (group, intros) in enumerate(res.groups(), start=1):
        first = intros[0]
        s = first.result
        size = _fmt(s.max_abs) if s.max_abs is not None else esc(f"{s.shape_a} vs {s.shape_b}")
        rows.append([str(n), esc(first.stage), esc(s.status), size, str(len(intros)), esc(first.capture),
                     _hyps(s.diagnosis) + (f"<br><i>not injected: {esc(first.why_not_injected)}</i>"
                                           if first.why_not_injected else "")])
    if rows:
        html.append("<h2>Introducing stages</h2>" + _rows(
            ["#", "stage", "status", "max abs", "stages of this capture", "recorded by", "diagnosis"], rows))
    if res.inherited:
        html.append("<h2>Inherited</h2>" + _rows(["stage", "matches once the reference is injected at"],
                                                 [[esc(k), esc(v)] for k, v in res.inherited.items()]))
    if res.remaining:
        html.append("<h2>Remaining</h2>" + _rows(["stage", "status", "max abs"],
                                                 [[esc(s.name), esc(s.status), _fmt(s.max_abs)] for s in res.remaining]))
    if res.isolated_run is not None:
        html.append("<h2>Each stage on its own (--isolate-all)</h2>" + _rows(
            ["stage", "status", "max abs", "diagnosis"],
            [[esc(i.stage), esc(i.result.status), _fmt(i.result.max_abs), _hyps(i.result.diagnosis)]
             for i in res.isolated]))
    html.append("<h2>Runs</h2>" + _rows(
        ["run", "injected", "result"],
        [[str(r.number), esc("; ".join(r.inject) or "nothing (the port as it is)"),
          esc(r.report.verdict() + "; " + ", ".join(f"{v} {k}" for k, v in r.report.counts().items()))]
         for r in res.runs]))
    return "".join(html)


def _summary(summary) -> str:
    html = [f"<p class='{'ok' if summary.ok else 'bad'}'>{esc(summary.line())}</p>"]
    html.append(_rows(["item", "input", "status", "first divergence", "likely cause", "result max abs"],
                      [[esc(i.name), esc(i.input), esc(i.status), esc(i.first_divergence or i.error or ""),
                        esc(i.first_cause), _fmt(i.output_max_abs) if i.status == "diverged" else ""]
                       for i in summary.items]))
    firsts = summary.first_divergences()
    if firsts:
        html.append("<h2>First divergence, by stage</h2>" + _rows(["stage", "items"],
                                                                 [[esc(s), str(n)] for s, n in firsts]))
    worst = summary.worst()
    if worst:
        html.append("<h2>Worst</h2>" + _rows(["item", "stage", "max abs"], [[esc(i.name), esc(i.output_stage or ""),
                                                                              _fmt(i.output_max_abs)] for i in worst]))
    chains = summary.chains()
    if chains:
        html.append("<h2>Introducing stages, by stage</h2>" + _rows(
            ["stage", "items", "diagnoses"], [[esc(s), esc(f"{len(items)}: " + ", ".join(items)), esc("; ".join(c))]
                                               for s, items, c in chains]))
    return "".join(html)


def render_hunt_html(outcome) -> str:
    title = f"pyparity hunt: {outcome.probe}"
    body = [f"<h1>{esc(title)}</h1><p class='muted'>reference: {esc(outcome.reference)}</p>"]
    if outcome.summary is not None:
        body.append("<h2>Summary</h2>" + _summary(outcome.summary))
    if outcome.result is not None:
        body.append(_chain(outcome.result))
        if outcome.kind == "image":
            body.append("<h2>Stages of the first run</h2>" + _stage_table(outcome.result.first.report))
    for name, res in outcome.results:
        if not res.ok:
            body.append(f"<h2>{esc(name)}</h2>" + _chain(res))
    return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>\n")


def write_hunt_html(outcome, path: str | os.PathLike) -> Path:
    return write_text_atomic(path, render_hunt_html(outcome))
