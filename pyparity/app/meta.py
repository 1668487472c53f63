"""Trace metadata every run records: who produced it (pyparity, its version, the pipeline and what
selects its policy) and what it ran on."""

from __future__ import annotations

from pyparity.trace.meta import input_meta


def run_meta(spec, ctx) -> dict:
    """The trace metadata of a run of ``spec`` in ``ctx``."""
    return {"producer": spec.producer_meta(ctx.options), "input": input_meta(ctx.input)}
