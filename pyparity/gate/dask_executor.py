"""The gate on Dask (``dask.distributed``): a ``LocalCluster`` sized to this machine, or an existing
cluster (``--scheduler tcp://HOST:8786``).

Each case is one task: the worker reads the case's input and reference where they are (the paths the
corpus spec names must be the same on every worker: shared storage) and sends back the case's compact
`CaseOutcome`, never its trace; the coordinator writes goldens and reports. At most ``2 x`` the cluster's
worker threads are in flight, so the coordinator's memory does not grow with the corpus. Closing the
iterator `map` returns cancels what has not started.

Workers started here run with ``PYPARITY_THREADS=1`` (`workers.worker_environment`); on an existing
cluster each task sets it, unless the worker's own environment already sets it, before any pipeline
code reads it.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Callable, Iterable, Iterator

from pyparity.errors import InputError
from pyparity.gate.workers import prepare_worker, worker_environment


def _missing_dask() -> InputError:
    return InputError('dask needs dask.distributed: pip install "pyparity[dask]"', param="executor")


_first_case = threading.Lock()
_warm = False


class _OnWorker:
    """``fn(item)`` on a worker, after making it look like a gate's local worker: the coordinator's
    ``sys.path`` entries (toy pipelines defined beside the spec resolve) and one MTCNN thread."""

    def __init__(self, fn: Callable, sys_path: list[str], env: dict[str, str]):
        self.fn, self.sys_path, self.env = fn, sys_path, env

    def __call__(self, item):
        global _warm
        prepare_worker(self.sys_path, self.env, override=False)
        if _warm:
            return self.fn(item)
        # a worker's first case imports the pipelines (and NumPy's corners, some of which call ast.parse:
        # not thread-safe in CPython 3.11) on whichever threads run cases: one first case at a time
        with _first_case:
            result = self.fn(item)
            _warm = True
        return result


class DaskExecutor:
    """Cases as Dask tasks. ``scheduler``: an existing cluster's address (else a ``LocalCluster`` of
    ``workers`` single-threaded worker processes, default one per core); ``in_process``: the
    ``LocalCluster``'s workers are threads of this process (tests)."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, in_process: bool = False):
        self.scheduler, self.workers, self.in_process = scheduler, workers, in_process

    def describe(self) -> str:
        return f"dask cluster {self.scheduler}" if self.scheduler else "dask LocalCluster"

    def _client(self):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise _missing_dask() from None
        if self.scheduler:
            try:
                return Client(self.scheduler, timeout="20s"), None
            except (OSError, TimeoutError) as exc:
                raise InputError(f"cannot reach the Dask scheduler ({exc})", param="scheduler",
                                 value=self.scheduler) from None
            except ValueError as exc:
                raise InputError(f"not a scheduler address ({exc})", param="scheduler", value=self.scheduler) from None
        n = max(1, self.workers or os.cpu_count() or 1)
        # any free ports: several gates (several users) on one machine must not collide on 8786 / 8787
        kwargs = dict(n_workers=n, threads_per_worker=1, dashboard_address=":0", scheduler_port=0)
        import dask

        # the workers' statistical profiler samples every thread 100 times a second: CPU a gate's cases need
        with dask.config.set({"distributed.worker.profile.enabled": False}):
            if self.in_process:
                cluster = LocalCluster(processes=False, **kwargs)
            else:
                # the gate's progress bar is the report; worker logs below warnings would scroll past it
                cluster = LocalCluster(processes=True, env=worker_environment(), silence_logs=40, **kwargs)
        return Client(cluster), cluster

    def map(self, fn: Callable, items: Iterable, on_error: Callable | None = None) -> Iterator:
        client, cluster = self._client()
        task = _OnWorker(fn, list(sys.path), worker_environment())
        pending: dict = {}
        try:
            from distributed import as_completed

            slots = 2 * max(1, sum(client.nthreads().values()) or 1)
            todo = iter(items)
            done = as_completed()
            for item in todo:
                f = client.submit(task, item, pure=False)
                pending[f] = item
                done.add(f)
                if len(pending) >= slots:
                    break
            for f in done:
                item = pending.pop(f)
                try:
                    result = f.result()
                except Exception as exc:  # the task's worker died (KilledWorker), or the cluster went away
                    if on_error is None:
                        raise
                    result = on_error(item, exc)
                nxt = next(todo, None)
                if nxt is not None:
                    nf = client.submit(task, nxt, pure=False)
                    pending[nf] = nxt
                    done.add(nf)
                f.release()
                yield result
        finally:
            if pending:
                client.cancel(list(pending))
            client.close()
            if cluster is not None:
                cluster.close()
