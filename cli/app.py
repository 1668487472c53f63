"""The `pyparity` command: assembles the command groups and turns user errors into exit code 2."""

from __future__ import annotations

import sys

import typer

from cli.common import EXIT_USAGE, mark_command_start
from cli.diff_cmd import diff
from cli.ingest_cmd import ingest_app
from cli.hunt_cmd import hunt
from cli.probe_cmd import record
from cli.show_cmd import show

app = typer.Typer(
    name="pyparity",
    help="Stage-by-stage parity testing for face and pose pipelines (OpenFace, img2pose, POF).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("diff")(diff)
app.command("show")(show)
app.add_typer(ingest_app, name="ingest")
app.command("record")(record)
app.command("hunt")(hunt)

run_app = typer.Typer(help="Run a reimplemented pipeline, record its trace, optionally diff it.",
                      no_args_is_help=True)
app.add_typer(run_app, name="run")


@run_app.callback()
def _before_run() -> None:
    # the first run compiles numba kernels for half a minute: say so (a spinner, on a terminal only)
    from pyparity.render.progress import announce_numba_compilation

    announce_numba_compilation()


def _register_optional() -> None:
    """Command groups whose modules may be absent in a partial install are added when importable."""
    import importlib

    for mod in ("cli.run_mtcnn", "cli.run_clnf", "cli.run_openface", "cli.run_img2pose", "cli.run_pof"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        m.register(run_app)
    for mod, attr, name in (("cli.models_cmd", "models_app", "models"), ("cli.gate_cmd", "golden_app", "golden")):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name == mod:
                continue
            raise
        app.add_typer(getattr(m, attr), name=name)
    try:
        m = importlib.import_module("cli.reference_cmd")
        app.add_typer(m.reference_app, name="reference")
    except ModuleNotFoundError as exc:
        if exc.name != "cli.reference_cmd":
            raise
    try:
        m = importlib.import_module("cli.gate_cmd")
        app.command("gate")(m.gate)
    except ModuleNotFoundError as exc:
        if exc.name != "cli.gate_cmd":
            raise


_register_optional()


def _terminate_like_interrupt() -> None:
    """SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C: writers abort, temporaries are removed."""
    import signal

    def handler(signum, frame):
        raise SystemExit(128 + signum)

    try:
        signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (an embedding application): leave its handlers alone
        pass


def main(argv: list[str] | None = None) -> int:
    """Entry point: PyparityError (bad input) -> one line on stderr, exit 2; never a traceback for it.

    Usage errors (unknown option, value out of range) are one line too, exit 2; commands end with
    typer.Exit(code); Ctrl-C and SIGTERM unwind (nothing half-written is left) and exit 130 / 143.
    """
    from pyparity.errors import PyparityError
    from pyparity.render.table import print_error

    _terminate_like_interrupt()
    mark_command_start()
    try:
        code = app(args=argv, prog_name="pyparity", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except PyparityError as exc:
        print_error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except Exception as exc:
        # click's usage errors (vendored by typer in recent versions: matched by what they provide)
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            message = exc.format_message()
            ctx = getattr(exc, "ctx", None)
            if message:
                where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
                print_error(message + where)
            return exc.exit_code
        if type(exc).__name__ == "Abort":  # click's Ctrl-C at a prompt
            print_error("interrupted")
            return 130
        raise
    return code if isinstance(code, int) else 0


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
