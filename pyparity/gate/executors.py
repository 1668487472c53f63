"""Where the gate's cases run: an executor maps a picklable function over the cases and yields the
results as they complete. `InProcess` runs them here, one after another; `LocalProcesses` in worker
processes with at most ``2 * jobs`` in flight, so memory stays flat however long the corpus is; the Dask
executor (`pyparity.gate.dask_executor`, imported only when asked for) on a ``LocalCluster`` or an
existing cluster, with the same ``map`` method.

Closing the iterator ``map`` returns (the gate's ``--fail-fast``) cancels every case not yet started.
Worker processes run MTCNN's pieces on one thread each (``PYPARITY_THREADS=1``, `worker_environment`):
the workers already keep the cores busy. A ``PYPARITY_THREADS`` set by the user is passed on instead.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum
from typing import Callable, Iterable, Iterator, Protocol



class ExecutorKind(str, Enum):
    """``--executor``: where a gate's cases run."""

    local = "local"
    dask = "dask"


EXECUTORS = tuple(k.value for k in ExecutorKind)


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable) -> Iterator:
        """``fn(item)`` for every item, yielded in completion order."""


def worker_environment() -> dict[str, str]:
    """What a gate's worker process runs with: one MTCNN thread unless the user says otherwise."""
    return {"PYPARITY_THREADS": os.environ.get("PYPARITY_THREADS") or "1"}


class InProcess:
    """Every case in this process, in order."""

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        for item in items:
            yield fn(item)


def _worker_init(sys_path: list[str], env: dict[str, str]) -> None:
    os.environ.update(env)
    for p in sys_path:
        if p not in sys.path:
            sys.path.append(p)


@dataclass
class LocalProcesses:
    """``jobs`` worker processes on this machine (they inherit ``sys.path``, so test modules' toy
    pipelines resolve there too)."""

    jobs: int

    def map(self, fn: Callable, items: Iterable) -> Iterator:
        ex = ProcessPoolExecutor(max_workers=self.jobs, initializer=_worker_init,
                                 initargs=(list(sys.path), worker_environment()))
        pending: set = set()
        try:
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
        finally:
            for f in pending:
                f.cancel()
            ex.shutdown(wait=True, cancel_futures=True)


def local(jobs: int, n_items: int) -> Executor:
    """In this process for one job or one case, else ``jobs`` local processes."""
    return InProcess() if jobs <= 1 or n_items <= 1 else LocalProcesses(jobs)


def make_executor(kind: str, jobs: int | None, n_items: int, scheduler: str | None = None):
    """The executor ``--executor KIND`` names: ``local`` (``jobs`` processes, default all cores) or
    ``dask`` (a ``LocalCluster`` of ``jobs`` workers, default sized to the machine, or the cluster at
    ``scheduler``). Dask is imported only here, only for ``dask``."""
    from pyparity.errors import InputError

    if kind == "local":
        if scheduler:
            raise InputError("--scheduler needs --executor dask")
        return local(max(1, jobs or os.cpu_count() or 1), n_items)
    if kind == "dask":
        from pyparity.gate.dask_executor import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=jobs)
    raise InputError(f"--executor {kind!r}: expected one of {', '.join(EXECUTORS)}")
