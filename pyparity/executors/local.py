"""Items on this machine: `InProcess` runs them here, one after another; `LocalProcesses` in worker
processes with at most ``2 * jobs`` in flight, so memory stays flat however long the corpus is (a
broken process pool is replaced, and the items it held are rerun one by one).
"""

from __future__ import annotations

import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from pyparity.executors.workers import prepare_worker, worker_environment


class InProcess:
    """Every case in this process, in order."""

    def map(self, fn: Callable, items: Iterable, on_error: Callable | None = None) -> Iterator:
        for item in items:
            yield fn(item)


@dataclass
class LocalProcesses:
    """``jobs`` worker processes on this machine (they inherit ``sys.path``, so test modules' toy
    pipelines resolve there too)."""

    jobs: int

    def _pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.jobs, initializer=prepare_worker,
                                   initargs=(list(sys.path), worker_environment()))

    def _alone(self, fn: Callable, item, on_error: Callable):
        with ProcessPoolExecutor(max_workers=1, initializer=prepare_worker,
                                 initargs=(list(sys.path), worker_environment())) as solo:
            try:
                return solo.submit(fn, item).result()
            except Exception as exc:
                return on_error(item, exc)

    def map(self, fn: Callable, items: Iterable, on_error: Callable | None = None) -> Iterator:
        from concurrent.futures.process import BrokenProcessPool

        ex = self._pool()
        pending: dict = {}
        try:
            todo = iter(items)
            exhausted = False
            while True:
                while not exhausted and len(pending) < 2 * self.jobs:
                    item = next(todo, None)
                    if item is None:
                        exhausted = True
                        break
                    pending[ex.submit(fn, item)] = item
                if not pending:
                    break
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    if f not in pending:
                        continue  # resubmitted to a new pool below
                    item = pending.pop(f)
                    try:
                        result = f.result()
                    except BrokenProcessPool as exc:
                        if on_error is None:
                            raise
                        # a worker died and took the pool down with every case in flight: rerun those one
                        # at a time, each in a pool of its own, so only the case that kills its worker fails
                        ex.shutdown(wait=False, cancel_futures=True)
                        suspects = [item, *pending.values()]
                        pending = {}
                        for it in suspects:
                            yield self._alone(fn, it, on_error)
                        ex = self._pool()
                        continue
                    except Exception as exc:
                        if on_error is None:
                            raise
                        result = on_error(item, exc)
                    yield result
        finally:
            for f in pending:
                f.cancel()
            ex.shutdown(wait=True, cancel_futures=True)


def local(jobs: int, n_items: int) -> InProcess | LocalProcesses:
    """In this process for one job or one case, else ``jobs`` local processes."""
    return InProcess() if jobs <= 1 or n_items <= 1 else LocalProcesses(jobs)
