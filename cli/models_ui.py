"""What `pyparity models fetch` shows on a terminal: the licence, the question, one progress bar."""

from __future__ import annotations

import sys

import typer


def console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def show_licence(lic) -> None:
    c = console()
    c.print(f"[bold]{lic.title}[/bold]")
    c.print(lic.summary)
    c.print(f"Full licence: {lic.url}", soft_wrap=True)


def accepted(lic) -> bool:
    """Ask on a terminal only; in scripts the answer must come from --accept-license."""
    show_licence(lic)
    if not sys.stdin.isatty():
        return False
    return typer.confirm("Do you accept these terms?", default=False, err=True)


class Bar:
    """One rich progress bar over all bytes fetched (files copied or downloaded one after another)."""

    def __init__(self, total: int) -> None:
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self.p = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                          TimeRemainingColumn(), console=console(), transient=True)
        self.task = self.p.add_task("models", total=total)
        self.last: dict[str, int] = {}

    def __call__(self, f, done: int, size: int) -> None:
        prev = self.last.get(f.key, 0)
        if done < prev:          # a retry from another source restarts the file
            prev = 0
        self.last[f.key] = done
        self.p.update(self.task, advance=done - prev, description=f.name)
