"""Where the gate's cases run: an executor maps a picklable function over the cases and yields the
results as they complete. `InProcess` runs them here, one after another; `LocalProcesses` in worker
processes with at most ``2 * jobs`` in flight, so memory stays flat however long the corpus is. A cluster
executor (Dask, ...) is one more class with the same ``map`` method.
"""

from __future__ import annotations

import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, Protocol


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """``fn(item)`` for every item, yielded in completion order."""


class InProcess:
    """Every case in this process, in order."""

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        for item in items:
            yield fn(item)


def _worker_init(sys_path: list[str]) -> None:
    for p in sys_path:
        if p not in sys.path:
            sys.path.append(p)


@dataclass
class LocalProcesses:
    """``jobs`` worker processes on this machine (they inherit ``sys.path``, so test modules' toy
    pipelines resolve there too)."""

    jobs: int

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        with ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_init, initargs=(list(sys.path),)) as ex:
            pending: set = set()
            todo = iter(items)
            exhausted = False
            while True:
                while not exhausted and len(pending) < 2 * self.jobs:
                    item = next(todo, None)
                    if item is None:
                        exhausted = True
                        break
                    pending.add(ex.submit(fn, item))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    yield f.result()


def local(jobs: int, n_items: int) -> Executor:
    """In this process for one job or one case, else ``jobs`` local processes."""
    return InProcess() if jobs <= 1 or n_items <= 1 else LocalProcesses(jobs)
