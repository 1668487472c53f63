"""Option groups shared by commands: declared once here, added to a command by a decorator that hands
the command one object (`ReportOptions`; `RunTarget` in run_options.py) instead of the loose flags."""

from __future__ import annotations

import functools
import inspect
import typing
from pathlib import Path
from typing import Annotated, Callable, List, Optional

import typer

P = inspect.Parameter


def option_group(name: str, params: list[inspect.Parameter], build: Callable[..., object]):
    """A decorator adding ``params`` to a command and passing ``build(**their values)`` as ``name``."""
    def deco(fn):
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn, include_extras=True)  # the command's own names, resolved here
        own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in sig.parameters.values() if p.name != name]

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            values = {p.name: kwargs.pop(p.name, p.default) for p in params}
            return fn(*args, **kwargs, **{name: build(**values)})

        wrapper.__signature__ = sig.replace(parameters=own + params)
        wrapper.__annotations__ = {p.name: p.annotation for p in own + params if p.annotation is not P.empty}
        del wrapper.__wrapped__
        from pyparity.cli.common import guarded

        return guarded(wrapper)
    return deco


def keyword_option(name: str, annotation, default=None) -> inspect.Parameter:
    return P(name, P.KEYWORD_ONLY, default=default, annotation=annotation)


def report_options(html_help: str = "Write a self-contained HTML report here.", what: str = "the diff report"):
    """``--json [-] --junit --html --stage --table --max-rows --policy --quiet --diagnose-all --github`` ->
    ``reports``."""
    from pyparity.app.reports import ReportOptions

    params = [
        keyword_option("json_out", Annotated[Optional[str], typer.Option("--json", metavar="PATH|-", help=(
            f"Write {what} as JSON here ('-': to standard output; the table then goes to standard error)."))]),
        keyword_option("junit_out", Annotated[Optional[Path], typer.Option("--junit", help="Write a JUnit XML report here.")]),
        keyword_option("html_out", Annotated[Optional[Path], typer.Option("--html", help=html_help)]),
        keyword_option("stage", Annotated[Optional[List[str]], typer.Option("--stage", help=(
            "Compare only stages matching this glob (repeatable; * stays in a component, ** crosses); "
            "default: every stage the run recorded."))]),
        keyword_option("table", Annotated[bool, typer.Option("--table", help="Print the stage table even when every stage "
                                                   "matches (a failing comparison always prints it).")], False),
        keyword_option("max_rows", Annotated[Optional[int], typer.Option("--max-rows", min=1, help=(
            "Rows of the stage table to print (default 40; implies --table)."))]),
        keyword_option("policy", Annotated[Optional[str], typer.Option("--policy", metavar="NAME|PATH", help=(
            "Tolerance policy: a built-in name (mtcnn, openface, img2pose, pof, ...) or a TOML path (./NAME for a "
            "file here); default: the policy of the pipeline that produced the candidate."))]),
        keyword_option("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="No table: the verdict line, exit code and "
                                                   "reports only.")], False),
        keyword_option("diagnose_all", Annotated[bool, typer.Option("--diagnose-all", help="Diagnose every diverged stage, not "
                                                          "only the first.")], False),
        keyword_option("github", Annotated[bool, typer.Option("--github", help="GitHub Actions: print ::error annotations for "
                                                    "the divergences and append a summary to $GITHUB_STEP_SUMMARY.")],
             False),
    ]

    def build(json_out, junit_out, html_out, stage, table, max_rows, policy, quiet, diagnose_all, github):
        return ReportOptions(json=json_out, junit=junit_out, html=html_out, stages=tuple(stage or ()),
                             max_rows=max_rows or 40, table=True if table or max_rows else None, policy=policy,
                             quiet=quiet, diagnose_all=diagnose_all, github=github)

    return option_group("reports", params, build)
