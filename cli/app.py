"""The `pyparity` command: assembles the command groups; `main` turns user errors into one line and exit 2."""

from __future__ import annotations

import sys

import typer

from pyparity.cli import gate_cmd, run_img2pose, run_mtcnn, run_openface, run_pof
from pyparity.cli.common import EXIT_USAGE, error_text, terminate_like_interrupt
from pyparity.cli.diff_cmd import diff
from pyparity.cli.examples import ROOT as ROOT_EXAMPLES
from pyparity.cli.examples import add_examples
from pyparity.cli.golden_cmd import golden_app
from pyparity.cli.ingest_cmd import ingest_app
from pyparity.cli.models_cmd import models_app
from pyparity.cli.hunt_cmd import hunt
from pyparity.cli.probe_cmd import record
from pyparity.cli.reference_cmd import reference_app
from pyparity.cli.show_cmd import show
from pyparity.cli.stages_cmd import stages

app = typer.Typer(
    name="pyparity",
    help="Stage-by-stage parity testing for face and pose pipelines (OpenFace, img2pose, POF).",
    epilog=ROOT_EXAMPLES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        import pyparity

        typer.echo(f"pyparity {pyparity.__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print pyparity's version and exit.")) -> None:
    pass


run_app = typer.Typer(help="Run a reimplemented pipeline, record its trace, optionally diff it.", no_args_is_help=True)
for command, name in ((diff, "diff"), (show, "show"), (record, "record"), (hunt, "hunt"), (gate_cmd.gate, "gate"),
                      (stages, "stages")):
    app.command(name)(command)
for group, name in ((ingest_app, "ingest"), (run_app, "run"), (models_app, "models"), (golden_app, "golden"),
                    (reference_app, "reference")):
    app.add_typer(group, name=name)
for module in (run_mtcnn, run_openface, run_img2pose, run_pof):
    module.register(run_app)
add_examples(app, run_app)


@run_app.callback()
def _before_run() -> None:
    # the first run compiles numba kernels for half a minute: say so (a spinner, on a terminal only)
    from pyparity.render.progress import announce_numba_compilation

    announce_numba_compilation()


def main(argv: list[str] | None = None) -> int:
    """Entry point: PyparityError (bad input) -> one line on stderr naming the flag at fault, exit 2; never
    a traceback for it. Usage errors (unknown option, value out of range) are one line too, exit 2;
    commands end with typer.Exit(code); Ctrl-C and SIGTERM unwind (nothing half-written) and exit 130 / 143.
    """
    from pyparity.errors import PyparityError
    from pyparity.render.table import print_error

    terminate_like_interrupt()
    try:
        code = app(args=argv, prog_name="pyparity", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    except PyparityError as exc:
        print_error(error_text(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print_error("interrupted")
        return 130
    except Exception as exc:
        # click's usage errors (vendored by typer in recent versions: matched by what they provide)
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            message, ctx = exc.format_message(), getattr(exc, "ctx", None)
            if message:
                print_error(message + (f" (see '{ctx.command_path} --help')" if ctx is not None else ""))
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
