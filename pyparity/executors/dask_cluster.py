"""The gate on Dask (``dask.distributed``): a ``LocalCluster`` sized to this machine, or an existing
cluster (``--scheduler tcp://HOST:8786``).

The worker reads each case's input and reference where they are (the paths the corpus spec names must
be the same on every worker: shared storage) and sends back the case's compact `CaseOutcome`, never its
trace; the coordinator writes goldens and reports.

Cases travel in tasks of several (`Batching`): a Dask task costs the scheduler, the client and the worker
a few milliseconds of CPU whatever it does, as much as a tenth of a short case. The first tasks carry one
case each; then as many as take about ``task_seconds`` on a worker, never so many that a worker would be
left idle at the end. A task's cases come back together. A dead worker takes the tasks queued on it down
too: a task whose worker died (Dask's ``KilledWorker``) is split and its cases run again one per task, and
a case whose own task died runs once more with nothing else in flight, so only a case that kills its
worker alone is reported as errored. At most ``2 x`` the
cluster's worker threads of tasks are in flight, so the coordinator's memory does not grow with the
corpus. Closing the iterator `map` returns cancels what has not started.

Workers started here run with ``PYPARITY_THREADS=1`` (`workers.worker_environment`); on an existing
cluster each task sets it, unless the worker's own environment already sets it, before any pipeline
code reads it.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from pyparity.errors import InputError
from pyparity.executors.workers import prepare_worker, worker_environment


def _missing_dask() -> InputError:
    return InputError('dask needs dask.distributed: pip install "pyparity[dask]"', param="executor")


_first_case = threading.Lock()
_warm = False


class _OnWorker:
    """``fn(item)`` on a worker, after making it look like a gate's local worker: the coordinator's
    ``sys.path`` entries (toy pipelines defined beside the spec resolve) and one MTCNN thread."""

    def __init__(self, fn: Callable, sys_path: list[str], env: dict[str, str]):
        self.fn, self.sys_path, self.env = fn, sys_path, env

    def __call__(self, items: list) -> tuple[list, float]:
        """The results of ``items``, in order (an item whose ``fn`` raised: `_Raised`), and the seconds they
        took."""
        global _warm
        prepare_worker(self.sys_path, self.env, override=False)
        t0 = time.perf_counter()
        results = []
        for item in items:
            if _warm:
                results.append(self._one(item))
                continue
            # a worker's first case imports the pipelines (and NumPy's corners, some of which call ast.parse:
            # not thread-safe in CPython 3.11) on whichever threads run cases: one first case at a time
            with _first_case:
                results.append(self._one(item))
                _warm = True
        return results, time.perf_counter() - t0

    def _one(self, item):
        try:
            return self.fn(item)
        except Exception as exc:  # this item's failure, not its task-mates'
            return _Raised(exc)


@dataclass
class _Raised:
    """What ``fn`` raised for one item of a task (the coordinator passes it to ``on_error``, or raises it)."""

    exc: Exception


@dataclass
class Batching:
    """How many cases one task carries: one until a task has come back, then as many as take about
    ``task_seconds`` at the median seconds per case of the last tasks (a worker's first case, which loads
    the models, does not skew it), at most ``max_cases``, and no more than an equal share of what is left
    for every slot (``slots``: tasks the cluster runs at once), so that the last tasks end together."""

    slots: int
    task_seconds: float = 1.0
    max_cases: int = 64
    per_case: deque = field(default_factory=lambda: deque(maxlen=16))

    def measured(self, n_cases: int, seconds: float) -> None:
        self.per_case.append(seconds / max(1, n_cases))

    def size(self, remaining: int) -> int:
        if not self.per_case:
            return 1
        wanted = int(self.task_seconds / max(statistics.median(self.per_case), 1e-6))
        return max(1, min(wanted, self.max_cases, remaining // (2 * self.slots)))


def _start_fork_server(fn: Callable) -> bool:
    """Start the fork server that the ``LocalCluster``'s workers are forked from (False where the platform
    has none: Dask spawns them), now, so that its imports overlap the coordinator's own (Dask, the
    scheduler). It imports the coordinator's main script (else every worker would run it again, as
    ``__mp_main__``: for the CLI, all of it), Dask, NumPy and ``fn``'s module if it is pyparity's (a test's or
    a user's module is left to the workers). One fork server serves this process for its life, with the
    modules and the environment it started with."""
    import multiprocessing
    from multiprocessing import forkserver

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    # what Dask's nanny puts into this process's environment before it starts a worker (the user's values
    # first), needed by the fork server now: the libraries it imports read them as they load
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    module = getattr(getattr(fn, "func", fn), "__module__", None) or ""
    mine = [module] if module.startswith("pyparity.") else []
    multiprocessing.get_context("forkserver").set_forkserver_preload(["__main__", "distributed", "numpy", *mine])
    forkserver.ensure_running()
    return True


class DaskExecutor:
    """Cases as Dask tasks. ``scheduler``: an existing cluster's address (else a ``LocalCluster`` of
    ``workers`` single-threaded worker processes, default one per core); ``in_process``: the
    ``LocalCluster``'s workers are threads of this process (tests); ``cases_per_task``: a fixed number of
    cases in every task (default: `Batching`'s)."""

    def __init__(self, scheduler: str | None = None, workers: int | None = None, in_process: bool = False,
                 cases_per_task: int | None = None):
        self.scheduler, self.workers, self.in_process = scheduler, workers, in_process
        self.cases_per_task = cases_per_task

    def describe(self) -> str:
        return f"dask cluster {self.scheduler}" if self.scheduler else "dask LocalCluster"

    def _client(self, fn: Callable):
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise _missing_dask()
        forked = not (self.scheduler or self.in_process) and _start_fork_server(fn)
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

        # Dask's defaults that cost a gate's cases CPU (measured on MTCNN cases, ~65 CPU ms each):
        # - the workers' statistical profiler samples every thread 100 times a second;
        # - the nanny's MALLOC_TRIM_THRESHOLD_ (64 KiB) makes glibc map and unmap every image-sized array
        #   afresh, for memory the next case allocates again: a third more CPU per case (None unsets it);
        # - periodic chores in every process, ~5 % more: the event-loop tick (every 20 ms), the system
        #   monitor (the dashboard's time series, every 500 ms), the memory monitor (every 100 ms: a runaway
        #   case now meets the memory limit up to a second later).
        cfg = {"distributed.worker.profile.enabled": False,
               "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
               "distributed.admin.tick.interval": "1s", "distributed.admin.system-monitor.interval": "5s",
               "distributed.worker.memory.monitor-interval": "1s"}
        if forked:
            # workers forked from a fork server that has imported Dask, NumPy and the task's module once
            # start sooner than fresh interpreters that each import them (`spawn`), and close in
            # milliseconds, not half a second: 1.3 s less a gate on the project's machine (docs/gate-cluster.md). The coordinator itself is never
            # forked (Dask's ``fork``): its event-loop thread could hold a lock at the fork.
            cfg["distributed.worker.multiprocessing-method"] = "forkserver"
        with dask.config.set(cfg):
            if self.in_process:
                cluster = LocalCluster(processes=False, **kwargs)
            else:
                # the gate's progress bar is the report; worker logs below warnings would scroll past it
                cluster = LocalCluster(processes=True, env=worker_environment(), silence_logs=40, **kwargs)
        return Client(cluster), cluster

    def map(self, fn: Callable, items: Iterable, on_error: Callable | None = None) -> Iterator:
        client, cluster = self._client(fn)
        task = _OnWorker(fn, list(sys.path), worker_environment())
        pending: dict = {}  # future -> the items it carries
        try:
            from distributed import as_completed
            from distributed.scheduler import KilledWorker

            slots = max(1, sum(client.nthreads().values()) or 1)
            batching = Batching(slots)
            todo = list(items)
            todo.reverse()  # popped from the end: the corpus's order
            # a dead worker takes down the tasks queued on it too: the items of a task that died run again
            # one per task (`split`), and an item whose own task died runs once more alone (`alone`: nothing
            # else in flight), where only it can kill its worker
            split: list = []
            alone: list = []
            alone_keys: set = set()
            done = as_completed(with_results=True, raise_errors=False)

            def submit() -> None:
                if alone:
                    if not pending:
                        f = client.submit(task, [alone[-1]], pure=False)
                        pending[f] = [alone.pop()]
                        alone_keys.add(f.key)
                        done.add(f)
                    return
                chunks = []  # one graph update for all the tasks that fill the window
                while len(pending) + len(chunks) < 2 * slots and (split or todo):
                    if split:
                        chunks.append([split.pop()])
                        continue
                    n = self.cases_per_task or batching.size(len(todo))
                    chunks.append([todo.pop() for _ in range(min(n, len(todo)))])
                if chunks:
                    futures = client.map(task, chunks, pure=False)
                    pending.update(zip(futures, chunks))
                    done.update(futures)

            submit()
            for f, result in done:
                chunk = pending.pop(f)
                ran_alone = f.key in alone_keys
                status = f.status
                f.release()
                results = []
                if status == "finished":
                    results, seconds = result
                    batching.measured(len(chunk), seconds)
                    for k, r in enumerate(results):
                        if isinstance(r, _Raised):
                            if on_error is None:
                                raise r.exc
                            results[k] = on_error(chunk[k], r.exc)
                else:
                    exc = result[1] if isinstance(result, tuple) else result
                    if isinstance(exc, KilledWorker) and len(chunk) > 1:
                        split.extend(reversed(chunk))
                    elif isinstance(exc, KilledWorker) and not ran_alone:
                        alone.append(chunk[0])
                    elif on_error is None:
                        raise exc
                    else:  # the item killed its worker when alone, the task failed, or the cluster went away
                        results = [on_error(item, exc) for item in chunk]
                submit()
                yield from results
        finally:
            if pending:
                client.cancel(list(pending))
            client.close()
            if cluster is not None:
                cluster.close()
