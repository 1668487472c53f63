"""What every command shares: exit codes and one-line errors with the command's own flags (printing
what the application layer returns is output.py's)."""

from __future__ import annotations

import typer

EXIT_OK, EXIT_DIVERGED, EXIT_USAGE = 0, 1, 2


def flag_for(param: str) -> str:
    """The command-line spelling of a library parameter (``model_dir`` -> ``--model-dir``)."""
    return "--" + param.replace("_", "-")


def error_text(exc: Exception) -> str:
    """A library error as the command line says it (its parameter as a flag)."""
    return exc.for_flags(flag_for) if hasattr(exc, "for_flags") else str(exc)


def flags_of(fn) -> dict[str, str]:
    """A command's options as ``{parameter name: its first long flag}`` (from its typer declarations)."""
    import inspect

    flags = {}
    for p in inspect.signature(fn).parameters.values():
        infos = [p.default] + list(getattr(p.annotation, "__metadata__", ()))
        for info in infos:
            decls = [d for d in (getattr(info, "param_decls", None) or ()) if str(d).startswith("--")]
            if decls:
                flags[p.name] = decls[0]
    return flags


def guarded(fn):
    """A command whose library errors become one line on stderr naming its own flag, and exit 2."""
    import functools

    from pyparity.errors import PyparityError

    flags = flags_of(fn)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PyparityError as exc:
            fail(exc.for_flags(lambda p: flags.get(p) or flag_for(p)))
    return wrapper


def fail(message: str) -> "typer.Exit":
    """Print one line to stderr and exit 2 (bad usage or unreadable input)."""
    from pyparity.render.table import print_error

    print_error(message)
    raise typer.Exit(EXIT_USAGE)


def terminate_like_interrupt() -> None:
    """SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: writers abort, temporaries are removed."""
    import signal

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        pass
