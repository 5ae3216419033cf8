"""facebench's one command-line grammar: the parser class, the shared options and the alpha syntax.

Every command is built from these pieces so the same spelling means the same thing everywhere:

- ``-o/--out PATH``: where results go (a folder or a file, as the command's help says);
- ``--cache PATH``: the one cache option (a file or a folder, as the command's help says);
- ``--alphas``-style values: one grammar, :func:`parse_alphas` (``0,0.25,...,1.5`` or
  ``0:1.5:7``); a value starting with ``-`` (``--alphas -1,0``) is a value, not an option;
- ``--no-progress``, ``-q/--quiet`` and ``--debug`` on every command (added by
  :func:`add_common_options`, which walks the whole parser tree);
- errors: one line ``facebench <command>: error: <message>`` and exit status 2
  (:data:`~facebench.base.errors.EXIT_BAD_INPUT`).

- ``-a/--alpha`` (one intensity) and ``--alphas`` (a list in :func:`parse_alphas` syntax);

Old spellings (``--outdir``, ``--output``, ``--out-dir``, ``--cache-dir``, ``--intensity``,
``--sweep``) are still accepted with a one-line deprecation note and are not shown in any help. This module imports only the standard
library and ``facebench.base``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from .errors import EXIT_BAD_INPUT, UserError

#: Exit status of an unexpected internal error (a bug): ``EX_SOFTWARE`` of BSD ``sysexits.h``,
#: so that it differs from 1 ("some items failed") and 2 ("bad arguments or input").
EXIT_INTERNAL = 70

#: Deprecated option spellings -> the one spelling (rewritten before parsing, with a note).
DEPRECATED_OPTIONS: dict[str, str] = {
    "--outdir": "--out",
    "--output": "--out",
    "--out-dir": "--out",
    "--cache-dir": "--cache",
    "--intensity": "--alpha",
    "--sweep": "--alphas",
}

#: A value that starts with '-' but is a number, a number list or a range (``-1,0``, ``-1:1:5``,
#: ``-0.5,...,1``): argparse alone would take it for an option.
_NEGATIVE_VALUE = re.compile(r"^-(\d|\.\d)[\d.,:eE+\-\s\u2026]*$")

_ELLIPSIS = ("...", "\u2026")


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` speaking facebench's grammar: one-line errors (exit 2), values
    that start with '-' for the options declared with :func:`add_alphas`, deprecated spellings
    rewritten. Sub-parsers made by :meth:`add_subparsers` are of this class too."""

    #: option strings (of any parser in the process) whose value may start with '-'
    negative_value_options: set[str] = set()

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print ``<prog>: error: <message>`` as one line and exit with status 2."""
        message = " ".join(str(message).split())
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def parse_known_args(self, args: Sequence[str] | None = None, namespace: Any = None):  # noqa: ANN201
        """Parse after :func:`normalize_argv`."""
        argv = normalize_argv(list(sys.argv[1:] if args is None else args), self.negative_value_options)
        return super().parse_known_args(argv, namespace)


def normalize_argv(argv: list[str], negative_value_options: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``argv`` with deprecated spellings replaced (one note on stderr each) and
    ``OPTION -VALUE`` joined into ``OPTION=-VALUE`` for the options in ``negative_value_options``
    when ``-VALUE`` is a number, a list or a range. Everything after ``--`` is left alone."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            out.extend(argv[i:])
            break
        name, eq, value = tok.partition("=")
        if name in DEPRECATED_OPTIONS:
            new = DEPRECATED_OPTIONS[name]
            print(f"facebench: note: {name} is deprecated; use {new}", file=sys.stderr)
            tok = new + eq + value
        if tok in negative_value_options and i + 1 < len(argv) and _NEGATIVE_VALUE.match(argv[i + 1]):
            out.append(f"{tok}={argv[i + 1]}")
            i += 2
            continue
        out.append(tok)
        i += 1
    return out


# --------------------------------------------------------------------------------------- alphas
def parse_alphas(text: str, *, allow_negative: bool = True, what: str = "alphas") -> tuple[float, ...]:
    """Parse facebench's one alpha syntax.

    - a comma list ``0,0.5,1``; ``...`` (or ``\u2026``) continues the step of the two values
      before it up to the value after it: ``0,0.25,...,1`` = 0, 0.25, 0.5, 0.75, 1 (the last
      value is kept even when the step does not land on it: ``0,0.4,...,1`` = 0, 0.4, 0.8, 1);
    - ``start:stop:count``: ``count`` evenly spaced values from start to stop inclusive
      (``numpy.linspace`` semantics: value_k = start + k (stop - start) / (count - 1)).

    Raises ``ValueError`` with one line naming ``text`` for anything else, a non-finite value,
    or (``allow_negative=False``) a negative value.
    """
    t = " ".join(str(text).split())
    what = f"{what} {text!r}" if what else repr(text)
    if not t:
        raise ValueError(f"{what}: empty; expected e.g. 0,0.5,1 or 0,0.25,...,1 or 0:1:5")
    if ":" in t:
        vals = _range_values(t, what)
    else:
        vals = _list_values(t, what)
    for v in vals:
        if not math.isfinite(v):
            raise ValueError(f"{what}: {v} is not a finite number")
        if v < 0 and not allow_negative:
            raise ValueError(f"{what}: {v:g} is negative; this command takes values >= 0")
    return tuple(vals)


def _number(item: str, what: str) -> float:
    try:
        return float(item)
    except ValueError:
        raise ValueError(f"{what}: {item!r} is not a number "
                         "(expected e.g. 0,0.5,1 or 0,0.25,...,1 or 0:1:5)") from None


def _range_values(text: str, what: str) -> list[float]:
    parts = [p.strip() for p in text.split(":")]
    if len(parts) != 3:
        raise ValueError(f"{what}: a range is start:stop:count, e.g. 0:1.5:7")
    start, stop = _number(parts[0], what), _number(parts[1], what)
    try:
        count = int(parts[2])
    except ValueError:
        raise ValueError(f"{what}: the count {parts[2]!r} of start:stop:count is not a whole number") from None
    if count < 1:
        raise ValueError(f"{what}: the count of start:stop:count must be >= 1")
    if count == 1:
        return [start]
    step = (stop - start) / (count - 1)
    return [stop if k == count - 1 else start + k * step for k in range(count)]


def _list_values(text: str, what: str) -> list[float]:
    items = [s.strip() for s in text.split(",")]
    if any(not s for s in items):
        raise ValueError(f"{what}: empty item in the comma list")
    out: list[float] = []
    i = 0
    while i < len(items):
        if items[i] not in _ELLIPSIS:
            out.append(_number(items[i], what))
            i += 1
            continue
        if len(out) < 2 or i + 1 >= len(items) or items[i + 1] in _ELLIPSIS:
            raise ValueError(f"{what}: '...' needs two values before it and one after")
        step = out[-1] - out[-2]
        end = _number(items[i + 1], what)
        if step == 0 or (end - out[-1]) * step < 0:
            raise ValueError(f"{what}: '...' needs the values before it to step towards "
                             f"{end:g} (e.g. increasing values up to it)")
        n = int(math.floor((end - out[-1]) / step + 1e-9))
        if n > 10000:
            raise ValueError(f"{what}: '...' would make more than 10000 values")
        last = out[-1]
        out.extend(round(last + k * step, 10) for k in range(1, n + 1))
        if abs(out[-1] - end) > 1e-9:
            out.append(end)
        i += 2
    return out


def alphas_type(*, allow_negative: bool = True, what: str = "alphas") -> Callable[[str], tuple[float, ...]]:
    """An argparse ``type=`` for :func:`parse_alphas` (errors become argparse's one-line error)."""
    def parse(text: str) -> tuple[float, ...]:
        try:
            return parse_alphas(text, allow_negative=allow_negative, what="")
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    parse.__name__ = what  # argparse names the type in some messages
    return parse


def alpha_type(*, allow_negative: bool = True, what: str = "alpha") -> Callable[[str], float]:
    """An argparse ``type=`` for one alpha (a finite number; negative only if allowed)."""
    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if v < 0 and not allow_negative:
            raise argparse.ArgumentTypeError(f"{text!r} is negative; this command takes values >= 0")
        return v
    parse.__name__ = what
    return parse


def add_alphas(p: argparse.ArgumentParser, *flags: str, help: str, default: Any = None,  # noqa: A002
               allow_negative: bool = True, single: bool = False, metavar: str | None = None,
               **kwargs: Any) -> argparse.Action:
    """An alpha option (``single``: one value, else a list in :func:`parse_alphas` syntax) whose
    value may start with '-' (``--alphas -1,0``, ``--alpha -0.5``)."""
    flags = flags or ("--alphas",)
    what = flags[-1].lstrip("-")
    typ = (alpha_type if single else alphas_type)(allow_negative=allow_negative, what=what)
    Parser.negative_value_options.update(f for f in flags if f.startswith("--") or len(f) == 2)
    return p.add_argument(*flags, type=typ, default=default, help=help,
                          metavar=metavar or ("ALPHA" if single else "ALPHAS"), **kwargs)


#: The help text every alpha-list option ends with.
ALPHAS_SYNTAX = "a comma list (0,0.5,1), '...' continuing the step (0,0.25,...,1.5) or start:stop:count (0:1.5:7)"


# ------------------------------------------------------------------------------------- options
def add_out(p: argparse.ArgumentParser, help: str, *, required: bool = False, default: Any = None,  # noqa: A002
            type: Callable[[str], Any] = Path, metavar: str = "OUT") -> argparse.Action:  # noqa: A002
    """``-o/--out``: where the command writes its results (say in ``help`` if a folder or a file)."""
    return p.add_argument("-o", "--out", required=required, default=default, type=type, metavar=metavar, help=help)


def add_cache(p: argparse.ArgumentParser, help: str, *, default: Any = None,  # noqa: A002
              type: Callable[[str], Any] = Path) -> argparse.Action:  # noqa: A002
    """``--cache PATH``: the one cache option (a file or a folder, as ``help`` says)."""
    return p.add_argument("--cache", default=default, type=type, metavar="PATH", help=help)


def subparsers(p: argparse.ArgumentParser, dest: str, metavar: str = "SUBCOMMAND") -> argparse._SubParsersAction:
    """Sub-commands of ``p``; ``p`` alone prints its help and exits 2."""
    sub = p.add_subparsers(dest=dest, metavar=metavar, parser_class=Parser)
    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), EXIT_BAD_INPUT)[1])
    return sub


