"""The ``facebench`` command. Each subcommand lives in its own module and is listed here once.

A command module exposes ``register(subparsers)`` which adds its parser and sets
``func=<callable(args) -> int>``. Modules import heavy libraries inside their functions so that
``facebench --help`` stays fast. The grammar shared by every command (``-o/--out``, ``--cache``,
the alpha syntax, ``--no-progress``/``--quiet``/``--debug``, one-line errors) is
:mod:`facebench.base.cli`; :func:`main` is the one top-level error handler.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .base.cli import EXIT_INTERNAL, Parser, add_common_options, apply_output_options, first_line
from .base.errors import EXIT_BAD_INPUT, UserError

_EPILOG = """\
exit status: 0 ok, 1 some items failed (listed), 2 bad arguments, configuration or input file,
70 unexpected internal error (a bug: rerun with --debug for the traceback), 130 interrupted.
Every error is one line on stderr: 'facebench <command>: error: <what and where>'.
"""

#: Modules that define subcommands, in the order they appear in ``--help``.
COMMAND_MODULES: tuple[str, ...] = (
    "facebench.face.cli",
    "facebench.face.calibration_cli",
    "facebench.edit.cli",
    "facebench.demo",
    "facebench.bench.cli",
    "facebench.study.cli",
    "facebench.studio.cli",
    "facebench.pixelsmile.cli",
    "facebench.quality.cli",
    "facebench.data.cli",
    "facebench.judges.cli",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every registered subcommand."""
    parser = Parser(
        prog="facebench", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "facebench: edit facial expressions with continuous intensity, benchmark expression "
            "editors (FFE-Bench, FED-Bench) and evaluate face image quality (F-Bench). "
            "Everything runs offline on a CPU; large models are paths you give."
        ),
    )
    parser.add_argument("--version", action="version", version=f"facebench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in COMMAND_MODULES:
        importlib.import_module(mod).register(sub)
    return add_common_options(parser)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``facebench`` console script; returns the exit status.

    The one top-level handler: a :class:`~facebench.base.errors.UserError` (and any argparse
    error) is one line ``facebench <command>: error: ...`` and its exit code (2); an unexpected
    exception is one line plus 'run with --debug for the traceback' and exit status 70;
    ``--debug`` lets both raise."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line argparse error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    apply_output_options(args)
    prog = getattr(args, "command_prog", "facebench")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except UserError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: error: {first_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into one line
        if getattr(args, "debug", False):
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {first_line(exc)} "
              "(a bug; run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
