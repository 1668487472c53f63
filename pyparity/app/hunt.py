"""A hunt under the one set of report options: `hunt_options` turns `ReportOptions` (and the hunt's own
choices) into the hunt's options, `write_hunt_reports` writes what they ask for (JSON or standard output,
JUnit, HTML, GitHub annotations)."""

from __future__ import annotations

from pathlib import Path

from pyparity.app.reports import ReportOptions, write_text


def hunt_options(reports: ReportOptions, **choices):
    """`pyparity.hunt.session.HuntOptions` with the policy and stage globs of ``reports``."""
    from pyparity.hunt.session import HuntOptions

    return HuntOptions(policy=None if reports.policy is None else str(reports.policy),
                       stages=tuple(reports.stages) or None, **choices)


def _results(outcome) -> list[tuple[str, object]]:
    if outcome.kind == "corpus":
        return list(outcome.results)
    return [(Path(outcome.result.input).name, outcome.result)]


def write_hunt_reports(outcome, reports: ReportOptions) -> None:
    """The reports ``reports`` asks for, of a `HuntOutcome` (JUnit and GitHub: each input's first run)."""
    if reports.json is not None:
        from pyparity.render.hunt_json import hunt_json

        write_text(reports.json, hunt_json(outcome))
    if reports.html is not None:
        from pyparity.render.hunt_html import write_hunt_html

        write_hunt_html(outcome, reports.html)
    if reports.junit is not None:
        from pyparity.render.junit import write_junit

        write_junit([(name, r.first.report) for name, r in _results(outcome)], reports.junit)
    if reports.github:
        from pyparity.render.github import write_github

        items = [r.first.report for _, r in _results(outcome)]
        failing = [rep for rep in items if not rep.ok]
        write_github((failing or items)[0], title="pyparity hunt", elapsed=reports.elapsed())
