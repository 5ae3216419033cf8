"""Throughput of every quality metric at 512x512: images per second, batched vs one by one.

Run: ``.venv/bin/python benchmarks/bench_quality.py [--n 8] [--batch 8] [--metrics a,b]``.
Inputs are the astronaut (skimage, public domain) and ``n`` degraded copies (F-Bench's mixed
pipeline, seeded). "one by one" calls the metric once per image; "batched" passes ``--batch``
same-size images per call (torch metrics compute the batch at once; per-image metrics loop inside).
The first call of each metric (model loading, filter-bank caches) is done before timing; the face
analyser's result cache is cleared before each timed pass.
"""

from __future__ import annotations

import argparse
import time

import pandas as pd
import torch

from facebench.base.imageio import load_image
from facebench.quality import QUALITY_METRICS, compute, face_metrics
from facebench.quality.degrade import degrade
from facebench.samples import astronaut_path


def clear_face_cache() -> None:
    """Face metrics cache analyses by image content: forget them so that timings are not cache hits."""
    face_metrics.analyzer().clear_cache()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=8, help="images timed per mode (default 8)")
    ap.add_argument("--batch", type=int, default=8, help="batch size of the batched mode (default 8)")
    ap.add_argument("--metrics", default="all", help="comma-separated metric names (default: all)")
    args = ap.parse_args()
    ref = load_image(astronaut_path())
    dist = [degrade(ref, "mixed", seed=0, key=str(i)).image for i in range(args.n)]
    refs = [ref] * args.n
    names = QUALITY_METRICS.names() if args.metrics == "all" else args.metrics.split(",")
    rows = []
    for name in names:
        info = QUALITY_METRICS.get(name)
        try:
            compute(name, dist[:1], refs[:1])
        except ValueError as exc:  # e.g. no face found in a heavily degraded copy
            print(f"{name}: warm-up failed ({exc}); skipped")
            continue
        ok = []
        for i in range(args.n):
            try:
                compute(name, [dist[i]], [refs[i]])
                ok.append(i)
            except ValueError:
                pass
        d, r = [dist[i] for i in ok], [refs[i] for i in ok]
        clear_face_cache()
        t0 = time.perf_counter()
        for a, b in zip(d, r):
            compute(name, [a], [b])
        single = time.perf_counter() - t0
        clear_face_cache()
        t0 = time.perf_counter()
        for s in range(0, len(d), args.batch):
            compute(name, d[s : s + args.batch], r[s : s + args.batch])
        batched = time.perf_counter() - t0
        rows.append({"metric": name, "kind": QUALITY_METRICS.meta(name)["kind"], "torch batch": info.batched,
                     "images": len(d), "one-by-one img/s": len(d) / single, "batched img/s": len(d) / batched,
                     "speed-up": single / batched})
    print(f"512x512, torch threads = {torch.get_num_threads()}, batch = {args.batch}")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.2f}"))


if __name__ == "__main__":
    main()
