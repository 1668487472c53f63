"""Errors that front-ends turn into one clear line and exit code 2.

A library error that is about one parameter names it (``param``); it speaks of the parameter, never of a
command-line flag, and a front-end shows its own spelling (``start`` -> ``--start``, see `for_flags`).
"""

from __future__ import annotations

from typing import Callable


class PyparityError(Exception):
    """A problem with the user's input (a file, a policy, a model): shown as one line, never a traceback.

    ``param``: the parameter the problem is about (``start``, ``model_dir``, ...), or None. With a
    ``param`` the message reads ``"<param> <value>: <message>"`` (``value`` when given).
    """

    _NO_VALUE = object()

    def __init__(self, message: str = "", *, param: str | None = None, value=_NO_VALUE):
        self.message, self.param, self.value = str(message), param, value
        super().__init__(self._text(param))

    def _text(self, name: str | None) -> str:
        if name is None:
            return self.message
        value = "" if self.value is PyparityError._NO_VALUE else f" {self.value!r}"
        return f"{name}{value}: {self.message}"

    def for_flags(self, flag_for: Callable[[str], str | None]) -> str:
        """The message with the parameter spelled as a front-end spells it (``flag_for(param)``; None
        keeps the parameter's own name)."""
        if self.param is None:
            return str(self)
        return self._text(flag_for(self.param) or self.param)


class TraceError(PyparityError):
    """A trace or reference dump that cannot be read, or that disagrees with its own index."""


class PolicyError(PyparityError):
    """A tolerance policy or mapping file that cannot be parsed."""


class ModelError(PyparityError):
    """A model file that is missing, corrupt or fails its checksum."""


class InputError(PyparityError):
    """An input image or data file that cannot be used (corrupt, unsupported depth, wrong shape)."""


class UsageError(PyparityError):
    """A request that cannot be carried out as asked (a stage filter that matches nothing, a value out
    of its range)."""


class OutputError(PyparityError, OSError):
    """An output (trace, report, TRC, golden, frame folder) that cannot be written. Also an OSError, so
    code that tolerates unwritable caches keeps doing so."""
