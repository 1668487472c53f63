"""What every gate worker (a local process, a Dask worker) is set up with before its first case.

Workers run MTCNN's independent pieces on one thread (``PYPARITY_THREADS=1``): the workers already keep
the cores busy. A ``PYPARITY_THREADS`` set by the user is passed on instead. The coordinator's ``sys.path``
entries are appended, so pipelines named ``module:function`` beside the spec (or in a test module)
import on the workers too.
"""

from __future__ import annotations

import os
import sys


def worker_environment() -> dict[str, str]:
    """What a gate's worker process runs with: one MTCNN thread unless the user says otherwise."""
    return {"PYPARITY_THREADS": os.environ.get("PYPARITY_THREADS") or "1"}


def prepare_worker(sys_path: list[str], env: dict[str, str], override: bool = True) -> None:
    """``env`` into the environment (``override``: even over what the worker has: a process started for
    this gate; else only where unset: a worker of someone's cluster) and ``sys_path`` onto ``sys.path``."""
    for k, v in env.items():
        if override:
            os.environ[k] = v
        else:
            os.environ.setdefault(k, v)
    for p in sys_path:
        if p not in sys.path:
            sys.path.append(p)
