"""The process's thread setting for pipelines (`pyparity.pipelines.threads`)."""

from __future__ import annotations

import os

import pytest

from pyparity.errors import InputError
from pyparity.pipelines.threads import default_threads


@pytest.mark.parametrize("value", ["two", "0", "-1", "1.5"])
def test_a_bad_pyparity_threads_is_one_clear_error(monkeypatch, value):
    monkeypatch.setenv("PYPARITY_THREADS", value)
    with pytest.raises(InputError, match="PYPARITY_THREADS must be a positive integer"):
        default_threads()


def test_pyparity_threads_wins_else_the_cpus_this_process_may_use(monkeypatch):
    monkeypatch.setenv("PYPARITY_THREADS", " 3 ")
    assert default_threads() == 3
    monkeypatch.delenv("PYPARITY_THREADS")
    assert default_threads() == len(os.sched_getaffinity(0))
