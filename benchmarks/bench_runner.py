"""Throughput of the benchmark runner on the demo run: first run (empty cache) vs cached rerun.

Runs what ``facebench demo`` runs (offline editor x 12 expressions x 5 alphas on the sample
portraits, offline judge, dlib identity) twice against a fresh cache in a temporary folder and
prints edits/s, judgements/s and identity comparisons/s per run, plus the wall time of each run
(report writing included).

    python benchmarks/bench_runner.py                  # the full demo (a few minutes on 2 cores)
    python benchmarks/bench_runner.py --quick          # 2 photos x 6 expressions x 3 alphas
    python benchmarks/bench_runner.py --workers 2      # local worker processes
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import pandas as pd


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="2 photos x 6 basic expressions x 3 alphas")
    ap.add_argument("--workers", type=int, default=1, help="worker processes (default 1: serial)")
    args = ap.parse_args()

    from facebench.bench import Component, Manifest, run_and_report
    from facebench.bench.manifest import build_tasks
    from facebench.expressions import BASIC6, EXPRESSIONS
    from facebench.samples import portrait_paths

    samples = portrait_paths()
    if args.quick:
        samples = {k: samples[k] for k in ("astronaut", "feat_happy")}
    exprs = BASIC6 if args.quick else EXPRESSIONS
    alphas = (0.0, 0.5, 1.0) if args.quick else (0.0, 0.25, 0.5, 0.75, 1.0)
    tasks = build_tasks(list(samples.values()), exprs)
    executor = "processes" if args.workers > 1 else "serial"
    rows = []
    with tempfile.TemporaryDirectory(prefix="facebench-bench-") as tmp:
        for run in ("first run", "cached rerun"):
            t0 = time.perf_counter()
            result, _, _ = run_and_report(
                Manifest(tasks), editors=[Component.make("editor", "offline")],
                judges=[Component.make("judge", "offline")], out=Path(tmp) / "out", track="linear", alphas=alphas,
                executor=executor, workers=args.workers, progress=False)
            wall = time.perf_counter() - t0
            for stage in ("edits", "judgements", "identity"):
                s = result.stats[stage]
                rows.append({"run": run, "stage": stage, "planned": s.planned, "computed": s.computed,
                             "from cache": s.cached, "failed": s.failed, "seconds": round(s.seconds, 2),
                             "computed/s": round(s.per_second, 2) if s.computed else float("nan")})
            n = len(tasks) * len(alphas)
            rows.append({"run": run, "stage": "whole run incl. report", "planned": n, "seconds": round(wall, 2),
                         "edits/s overall": round(n / wall, 2)})
    print(f"benchmark runner: {len(samples)} photos x {len(exprs)} expressions x {len(alphas)} alphas = "
          f"{len(tasks) * len(alphas)} edits; executor {executor}, {args.workers} worker(s), {os.cpu_count()} CPUs")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
