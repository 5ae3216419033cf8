"""``python -m facebench.study STEP ...``: the ``facebench study`` command without loading the
other facebench commands (the server starts faster)."""

from __future__ import annotations

import argparse
import sys

from .cli import register


def main(argv: list[str] | None = None) -> int:
    """Run one ``facebench study`` step; returns the exit status."""
    parser = argparse.ArgumentParser(prog="facebench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["study", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
