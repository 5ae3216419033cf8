"""``facebench bench``: run | report | list | manifest | validate.

Examples::

    facebench bench manifest faces/ --expressions all -o suite.jsonl
    facebench bench run suite.jsonl --editor offline --judge offline --track linear --alphas 0:1:5
    facebench bench run suite.jsonl --editor folder --editor-opt root=outputs --editor-opt model=mine \\
        --judge vlm --judge-opt base_url=http://localhost:8000/v1 --judge-opt model=qwen2.5-vl
    facebench bench report facebench-out/bench
    facebench bench list
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path
from typing import Any, Callable

from ..base.cli import ALPHAS_SYNTAX, Parser, add_alphas, add_cache, add_common_options, add_out, run_main

DEFAULT_OUT = Path("facebench-out") / "bench"


class _Spec(argparse.Action):
    """``--editor NAME`` starts a component; ``--editor-opt KEY=VALUE`` adds options to the last one."""

    def __call__(self, parser, ns, value, option_string=None):  # noqa: ANN001
        dest = self.dest
        items = list(getattr(ns, dest, None) or [])
        if self.const == "opt":
            if not items:
                parser.error(f"{option_string} must follow the {dest[:-1].replace('_', '-')} it belongs to")
            items[-1][1].append(value)
        else:
            items.append([value, []])
        setattr(ns, dest, items)


def _add_component(p: argparse.ArgumentParser, kind: str, helptext: str) -> None:
    dest = f"{kind}s"
    p.add_argument(f"--{kind}", dest=dest, action=_Spec, metavar="NAME", help=helptext)
    p.add_argument(f"--{kind}-opt", dest=dest, action=_Spec, const="opt", metavar="KEY=VALUE",
                   help=f"an option of the preceding --{kind} (repeatable; label=NAME sets its name in reports; "
                        "values are JSON if they parse, else strings)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``facebench bench`` and its subcommands."""
    p = subparsers.add_parser(
        "bench", help="benchmark expression editors (FFE-Bench general/linear tracks, FED-Bench)",
        description="Run editors over a suite, judge every edit, measure identity, write leaderboards "
                    "(Markdown/CSV/JSON) and an HTML report. Everything is cached in one SQLite file; "
                    "a killed run continues where it stopped when rerun.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog="examples:" + __doc__.split("Examples::", 1)[1])
    sub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND")

    r = sub.add_parser("run", help="run a suite and write the report",
                       description="Run editors x tasks x alphas, judge, measure identity, write the report.")
    r.add_argument("manifest", type=Path, help="suite manifest (.jsonl or .parquet; see `facebench bench manifest`)")
    _add_component(r, "editor", "editor to benchmark (repeatable; default offline). See `facebench bench list`")
    _add_component(r, "judge", "judge (repeatable; default offline): offline or vlm")
    _add_component(r, "recogniser", "identity recogniser (repeatable; default dlib), e.g. onnx with path=model.onnx")
    r.add_argument("--no-identity", action="store_true", help="skip identity similarity")
    r.add_argument("--id-calibration", action="append", type=Path, default=[], metavar="JSON",
                   help="identity calibration of a recogniser without a shipped one (from `facebench identity "
                        "calibrate`; repeatable)")
    r.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when some edits, judgements or identity measurements failed")
    r.add_argument("--track", choices=("general", "linear", "fed"), default="linear",
                   help="general: alpha 1 -> Acc/mSCR/ID Sim; linear: alpha grid -> CLS/HES too; "
                        "fed: ground-truth triplets -> FED-Score (default linear)")
    add_alphas(r, "--alphas", help=f"linear-track grid: {ALPHAS_SYNTAX} (default 0:1:5)")
    add_out(r, f"output folder (default {DEFAULT_OUT})", default=DEFAULT_OUT)
    add_cache(r, "SQLite cache file (default $FACEBENCH_BENCH_CACHE or <out>/cache.sqlite)")
    r.add_argument("--executor", choices=("serial", "processes", "threads", "ray"), default=None,
                   help="where work runs (default processes when --workers > 1, else serial)")
    r.add_argument("--workers", type=int, default=None,
                   help="parallel workers (default: one per CPU, at most 4; 1 = serial)")
    r.add_argument("--ray-address", default=None, help="Ray cluster address (default: start a local instance)")
    r.add_argument("--cls-mode", choices=("per_series", "pooled"), default="per_series",
                   help="CLS per source image then averaged (default) or pooled")
    r.add_argument("--strict", action="store_true", help="stop when the manifest has invalid rows")
    r.add_argument("--no-html", action="store_true", help="skip the HTML page")
    r.set_defaults(func=cmd_run)

    rp = sub.add_parser("report", help="rebuild the report of a finished run",
                        description="Recompute the leaderboard and rewrite every report file from results.parquet.")
    rp.add_argument("out", type=Path, help="the run's output folder")
    add_cache(rp, "SQLite cache file for sample images (default: the run's)")
    rp.add_argument("--cls-mode", choices=("per_series", "pooled"), default="per_series")
    rp.set_defaults(func=cmd_report)

    ls = sub.add_parser("list", help="list editors, judges, recognisers, tracks and executors")
    ls.set_defaults(func=cmd_list)

    mk = sub.add_parser("manifest", help="build a suite manifest from a folder of faces",
                        description="One task per (image, expression): task_id <image stem>-<expression>.")
    mk.add_argument("images", nargs="*", type=Path, help="image files or folders (searched recursively)")
    mk.add_argument("--expressions", default="all", help="comma list, 'all' (12) or 'basic' (6) (default all)")
    mk.add_argument("--gallery", type=Path, default=None,
                    help="instead: one task per expression of a PixelSmile gallery folder (slider/<expr>/00.avif)")
    mk.add_argument("--domain", choices=("human", "anime"), default="human")
    mk.add_argument("--prompt", default=None, help="instruction template with {expression}")
    add_out(mk, "manifest file to write (.jsonl or .parquet)", required=True)
    mk.set_defaults(func=cmd_manifest)

    va = sub.add_parser("validate", help="check a manifest and list every bad row with line and field")
    va.add_argument("manifest", type=Path)
    va.add_argument("--track", choices=("general", "linear", "fed"), default=None)
    va.set_defaults(func=cmd_validate)
    ca = sub.add_parser("cache", help="maintain a run's cache file")
    casub = ca.add_subparsers(dest="cache_command")
    pr = casub.add_parser("prune", help="delete stored images no record uses and compact the file",
                          description="Edited images are stored once per pixel content; this drops those no "
                                      "edit record uses any more (e.g. after records were deleted) and compacts.")
    pr.add_argument("cache", type=Path, help="the SQLite cache file (e.g. <out>/cache.sqlite)")
    pr.set_defaults(func=cmd_cache_prune)
    ca.set_defaults(func=lambda a: (ca.print_help(), 2)[1])
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _components(kind: str, specs: list | None, default: str | None) -> list[Any]:
    from .components import Component, parse_options
    from .identity import recogniser_component

    items = specs or ([[default, []]] if default else [])
    out = []
    for name, opts in items:
        o = parse_options(opts)
        label = o.pop("label", None)
        if kind == "recogniser":
            c = recogniser_component(name, o)
            if label:
                c = Component(c.kind, c.name, c.options_json, str(label))
        else:
            c = Component.make(kind, name, o, label=label)
        out.append(c)
    return out


def _refuse_locked(cmd: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``cmd``, answering one line and exit status 2 when another run holds ``--out``."""
    @functools.wraps(cmd)
    def wrapped(args: argparse.Namespace) -> int:
        from .lifecycle import RunLocked

        try:
            return cmd(args)
        except RunLocked as exc:
            print(f"facebench bench run: error: {exc}", file=sys.stderr)
            return 2
    return wrapped


@_refuse_locked
def cmd_run(args: argparse.Namespace) -> int:
    """``facebench bench run``."""
    from . import run_and_report
    from .manifest import ManifestError, load_manifest
    from ..face.calibration import read_calibration
    from .runner import check_grid, track_alphas
    from .summary import failure_status, print_board

    try:
        m = load_manifest(args.manifest, strict=args.strict, track=args.track)
        editors = _components("editor", args.editors, "offline")
        judges = _components("judge", args.judges, "offline")
        for j in judges:  # a bad judge option (e.g. an unknown head file) is one line here, not a traceback
            j.build()
        recs = [] if args.no_identity else _components("recogniser", args.recognisers, "dlib")
        alphas = args.alphas
        check_grid(editors, track_alphas(args.track, alphas))
        cals = {c.recogniser: str(p) for p, c in ((p, read_calibration(p)) for p in args.id_calibration)}
    except (ManifestError, ValueError, KeyError, FileNotFoundError) as exc:
        print(f"facebench bench run: error: {exc}", file=sys.stderr)
        return 2
    if m.errors:
        print(f"{len(m.errors)} invalid manifest row(s) recorded as failures (--strict to stop):", file=sys.stderr)
        for e in m.errors[:10]:
            print(f"  {e}", file=sys.stderr)
    from .executors import default_workers

    workers = args.workers if args.workers is not None else default_workers()
    executor = args.executor or ("processes" if workers > 1 else "serial")
    cache = args.cache or (Path(os.environ["FACEBENCH_BENCH_CACHE"]) if os.environ.get("FACEBENCH_BENCH_CACHE") else None)
    result, data, paths = run_and_report(
        m, editors=editors, judges=judges, recognisers=recs, out=args.out, store=cache, track=args.track,
        alphas=alphas, executor=executor, workers=workers, progress=not args.no_progress,
        cls_mode=args.cls_mode, html=not args.no_html, ray_address=args.ray_address, id_calibrations=cals)
    print_board(data, paths)
    return failure_status(data, args.allow_failures, "facebench bench run")


def cmd_report(args: argparse.Namespace) -> int:
    """``facebench bench report``."""
    from .report import load_run, write_report
    from .summary import compute_report, print_board
    from ..base.store import Store

    try:
        res, fails, config, stats = load_run(args.out)
    except ValueError as exc:
        print(f"facebench bench report: error: {exc}", file=sys.stderr)
        return 2
    cache = args.cache or (Path(config["cache"]) if config.get("cache") else None)
    store = Store(cache) if cache and Path(cache).is_file() else None
    data = compute_report(res, fails, config=config, stats=stats, cls_mode=args.cls_mode)
    paths = write_report(args.out, data, store=store)
    print_board(data, paths)
    return 0


def cmd_cache_prune(args: argparse.Namespace) -> int:
    """``facebench bench cache prune``."""
    from ..base.store import Store

    if not args.cache.is_file():
        print(f"facebench bench cache prune: error: {args.cache}: no such cache file", file=sys.stderr)
        return 2
    try:
        out = Store(args.cache).prune()
    except ValueError as exc:
        print(f"facebench bench cache prune: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.cache}: {out['images_deleted']} unused image(s) deleted; "
          f"{out['bytes_before'] / 1e6:.1f} MB -> {out['bytes_after'] / 1e6:.1f} MB")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """``facebench bench list``."""
    from .components import registry
    from .executors import EXECUTORS
    from .manifest import TRACKS

    for kind, title in (("editor", "Editors"), ("judge", "Judges"), ("recogniser", "Identity recognisers")):
        print(f"{title}:")
        for e in registry(kind):
            desc = e.meta.get("description", "")
            lic = e.meta.get("licence", "")
            extra = f" [judges {len(e.meta['judged'])} of 12]" if "judged" in e.meta else ""
            print(f"  {e.name:<20} {desc}{extra}" + (f"\n  {'':<20} licence: {lic}" if lic else ""))
    print(f"Tracks: {', '.join(TRACKS)}\nExecutors: {', '.join(EXECUTORS)}")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    """``facebench bench manifest``."""
    from ..expressions import BASIC6, EXPRESSIONS
    from .manifest import gallery_tasks
    from .manifest import DEFAULT_PROMPT, build_tasks, write_manifest

    ex = args.expressions.strip().lower()
    exprs = EXPRESSIONS if ex == "all" else BASIC6 if ex == "basic" else [e for e in ex.split(",") if e.strip()]
    try:
        if args.gallery:
            tasks = gallery_tasks(args.gallery, exprs)
            if not tasks:
                raise ValueError(f"no slider/<expression>/00.avif under {args.gallery}")
        else:
            if not args.images:
                raise ValueError("give image files or folders (or --gallery)")
            tasks = build_tasks(args.images, exprs, domain=args.domain, prompt=args.prompt or DEFAULT_PROMPT)
    except ValueError as exc:
        print(f"facebench bench manifest: error: {exc}", file=sys.stderr)
        return 2
    path = write_manifest(tasks, args.out)
    print(f"wrote {len(tasks)} task(s) to {path}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``facebench bench validate``: 0 when every row is valid, 1 otherwise."""
    from .manifest import load_manifest

    try:
        m = load_manifest(args.manifest, track=args.track)
    except ValueError as exc:
        print(f"facebench bench validate: error: {exc}", file=sys.stderr)
        return 2
    for e in m.errors:
        print(e)
    missing = [t for t in m.tasks if not t.image.is_file()]
    for t in missing:
        print(f"{args.manifest}:{t.line}: field 'image': file not found: {t.image}")
    print(f"{len(m.tasks)} valid task(s), {len(m.errors)} invalid row field(s), {len(missing)} missing image(s)")
    return 0 if not m.errors and not missing else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m facebench.bench.cli ...``: the bench commands alone (a quick start: the other
    facebench commands are not imported)."""
    parser = Parser(prog="facebench")
    register(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return run_main(add_common_options(parser), ["bench", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
