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
from .base.cli import Parser, add_common_options, run_main

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
    """Entry point of the ``facebench`` console script; returns the exit status (the one
    top-level handler, :func:`facebench.base.cli.run_main`: one line per error, exit 0/1/2/70,
    ``--debug`` for tracebacks)."""
    return run_main(build_parser(), argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
