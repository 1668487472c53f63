"""A hunt under the one set of report options: `hunt_options` turns `ReportOptions` (and the hunt's own
choices) into the hunt's options, `corpus_executor` picks where a corpus's inputs are hunted
(``--executor``, ``--jobs``, ``--scheduler``, as the gate's), `write_hunt_reports` writes what they ask for
(JSON or standard output, JUnit, HTML, GitHub annotations)."""

from __future__ import annotations

from pathlib import Path

from pyparity.app.reports import ReportOptions, write_text


def hunt_options(reports: ReportOptions, **choices):
    """`pyparity.hunt.session.HuntOptions` with the policy and stage globs of ``reports``."""
    from pyparity.hunt.one import HuntOptions

    if choices.get("shared_dir") is not None:
        from pyparity.shared import shared_dir

        choices["shared_dir"] = shared_dir(choices["shared_dir"]).resolve()  # absolute: workers may run elsewhere
    return HuntOptions(policy=None if reports.policy is None else str(reports.policy),
                       stages=tuple(reports.stages) or None, **choices)


def corpus_executor(kind: str, jobs: int | None, scheduler: str | None, corpus: Path | None):
    """A function of the number of cases that makes the executor ``--executor KIND`` names
    (`pyparity.executors.make_executor`), or None for one image or a sequence, where these options
    have no work to spread: given there anyway, a `UsageError`."""
    if corpus is None:
        if kind != "local" or jobs is not None or scheduler is not None:
            from pyparity.errors import UsageError

            raise UsageError("--executor, --jobs and --scheduler spread a --corpus's inputs: give --corpus SPEC|DIR")
        return None
    from pyparity.executors import make_executor

    return lambda n_items: make_executor(kind, jobs, n_items, scheduler)


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
