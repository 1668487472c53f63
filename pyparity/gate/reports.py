"""The gate's reports, streamed from its outcomes (a `runner.GateRun` or a list): JSON (``-``: standard
output), JUnit, GitHub annotations, the HTML index."""

from __future__ import annotations

import os
from pathlib import Path

from pyparity.app.reports import ReportOptions
from pyparity.corpus_spec import Corpus


def _write_chunks(target, chunks) -> None:
    """Pieces of text to a file (atomically) or, for ``"-"``, to standard output, as they come."""
    import sys

    from pyparity.app.reports import STDOUT
    from pyparity.atomic import atomic_path

    if os.fspath(target) == STDOUT:
        for c in chunks:
            sys.stdout.write(c)
        sys.stdout.flush()
        return
    with atomic_path(target) as tmp, open(tmp, "w", encoding="utf-8") as f:
        for c in chunks:
            f.write(c)


def write_gate_json(outcomes, corpus: Corpus, target) -> None:
    """The gate's JSON report (`render.gate.gate_document`), streamed a case at a time."""
    from pyparity.render.gate import gate_json_chunks

    _write_chunks(target, gate_json_chunks(outcomes, corpus))


def write_gate_junit(outcomes, target) -> None:
    """The gate's JUnit report, streamed a case at a time."""
    from pyparity.render.gate import gate_junit_chunks

    _write_chunks(target, gate_junit_chunks(outcomes))


def write_gate_reports(outcomes, corpus: Corpus, reports: ReportOptions) -> Path | None:
    """The gate's JSON (``-``: standard output), JUnit and HTML index as ``reports`` asks, streamed from
    ``outcomes`` (a `GateRun`, or a list); returns the index page written, if any."""
    from pyparity.app.reports import write_text
    from pyparity.render.gate import gate_index_html

    if reports.json is not None:
        write_gate_json(outcomes, corpus, reports.json)
    if reports.junit is not None:
        write_gate_junit(outcomes, reports.junit)
    if reports.github:
        from pyparity.render.github import write_github_gate

        write_github_gate(outcomes, corpus.path, corpus.name)
    if reports.html is not None:
        index = Path(reports.html) / "index.html"
        write_text(index, gate_index_html(outcomes, corpus))
        return index
    return None
