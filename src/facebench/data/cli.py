"""``facebench data``: build | card | prompts.

Examples::

    facebench data build faces.yaml                 # dataset folder <config folder>/<name>
    facebench data build faces.yaml -o data/ffe     # continue a killed build: run it again
    facebench data card data/ffe                    # rebuild card.md / card.html / card.json
    facebench data prompts --expressions fear,surprised
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base.cli import add_out
from ..base.errors import EXIT_ITEMS_FAILED


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``facebench data`` and its subcommands."""
    p = subparsers.add_parser(
        "data", help="build expression-editing datasets and benchmark sets (FFE collect-compose-generate-annotate)",
        description="Turn folders of portraits into same-identity expression data with continuous labels: "
                    "collect (face quality filters, near-duplicates, domain), compose (prompt library), "
                    "generate (any registered editor), annotate (judges), filter (consistency rules), "
                    "export (PixelSmile JSONL, FFE-/FED-Bench manifests, identity-disjoint splits) and a "
                    "dataset card. Every step is cached: a killed build continues where it stopped.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("Examples::", 1)[1])
    sub = p.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    b = sub.add_parser("build", help="build or continue a dataset from a YAML/JSON configuration",
                       description="Run the whole pipeline; see facebench.data.config for every key. Exit "
                                   "status: 0 done, 1 nothing usable (reasons printed) or done but some items "
                                   "failed (listed; run again to retry them), 2 invalid configuration.")
    b.add_argument("config", type=Path, help="configuration file (.yaml, .yml or .json)")
    add_out(b, "dataset folder (default <config folder>/<name>)")
    b.set_defaults(func=cmd_build)
    c = sub.add_parser("card", help="(re)write the dataset card of a built dataset")
    c.add_argument("dataset", type=Path, help="dataset folder")
    c.set_defaults(func=cmd_card)
    pr = sub.add_parser("prompts", help="print the prompt library (valid prompts and rejected combinations)")
    pr.add_argument("--expressions", default="all", help="comma list or 'all' (default all)")
    pr.add_argument("--subject", choices=("person", "character"), default="person")
    pr.add_argument("--rejected", action="store_true", help="print the rejected combinations with their rule")
    pr.set_defaults(func=cmd_prompts)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def cmd_build(args: argparse.Namespace) -> int:
    """``facebench data build``."""
    from .build import DataBuildError, build_dataset
    from .config import ConfigError

    try:
        res = build_dataset(args.config, args.out, progress=not args.no_progress)
    except ConfigError as exc:
        print(f"facebench data build: error: {exc}", file=sys.stderr)
        return 2
    except DataBuildError as exc:
        print(f"facebench data build: {exc}", file=sys.stderr)
        return 1
    print(f"card: {res.files['card.md']}")
    if not res.failures.empty:
        print(f"facebench data build: {len(res.failures)} item(s) failed (listed above and in build_log.json); "
              "exit status 1", file=sys.stderr)
        return EXIT_ITEMS_FAILED
    return 0


def cmd_card(args: argparse.Namespace) -> int:
    """``facebench data card``."""
    from .card import write_card

    try:
        paths = write_card(args.dataset)
    except ValueError as exc:
        print(f"facebench data card: error: {exc}", file=sys.stderr)
        return 2
    print(paths["card.md"].read_text())
    print(f"card: {paths['card.html']}")
    return 0


def cmd_prompts(args: argparse.Namespace) -> int:
    """``facebench data prompts``."""
    from ..expressions import EXPRESSIONS
    from .prompts import compose_library

    try:
        exprs = EXPRESSIONS if args.expressions == "all" else [e for e in args.expressions.split(",") if e.strip()]
        lib = compose_library(exprs, subject=args.subject)
    except ValueError as exc:
        print(f"facebench data prompts: error: {exc}", file=sys.stderr)
        return 2
    if args.rejected:
        for r in lib.rejected:
            print(json.dumps({"expression": r.expression, "rule": r.rule, "reason": r.reason,
                              "attributes": dict(r.attributes)}))
    else:
        for plist in lib.prompts.values():
            for pr in plist:
                print(json.dumps(pr.to_dict()))
    print(f"# {lib.version}: " + ", ".join(f"{e} {c['valid']} valid / {c['rejected']} rejected"
                                            for e, c in lib.counts().items()), file=sys.stderr)
    return 0
