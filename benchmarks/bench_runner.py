"""Throughput of the benchmark runner: first run (empty cache) vs cached rerun, per stage.

Runs the offline editor x expressions x alphas with the offline judge and dlib identity against a
fresh cache in a temporary folder and prints edits/s, judgements/s and identity comparisons/s per
run, the wall time of each run (report writing included) and the size of the cache file.

    python benchmarks/bench_runner.py                  # the demo: sample portraits x 12 x 5
    python benchmarks/bench_runner.py --quick          # 2 photos x 6 expressions x 3 alphas
    python benchmarks/bench_runner.py --workers 1      # serial (default: one worker per CPU, up to 4)
    python benchmarks/bench_runner.py --ffe-size 40    # FFE's linear track: 40 sources x 12 x 5
    python benchmarks/bench_runner.py --ffe-size 2 --compare serial,processes
                                                       # the same plan per executor; results equal?

``--ffe-size N`` takes N in-the-wild photos (``../shared/data/faces-in-the-wild``, spread evenly
over its sorted list) as sources. ``--compare`` runs the first run once per executor (each with
its own cache) and says whether the results tables are identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

WILD = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces-in-the-wild"
FFE_SOURCES = 200  # FFE-Bench's linear track: about 200 sources x 12 expressions x 5 alphas


def _sources(args: argparse.Namespace) -> list[Path]:
    from facebench.samples import portrait_paths

    if args.ffe_size:
        files = sorted(p for p in WILD.glob("*/*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        if len(files) < args.ffe_size:
            sys.exit(f"--ffe-size {args.ffe_size}: {WILD} has {len(files)} photos")
        step = len(files) / args.ffe_size
        return [files[int(i * step)] for i in range(args.ffe_size)]
    samples = portrait_paths()
    if args.quick:
        samples = {k: samples[k] for k in ("astronaut", "feat_happy")}
    return list(samples.values())


def _run(tasks, alphas, out: Path, executor: str, workers: int, runs: tuple[str, ...]) -> tuple[list[dict], object]:
    from facebench.bench import Component, Manifest, run_and_report
    from facebench.base.store import Store

    rows, result = [], None
    for run in runs:
        t0 = time.perf_counter()
        result, _, _ = run_and_report(
            Manifest(tasks), editors=[Component.make("editor", "offline")],
            judges=[Component.make("judge", "offline")], out=out, track="linear", alphas=alphas,
            executor=executor, workers=workers, progress=False)
        wall = time.perf_counter() - t0
        for stage in ("edits", "judgements", "identity"):
            s = result.stats[stage]
            rows.append({"executor": f"{executor} x{workers}", "run": run, "stage": stage, "planned": s.planned,
                         "computed": s.computed, "from cache": s.cached, "failed": s.failed,
                         "seconds": round(s.seconds, 2),
                         "computed/s": round(s.per_second, 2) if s.computed else float("nan")})
        n = len(tasks) * len(alphas)
        mb = Store(out / "cache.sqlite").size_bytes() / 1e6
        rows.append({"executor": f"{executor} x{workers}", "run": run, "stage": "whole run incl. report",
                     "planned": n, "seconds": round(wall, 2), "edits/s overall": round(n / wall, 2),
                     "cache MB": round(mb, 1)})
    return rows, result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 photos x 6 basic expressions x 3 alphas")
    ap.add_argument("--ffe-size", type=int, default=0, metavar="N",
                    help="N in-the-wild sources x 12 expressions x 5 alphas (FFE-Bench's linear track)")
    ap.add_argument("--workers", type=int, default=None,
                    help="worker processes (default: as `facebench bench run`, one per CPU up to 4; 1 = serial)")
    ap.add_argument("--compare", default="", help="comma list of executors to run and compare (serial,processes,ray)")
    args = ap.parse_args()
    from facebench.bench.executors import default_workers

    args.workers = args.workers if args.workers is not None else default_workers()

    from facebench.bench.manifest import build_tasks
    from facebench.expressions import BASIC6, EXPRESSIONS

    sources = _sources(args)
    exprs = BASIC6 if args.quick and not args.ffe_size else EXPRESSIONS
    alphas = (0.0, 0.5, 1.0) if args.quick and not args.ffe_size else (0.0, 0.25, 0.5, 0.75, 1.0)
    tasks = build_tasks(sources, exprs)
    rows: list[dict] = []
    tables = {}
    with tempfile.TemporaryDirectory(prefix="facebench-bench-") as tmp:
        if args.compare:
            for kind in [k.strip() for k in args.compare.split(",") if k.strip()]:
                workers = 1 if kind == "serial" else max(2, args.workers)
                r, result = _run(tasks, alphas, Path(tmp) / kind, kind, workers, ("first run",))
                rows += r
                tables[kind] = result.results
        else:
            executor = "processes" if args.workers > 1 else "serial"
            rows, _ = _run(tasks, alphas, Path(tmp) / "out", executor, args.workers, ("first run", "cached rerun"))
    print(f"benchmark runner: {len(sources)} photos x {len(exprs)} expressions x {len(alphas)} alphas = "
          f"{len(tasks) * len(alphas)} edits; {os.cpu_count()} CPUs (shared: compare ratios within this run)")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    if args.ffe_size:  # the targets: N = 40 in <= 10 minutes, FFE's full size well under an hour
        for r in rows:
            if r["stage"] == "whole run incl. report" and r["run"] == "first run":
                full = r["seconds"] * FFE_SOURCES / len(sources)
                print(f"{r['executor']}: whole first run {r['seconds'] / 60:.1f} min for {len(sources)} sources "
                      f"(target at 40: <= 10 min); FFE's linear track ({FFE_SOURCES} sources, "
                      f"{FFE_SOURCES * len(exprs) * len(alphas):,} edits) at this rate: {full / 60:.0f} min")
    if len(tables) > 1:
        names = list(tables)
        ref = tables[names[0]]  # the runner sorts its table by model, judge, task, alpha
        for other in names[1:]:
            t = tables[other]
            same = ref.equals(t)
            print(f"results {names[0]} vs {other}: {'identical' if same else 'DIFFERENT'} ({len(t)} rows)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
