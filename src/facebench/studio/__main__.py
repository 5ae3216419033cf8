"""``python -m facebench.studio ...`` = ``facebench studio ...`` (used by tests and benchmarks)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Parse ``facebench studio`` arguments and run it."""
    parser = argparse.ArgumentParser(prog="facebench")
    sub = parser.add_subparsers(dest="command")
    from .cli import register

    register(sub)
    args = parser.parse_args(["studio", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
