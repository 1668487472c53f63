"""Option groups shared by commands: declared once here, added to a command by a decorator that hands
the command one object (`ReportOptions`, `RunTarget`) instead of the loose flags."""

from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Callable, List, Optional

import typer

P = inspect.Parameter


def _group(name: str, params: list[inspect.Parameter], build: Callable[..., object]):
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
        from cli.common import guarded

        return guarded(wrapper)
    return deco


def _opt(name: str, annotation, default=None) -> inspect.Parameter:
    return P(name, P.KEYWORD_ONLY, default=default, annotation=annotation)


def report_options(html_help: str = "Write a self-contained HTML report here.", what: str = "the diff report"):
    """``--json [-] --junit --html --stage --table --max-rows --policy --quiet --diagnose-all --github`` ->
    ``reports``."""
    from pyparity.app.reports import ReportOptions

    params = [
        _opt("json_out", Annotated[Optional[str], typer.Option("--json", metavar="PATH|-", help=(
            f"Write {what} as JSON here ('-': to standard output; the table then goes to standard error)."))]),
        _opt("junit_out", Annotated[Optional[Path], typer.Option("--junit", help="Write a JUnit XML report here.")]),
        _opt("html_out", Annotated[Optional[Path], typer.Option("--html", help=html_help)]),
        _opt("stage", Annotated[Optional[List[str]], typer.Option("--stage", help=(
            "Compare only stages matching this glob (repeatable; * stays in a component, ** crosses); "
            "default: every stage the run recorded."))]),
        _opt("table", Annotated[bool, typer.Option("--table", help="Print the stage table even when every stage "
                                                   "matches (a failing comparison always prints it).")], False),
        _opt("max_rows", Annotated[Optional[int], typer.Option("--max-rows", min=1, help=(
            "Rows of the stage table to print (default 40; implies --table)."))]),
        _opt("policy", Annotated[Optional[str], typer.Option("--policy", metavar="NAME|PATH", help=(
            "Tolerance policy: a built-in name (mtcnn, openface, img2pose, pof, ...) or a TOML path (./NAME for a "
            "file here); default: the policy of the pipeline that produced the candidate."))]),
        _opt("quiet", Annotated[bool, typer.Option("--quiet", "-q", help="No table: the verdict line, exit code and "
                                                   "reports only.")], False),
        _opt("diagnose_all", Annotated[bool, typer.Option("--diagnose-all", help="Diagnose every diverged stage, not "
                                                          "only the first.")], False),
        _opt("github", Annotated[bool, typer.Option("--github", help="GitHub Actions: print ::error annotations for "
                                                    "the divergences and append a summary to $GITHUB_STEP_SUMMARY.")],
             False),
    ]

    def build(json_out, junit_out, html_out, stage, table, max_rows, policy, quiet, diagnose_all, github):
        return ReportOptions(json=json_out, junit=junit_out, html=html_out, stages=tuple(stage or ()),
                             max_rows=max_rows or 40, table=True if table or max_rows else None, policy=policy,
                             quiet=quiet, diagnose_all=diagnose_all, github=github)

    return _group("reports", params, build)


@dataclass(frozen=True)
class RunTarget:
    """Where a run's trace goes, what it is compared with, and where it starts."""

    out: Path | None
    diff: Path | None
    from_reference: Path | None
    start: str | None

    def stage_ref(self):
        """``--from-reference DUMP --start STAGE`` (together or not at all) as a `StageRef`, or None."""
        from pyparity.errors import UsageError
        from pyparity.trace import StageRef, read_trace

        if (self.from_reference is None) != (self.start is None):
            raise UsageError("--from-reference and --start go together")
        return StageRef(read_trace(self.from_reference), self.start) if self.from_reference is not None else None


def run_options(start_help: str, out_help: str = "Write the trace here.",
                diff_help: str = "Reference dump to diff against.", start_type=str):
    """``--out --diff --from-reference --start`` -> ``target`` (a `RunTarget`)."""
    params = [
        _opt("out", Annotated[Optional[Path], typer.Option("--out", help=out_help)]),
        _opt("reference", Annotated[Optional[Path], typer.Option("--diff", help=diff_help)]),
        _opt("from_reference", Annotated[Optional[Path], typer.Option("--from-reference", help=(
            "Reference dump to take the stages before --start from."))]),
        _opt("start", Annotated[Optional[start_type], typer.Option("--start", help=start_help)]),
    ]

    def build(out, reference, from_reference, start):
        return RunTarget(out, reference, from_reference, None if start is None else str(getattr(start, "value", start)))

    return _group("target", params, build)


ModelDir = Annotated[Optional[Path], typer.Option("--model-dir", help=(
    "OpenFace model folder (checked against the model manifest; default: the model manager's)."))]
