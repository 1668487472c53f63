"""The one set of report options every comparing front-end offers, and writing the reports it asks for.

`ReportOptions` is what ``--json [-]``, ``--junit``, ``--html``, ``--stage``, ``--max-rows`` and
``--policy`` become, on `diff`, every `run`, `hunt` and `gate` alike; `write_reports` writes the files
(each atomically; ``json="-"`` writes to standard output).
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

STDOUT = "-"


@dataclass(frozen=True)
class ReportOptions:
    """What to compare and how to report it.

    json: a path, or ``"-"`` for standard output (then the table goes to standard error).
    junit, html: paths (the gate's ``html`` is a folder: one page per case and an index).
    stages: globs restricting the comparison (each must match a stage); empty: what the run recorded.
    max_rows: rows of the stage table to print.
    table: True always prints the stage table, False never, None only when the comparison failed (a
        passing one is a summary block).
    github: GitHub Actions annotations on standard output and the step summary.
    policy: a built-in policy name, a path or a `Policy`; None: the default policy of the pipeline that
        produced the candidate (its trace's producer), else the built-in default.
    quiet: no table. diagnose_all: diagnose every diverged stage, not only the first.
    """

    json: str | os.PathLike | None = None
    junit: str | os.PathLike | None = None
    html: str | os.PathLike | None = None
    stages: tuple[str, ...] = ()
    max_rows: int = 40
    policy: object = None
    quiet: bool = False
    diagnose_all: bool = False
    table: bool | None = None
    github: bool = False
    started: float = field(default_factory=time.perf_counter, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stages", tuple(self.stages or ()))
        if self.max_rows < 1:
            from pyparity.errors import UsageError

            raise UsageError("must be at least 1", param="max_rows", value=self.max_rows)

    @property
    def json_to_stdout(self) -> bool:
        return self.json is not None and os.fspath(self.json) == STDOUT

    def elapsed(self) -> float:
        """Seconds since the command's options were read (the summary and the reports print it)."""
        return time.perf_counter() - self.started

    @property
    def files(self) -> bool:
        """True when some report output (JSON, JUnit, HTML) is asked for."""
        return any(x is not None for x in (self.json, self.junit, self.html))


def write_text(target: str | os.PathLike, text: str) -> None:
    """``text`` to a file (atomically) or, for ``"-"``, to standard output."""
    if os.fspath(target) == STDOUT:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from pyparity.atomic import write_text_atomic

    write_text_atomic(target, text)


def write_reports(report, reports: ReportOptions, reference=None, candidate=None, image=None,
                  title: str | None = None) -> None:
    """The JSON, JUnit and HTML reports ``reports`` asks for, of one `DiffReport`."""
    if reports.json is not None:
        from pyparity.render.json_report import report_json

        write_text(reports.json, report_json(report) + "\n")
    if reports.junit is not None:
        from pyparity.render.junit import write_junit

        name = Path(str(candidate.source)).name if candidate is not None and candidate.source else ""
        write_junit([(name or "run", report)], reports.junit)
    if reports.html is not None:
        from pyparity.render.html import write_html

        write_html(report, reports.html, reference=reference, candidate=candidate, image=image, title=title)
    if reports.github:
        from pyparity.render.github import write_github

        write_github(report, title=title or "pyparity diff", elapsed=reports.elapsed())
