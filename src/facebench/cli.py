"""The ``facebench`` command. Each subcommand lives in its own module and is listed here once.

A command module exposes ``register(subparsers)`` which adds its parser and sets
``func=<callable(args) -> int>``. Modules import heavy libraries inside their functions so that
``facebench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__

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
    parser = argparse.ArgumentParser(
        prog="facebench",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``facebench`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("facebench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
