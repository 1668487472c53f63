"""Saying that numba is compiling: the first run of a pipeline compiles its kernels (half a minute, once;
later runs load them from numba's cache) and would otherwise sit silent.

`announce_numba_compilation` listens to numba's ``numba:compile`` events, which fire only for a real
compilation (a kernel loaded from the cache fires none): while one runs, a spinner on stderr says what
is happening and how many kernels were compiled so far; between compilations and after the last it is
gone (transient). Nothing is shown, and numba is not imported, unless stderr is a terminal.
"""

from __future__ import annotations

import threading

_installed = None


class _CompileSpinner:
    """Drives a rich status line from numba's compile events (wrapped in a ``numba.core.event.Listener``)."""

    def __init__(self, console):
        self.console = console
        self.depth = 0
        self.compiled = 0
        self.status = None
        self.lock = threading.Lock()

    def _text(self) -> str:
        return f"compiling numba kernels (first run only, then cached): {self.compiled} done"

    def notify(self, event) -> None:
        with self.lock:
            if event.is_start:
                self.depth += 1
                if self.status is None:
                    self.status = self.console.status(self._text(), spinner="dots")
                    try:
                        self.status.start()
                    except Exception:  # another live display owns the console (a progress bar): stay quiet
                        self.status = False
            elif event.is_end:
                self.depth = max(0, self.depth - 1)
                self.compiled += 1
                if self.status:
                    self.status.update(self._text())
                if self.depth == 0:
                    self.stop()

    def stop(self) -> None:
        if self.status:
            self.status.stop()
        self.status = None


def announce_numba_compilation(console=None) -> bool:
    """Show a spinner on stderr whenever numba compiles a kernel in this process (idempotent).
    Returns whether it is installed (only where stderr is a terminal)."""
    global _installed
    from rich.console import Console

    console = console or Console(stderr=True)
    if not console.is_terminal:
        return False
    if _installed is not None:
        return True
    from numba.core import event

    _installed = _CompileSpinner(console)
    event.register("numba:compile", numba_listener(_installed))
    return True


def numba_listener(spinner: _CompileSpinner):
    """A ``numba.core.event.Listener`` feeding ``spinner`` (numba accepts only its own Listener type)."""
    from numba.core import event

    class _Listener(event.Listener):
        def on_start(self, ev):
            spinner.notify(ev)

        def on_end(self, ev):
            spinner.notify(ev)

    return _Listener()
