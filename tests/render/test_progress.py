"""The first run's numba compilation is announced on a terminal, only while it compiles."""

from __future__ import annotations

import io

import numba
from numba.core import event
from rich.console import Console

from pyparity.render.progress import _CompileSpinner, announce_numba_compilation, numba_listener


def test_a_real_compilation_shows_the_spinner_then_clears_it():
    buf = io.StringIO()
    spinner = _CompileSpinner(Console(file=buf, force_terminal=True, width=100))

    @numba.njit(cache=False)
    def twice(x):
        return 2 * x

    with event.install_listener("numba:compile", numba_listener(spinner)):
        assert twice(21) == 42       # compiles: start and end events
        assert twice(4) == 8         # already compiled: no event
    out = buf.getvalue()
    assert "compiling numba kernels (first run only, then cached)" in out
    assert spinner.compiled == 1 and spinner.depth == 0 and spinner.status is None  # gone after the compile


def test_nothing_without_a_terminal():
    assert announce_numba_compilation(Console(file=io.StringIO(), force_terminal=False)) is False
