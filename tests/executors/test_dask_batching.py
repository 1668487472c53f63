"""How many cases one Dask task carries (`pyparity.executors.dask_cluster.Batching`)."""

from __future__ import annotations

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
