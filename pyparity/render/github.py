"""GitHub Actions output (``--github``): workflow-command annotations and a step summary in Markdown.

Annotations (``::error file=...,title=...::message`` on stdout, where the runner reads them): one per
stage group with a failing stage (its first one), at most `MAX_ANNOTATIONS` (GitHub shows ten errors
per step), then a notice saying how many more; one for a comparison of nothing. ``file`` is the
candidate's trace path (else the reference's), relative to ``$GITHUB_WORKSPACE`` when inside it; the
gate's annotations point at the case's line in the corpus spec.

The summary is appended to the file ``$GITHUB_STEP_SUMMARY`` names (written whole: the old content plus
the new, to a temporary path renamed into place).
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from pathlib import Path
from typing import TextIO

from pyparity.diff.compare import FAILING
from pyparity.diff.report import DiffReport
from pyparity.render.escape import html_text, printable, printable_lines
from pyparity.render.numbers import fmt_number, format_seconds

MAX_ANNOTATIONS = 10
MAX_SUMMARY_ROWS = 50


# ------------------------------------------------------------------------------------ workflow commands

def _data(text: str) -> str:
    """A workflow command's message (actions/toolkit escapeData); line breaks stay line breaks."""
    return printable_lines(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    """A workflow command's property value (actions/toolkit escapeProperty), on one line."""
    return _data(printable(text)).replace(":", "%3A").replace(",", "%2C")


def workflow_command(kind: str, message: str, **props) -> str:
    """``::kind k=v,...::message`` with GitHub's escapes; properties that are None are left out."""
    fields = ",".join(f"{k}={_prop(str(v))}" for k, v in props.items() if v is not None)
    return f"::{kind}{' ' + fields if fields else ''}::{_data(message)}"


def workspace_relative(path: str | None) -> str | None:
    """``path`` relative to ``$GITHUB_WORKSPACE`` when inside it (annotations link to repository files)."""
    if not path:
        return None
    ws = os.environ.get("GITHUB_WORKSPACE", "").strip()
    if ws:
        try:
            return Path(path).resolve().relative_to(Path(ws).resolve()).as_posix()
        except ValueError:
            pass
    return str(path)


def _stage_message(s) -> str:
    if s.max_abs is not None:
        msg = (f"max abs {fmt_number(s.max_abs)} at {list(s.argmax or ())}, {s.n_over} of {s.n_total} values "
               f"over tolerance ({s.tolerance})")
    else:
        msg = s.note or s.status
    for h in s.diagnosis[:1]:
        msg += f"; likely cause: {h.title}"
    return msg


def annotations(report: DiffReport, title: str = "pyparity", file: str | None = None, line: int | None = None
                ) -> list[str]:
    """The workflow commands for a diff's divergences (none for a passing diff)."""
    if file is None:
        file = workspace_relative(report.origin("b")["path"] or report.origin("a")["path"])
    where = {"file": file, "line": line}
    if report.nothing_compared:
        return [workflow_command("error", f"NOTHING COMPARED: {report.nothing_compared}", **where,
                                 title=f"{title}: nothing compared")]
    from pyparity.render.junit import stage_group

    firsts: "OrderedDict[str, object]" = OrderedDict()
    for s in report.stages:
        if s.status in FAILING:
            firsts.setdefault(stage_group(s.name), s)
    out = []
    for s in list(firsts.values())[:MAX_ANNOTATIONS]:
        first = " (first divergence)" if s.name == report.first_divergence else ""
        out.append(workflow_command("error", _stage_message(s), **where,
                                    title=f"{title}: {s.name} {s.status}{first}"))
    if len(firsts) > MAX_ANNOTATIONS:
        out.append(workflow_command("notice", f"{len(firsts) - MAX_ANNOTATIONS} more stage group(s) diverged; "
                                    "the step summary lists the stages", title=f"{title}: more divergences"))
    return out


# ------------------------------------------------------------------------------------ step summary

def _md(text) -> str:
    """Text for a Markdown table cell or line: escaped as HTML (GitHub renders it), pipes included."""
    return html_text(printable(text)).replace("|", "&#124;")


def _code(text) -> str:
    return f"<code>{_md(text)}</code>"


def summary_markdown(report: DiffReport, title: str = "pyparity diff", elapsed: float | None = None) -> str:
    """The step summary of one diff: verdict, sources, key outputs, time, first divergence, failing stages."""
    from pyparity.render.summary import key_outputs
    mark = "✅" if report.ok else "❌"
    lines = [f"### {mark} {_md(title)}", "", f"**{_md(report.verdict())}**", "", "| | |", "|---|---|"]
    c = report.counts()
    lines.append(f"| compared | {report.n_compared} stages ({_md(', '.join(f'{v} {k}' for k, v in c.items()))}) |")
    keys = key_outputs(report)
    if keys:
        lines.append(f"| key outputs | {'<br>'.join(_md(k.describe()) for k in keys)} |")
    lines.append(f"| time | {format_seconds(elapsed if elapsed is not None else report.seconds)} |")
    lines.append(f"| A (reference) | {_code(report.origin('a')['label'])} |")
    lines.append(f"| B (candidate) | {_code(report.origin('b')['label'])} |")
    if report.policy_source:
        lines.append(f"| policy | {_code(report.policy_source)} |")
    f = report.first
    if f is not None:
        lines += ["", f"**First divergence** {_code(f.name)} ({_md(f.status)}): {_md(_stage_message(f))}"]
        for h in f.diagnosis:
            fix = "" if h.transform.startswith("#") else f"; align with {_code(h.transform)}"
            lines.append(f"- likely cause: {_md(h.title)}: {_md(h.detail)}{fix}")
    failing = report.failing
    if failing:
        index = {s.name: i for i, s in enumerate(report.stages)}
        lines += ["", f"<details><summary>{len(failing)} failing stage(s)"
                      + (f", the first {MAX_SUMMARY_ROWS} listed" if len(failing) > MAX_SUMMARY_ROWS else "")
                      + "</summary>", "", "| # | stage | status | max abs | mean abs | over | tolerance |",
                  "|--:|---|---|--:|--:|--:|---|"]
        for s in failing[:MAX_SUMMARY_ROWS]:
            over = f"{s.n_over}/{s.n_total}" if s.n_over is not None else s.note
            lines.append(f"| {index[s.name]} | {_code(s.name)} | {_md(s.status)} | {fmt_number(s.max_abs)} | "
                         f"{fmt_number(s.mean_abs)} | {_md(over)} | {_md(s.tolerance)} |")
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def append_step_summary(markdown: str, path: str | os.PathLike | None = None) -> Path | None:
    """Append to ``path`` (default ``$GITHUB_STEP_SUMMARY``); None when there is nowhere to write."""
    from pyparity.atomic import write_text_atomic

    target = path or os.environ.get("GITHUB_STEP_SUMMARY", "").strip()
    if not target:
        return None
    p = Path(target)
    try:
        old = p.read_text(encoding="utf-8") if p.is_file() else ""
    except (OSError, UnicodeDecodeError):
        old = ""
    return write_text_atomic(p, old + ("\n" if old and not old.endswith("\n") else "") + markdown)


def write_github(report: DiffReport, title: str = "pyparity diff", elapsed: float | None = None,
                 stream: TextIO | None = None, summary_path: str | os.PathLike | None = None) -> Path | None:
    """``--github``: annotations on ``stream`` (stdout) and the step summary appended to
    ``$GITHUB_STEP_SUMMARY`` (or ``summary_path``). Returns the summary's path, None when the variable
    is not set (not inside a GitHub Actions step): then a note says so on stderr."""
    stream = stream or sys.stdout
    for line in annotations(report, title=title.split(" ")[0]):
        stream.write(line + "\n")
    stream.flush()
    written = append_step_summary(summary_markdown(report, title=title, elapsed=elapsed), summary_path)
    if written is None:
        sys.stderr.write("note: GITHUB_STEP_SUMMARY is not set (not in a GitHub Actions step): no step summary "
                         "written\n")
    return written


# ------------------------------------------------------------------------------------ the gate

def _spec_line(spec: Path, case: str) -> int | None:
    """The line of ``name = "<case>"`` in a corpus spec (annotations point at the case)."""
    import re

    try:
        text = Path(spec).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(r"^\s*name\s*=\s*[\"']" + re.escape(case) + r"[\"']\s*(#.*)?$")
    return next((i for i, ln in enumerate(text.splitlines(), start=1) if pattern.match(ln)), None)


def gate_annotations(outcomes, spec: str | os.PathLike) -> list[str]:
    """One error per failed case (at most `MAX_ANNOTATIONS`), at the case's line of the corpus spec."""
    failed = [o for o in outcomes if o.failed]
    file = workspace_relative(str(spec))
    out = [workflow_command("error", o.golden_first or o.reference_first or o.message or o.status, file=file,
                            line=_spec_line(Path(spec), o.name), title=f"pyparity gate: {o.name} {o.status}")
           for o in failed[:MAX_ANNOTATIONS]]
    if len(failed) > MAX_ANNOTATIONS:
        out.append(workflow_command("notice", f"{len(failed) - MAX_ANNOTATIONS} more case(s) failed; the step "
                                    "summary lists them", file=file, title="pyparity gate: more failures"))
    return out


def gate_summary_markdown(outcomes, name: str) -> str:
    n_fail = sum(o.failed for o in outcomes)
    head = f"GATE FAILED: {n_fail} of {len(outcomes)} case(s)" if n_fail else f"GATE PASSED: {len(outcomes)} case(s)"
    lines = [f"### {'❌' if n_fail else '✅'} pyparity gate {_md(name)}", "", f"**{_md(head)}** in "
             f"{format_seconds(sum(o.seconds for o in outcomes))}", "",
             "| case | pipeline | status | vs golden | vs reference | first divergence / message | time |",
             "|---|---|---|---|---|---|--:|"]
    for o in outcomes:
        detail = o.golden_first or o.reference_first or o.message or o.golden_change
        lines.append(f"| {_code(o.name)} | {_md(o.pipeline)} | {'❌ ' if o.failed else ''}{_md(o.status)} | "
                     f"{_md(o.golden_status or '-')} | {_md(o.reference_status or '-')} | {_md(detail or '')} | "
                     f"{format_seconds(o.seconds)} |")
    return "\n".join(lines) + "\n"


def write_github_gate(outcomes, spec: str | os.PathLike, name: str, stream: TextIO | None = None,
                      summary_path: str | os.PathLike | None = None) -> Path | None:
    """`write_github` for a gate run: annotations at the failed cases' lines, one summary table."""
    stream = stream or sys.stdout
    for line in gate_annotations(outcomes, spec):
        stream.write(line + "\n")
    stream.flush()
    written = append_step_summary(gate_summary_markdown(outcomes, name), summary_path)
    if written is None:
        sys.stderr.write("note: GITHUB_STEP_SUMMARY is not set (not in a GitHub Actions step): no step summary "
                         "written\n")
    return written