def _sub_action(p: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in p._actions if isinstance(a, argparse._SubParsersAction)), None)


def walk(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``p`` and every parser below it (each sub-command once, aliases skipped), depth first."""
    out = [p]
    sub = _sub_action(p)
    if sub is not None:
        seen: set[int] = set()
        for child in sub.choices.values():
            if id(child) not in seen:
                seen.add(id(child))
                out.extend(walk(child))
    return out


def leaves(p: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """The parsers of ``p``'s tree that run something (no sub-commands below them)."""
    return [q for q in walk(p) if _sub_action(q) is None]


def _has(p: argparse.ArgumentParser, option: str) -> bool:
    return option in p._option_string_actions


def add_common_options(root: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every command of ``root``'s tree ``--no-progress``, ``-q/--quiet`` and ``--debug``
    (where it has not declared them itself) and record its name for error messages. ``root``
    gets ``--debug`` too. Returns ``root``."""
    if not _has(root, "--debug"):
        root.add_argument("--debug", action="store_true",
                          help="show the full traceback of an unexpected error (and of user errors)")
    for p in leaves(root):
        if p is root:
            continue
        g = p.add_argument_group("common options")
        if not _has(p, "--no-progress"):
            g.add_argument("--no-progress", action="store_true", default=False, help="no progress bars")
        if not _has(p, "--quiet"):
            g.add_argument("-q", "--quiet", action="store_true", default=False,
                           help="only results and errors: no progress bars, notes or warnings")
        if not _has(p, "--debug"):
            # SUPPRESS: not given here must not overwrite a top-level --debug
            g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                           help="show the traceback of an error")
        p.set_defaults(command_prog=p.prog)
    return root


def apply_output_options(args: argparse.Namespace) -> None:
    """Act on ``--quiet`` / ``--no-progress`` for the whole process (child processes included):
    ``--quiet`` implies ``--no-progress`` and hides warnings and INFO/notice log records;
    ``--no-progress`` turns off every tqdm bar (``TQDM_DISABLE``)."""
    if getattr(args, "quiet", False):
        args.no_progress = True
        import logging
        import warnings

        warnings.simplefilter("ignore")
        os.environ.setdefault("PYTHONWARNINGS", "ignore")
        logging.getLogger().setLevel(logging.ERROR)
    if getattr(args, "no_progress", False):
        os.environ["TQDM_DISABLE"] = "1"


def run_main(parser: argparse.ArgumentParser, argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` with ``parser`` (built with :func:`add_common_options`) and run the chosen
    command's ``func``; the one top-level error handler of every entry point. Returns the exit
    status:

    - a :class:`~facebench.base.errors.UserError` (and an argparse error): one line
      ``<prog>: error: <message>``, its ``exit_code`` (2);
    - an unexpected exception (a bug): one line naming it and 'run with --debug for the
      traceback', :data:`EXIT_INTERNAL` (70);
    - ``--debug``: both raise with their traceback;
    - Ctrl-C: one line, 130; a closed output pipe (``facebench ... | head``): silent, 141
      (128 + SIGPIPE, what a shell reports for a program killed by it).
    """
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a one-line argparse error (already printed)
        return exc.code if isinstance(exc.code, int) else EXIT_BAD_INPUT
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    apply_output_options(args)
    prog = getattr(args, "command_prog", parser.prog)
    debug = getattr(args, "debug", False)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)  # no second error when Python flushes stdout at exit
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except UserError as exc:
        if debug:
            raise
        print(f"{prog}: error: {first_line(exc)}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the one place that turns a bug into one line
        if debug:
            raise
        print(f"{prog}: unexpected error: {type(exc).__name__}: {first_line(exc)} "
              "(a bug; run with --debug for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL


def first_line(exc: BaseException) -> str:
    """An exception's message on one line (its class name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
