"""How many threads a pipeline spreads its independent work over (MTCNN's pyramid levels and crops,
img2pose's numpy layers): ``PYPARITY_THREADS`` if set, else the CPUs this process may run on. One
setting for the process; a gate's workers set ``PYPARITY_THREADS=1`` (`pyparity.executors.workers`)."""

from __future__ import annotations

import os

from pyparity.errors import InputError


def default_threads() -> int:
    """``PYPARITY_THREADS`` (a positive integer) if set, else the CPUs this process may run on."""
    env = os.environ.get("PYPARITY_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise InputError(f"PYPARITY_THREADS must be a positive integer, got {env!r}") from None
        if n < 1:
            raise InputError(f"PYPARITY_THREADS must be a positive integer, got {env!r}")
        return n
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # pragma: no cover - platforms without sched_getaffinity
        return max(os.cpu_count() or 1, 1)
