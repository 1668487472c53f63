"""Hunting every place a port differs from its reference, and which of them cause the rest.

`hunt` (isolate.py) runs a subject — a probe on an input (probe_subject.py), on each frame of a
sequence (frames.py) — and, with ``isolate``, re-runs it with the reference injected where it first
diverged until the output matches; chain.py holds what it finds. references.py turns ``--reference``
(a dump, or ``pyparity:PIPELINE``) into a trace; one.py hunts one image; corpus.py hunts many inputs on
any executor (this process, local processes, Dask) and sums up; session.py is what ``pyparity hunt`` does.
"""

from pyparity.hunt.chain import HuntResult, Introduction
from pyparity.hunt.isolate import Plan, hunt

__all__ = ["HuntResult", "Introduction", "Plan", "hunt"]
