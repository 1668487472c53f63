"""Where a gate's cases and a corpus hunt's inputs run: an executor maps a picklable function over the
items and yields the results as they complete, with a bounded number in flight. `local.InProcess` and
`local.LocalProcesses` on this machine; `dask_cluster.DaskExecutor` (imported only when asked for) on
a Dask ``LocalCluster`` or an existing cluster, with the same ``map`` method.

Closing the iterator ``map`` returns (the gate's ``--fail-fast``) cancels every item not yet started.
An item whose worker died under it (killed, out of memory) yields ``on_error(item, exc)`` where the
caller gives one (the gate: an errored case), and the remaining items go on. Worker processes are set
up by `workers.prepare_worker` (one pipeline thread each, the coordinator's ``sys.path``).
"""

from __future__ import annotations

import os
from enum import Enum
from typing import Callable, Iterable, Iterator, Protocol

from pyparity.executors.local import InProcess, LocalProcesses, local

__all__ = ["EXECUTORS", "Executor", "ExecutorKind", "InProcess", "LocalProcesses", "local", "make_executor"]


class ExecutorKind(str, Enum):
    """``--executor``: where a gate's cases (a corpus hunt's inputs) run."""

    local = "local"
    dask = "dask"


EXECUTORS = tuple(k.value for k in ExecutorKind)


class Executor(Protocol):
    def map(self, fn: Callable, items: Iterable, on_error: Callable | None = None) -> Iterator:
        """``fn(item)`` for every item, yielded in completion order (``on_error(item, exc)`` for an item
        whose worker failed, where given; else the exception is raised)."""


def make_executor(kind: str, jobs: int | None, n_items: int, scheduler: str | None = None):
    """The executor ``--executor KIND`` names: ``local`` (``jobs`` processes, default all cores) or
    ``dask`` (a ``LocalCluster`` of ``jobs`` workers, default sized to the machine, or the cluster at
    ``scheduler``). Dask is imported only here, only for ``dask``."""
    from pyparity.errors import InputError

    if kind == "local":
        if scheduler:
            raise InputError("a scheduler address needs the dask executor", param="scheduler", value=scheduler)
        return local(max(1, jobs or os.cpu_count() or 1), n_items)
    if kind == "dask":
        from pyparity.executors.dask_cluster import DaskExecutor

        return DaskExecutor(scheduler=scheduler, workers=jobs)
    raise InputError(f"expected one of {', '.join(EXECUTORS)}", param="executor", value=kind)
