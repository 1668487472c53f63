"""The Dask executor (`pyparity.executors.dask_cluster`): how many cases one task carries (`Batching`), and
a worker that dies under one case among tasks of several."""

from __future__ import annotations

import os
import time

import pytest

from pyparity.executors.dask_cluster import Batching


def test_one_case_per_task_until_a_task_has_come_back():
    assert Batching(slots=2).size(remaining=1000) == 1


def test_tasks_last_about_task_seconds_at_the_median_seconds_per_case():
    b = Batching(slots=2, task_seconds=1.0)
    b.measured(1, 3.0)  # a worker's first case: models loaded, kernels compiled
    b.measured(1, 0.1)
    b.measured(4, 0.4)
    assert b.size(remaining=1000) == 10  # median 0.1 s per case, not the mean's 0.78 s
    for _ in range(4):
        b.measured(10, 0.5)
    assert b.size(remaining=1000) == 20  # median now 0.05 s (0.05 four times of seven)


def test_the_last_tasks_share_what_is_left_and_never_exceed_max_cases():
    b = Batching(slots=2, task_seconds=1.0, max_cases=8)
    b.measured(100, 0.1)  # 1 ms per case: a thousand per second
    assert b.size(remaining=1000) == 8
    assert b.size(remaining=20) == 5  # 20 cases over 2 slots, two tasks each in flight
    assert b.size(remaining=3) == 1


KILLER = 5


def tenfold_or_die(i: int) -> int:
    if i == KILLER:
        time.sleep(0.3)  # long enough for the scheduler to queue the next task on this worker
        os._exit(3)  # the worker process dies under this item (out of memory, a segfault)
    return 10 * i


@pytest.mark.parametrize("cases_per_task", [1, 3])
def test_only_the_item_that_kills_its_worker_fails(cases_per_task):
    """Items in tasks of one or three on one worker process; one kills it. The task queued behind it on
    that worker (two are in flight) dies with it, and Dask retries nothing here (allowed-failures 0), yet
    every other item comes back."""
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    from pyparity.executors.dask_cluster import DaskExecutor

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        out = list(DaskExecutor(workers=1, cases_per_task=cases_per_task).map(
            tenfold_or_die, range(12), on_error=lambda item, exc: (item, type(exc).__name__)))
    assert sorted(out, key=str) == sorted([10 * i for i in range(12) if i != KILLER] + [(KILLER, "KilledWorker")],
                                          key=str)


def tenfold_or_raise(i: int) -> int:
    if i == 4:
        raise ValueError("four")
    return 10 * i


def test_an_item_that_raises_fails_alone_and_its_task_mates_come_back():
    pytest.importorskip("distributed")
    from pyparity.executors.dask_cluster import DaskExecutor

    ex = DaskExecutor(workers=2, in_process=True, cases_per_task=3)
    out = list(ex.map(tenfold_or_raise, range(9), on_error=lambda item, exc: (item, str(exc))))
    assert sorted(out, key=str) == sorted([10 * i for i in range(9) if i != 4] + [(4, "four")], key=str)
    with pytest.raises(ValueError, match="four"):
        list(DaskExecutor(workers=2, in_process=True, cases_per_task=3).map(tenfold_or_raise, range(9)))


def blas_threads(_) -> int:
    """This worker's OpenBLAS thread count."""
    from pyparity.pipelines.blas import _openblas

    lib = _openblas()
    old = lib.openblas_set_num_threads_local(1)
    lib.openblas_set_num_threads_local(old)
    return old


def test_local_cluster_workers_run_openblas_on_one_thread():
    """The workers are forked from a fork server that imports NumPy before Dask's nanny sets
    ``OPENBLAS_NUM_THREADS=1`` and the rest; the fork server must have them already, or OpenBLAS in every
    worker runs on all cores, against the other workers."""
    pytest.importorskip("distributed")
    from pyparity.executors.dask_cluster import DaskExecutor
    from pyparity.pipelines.blas import _openblas

    if _openblas() is None:
        pytest.skip("NumPy's bundled OpenBLAS is not found here")
    assert list(DaskExecutor(workers=2, cases_per_task=1).map(blas_threads, range(2))) == [1, 1]
