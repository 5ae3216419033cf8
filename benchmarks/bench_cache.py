"""Size of the benchmark cache's edited images: content-addressed WebP residuals vs full PNGs.

    python benchmarks/bench_cache.py                     # runs the demo (6 portraits x 12 x 5) first
    python benchmarks/bench_cache.py --quick             # 2 portraits x 6 expressions x 3 alphas
    python benchmarks/bench_cache.py path/to/cache.sqlite

For every edit record of the cache it decodes the stored image, checks that its pixel hash is the
record's (``identical``: the cache gives back exactly what the editor made), and re-encodes it the
way earlier caches stored it (one PNG per record, compression level 3) to print both sizes side by
side, with the encode/decode milliseconds per image.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd


def _demo(out: Path, quick: bool) -> Path:
    from facebench.bench import Component, Manifest, run_and_report
    from facebench.bench.manifest import build_tasks
    from facebench.expressions import BASIC6, EXPRESSIONS
    from facebench.samples import portrait_paths

    samples = portrait_paths()
    if quick:
        samples = {k: samples[k] for k in ("astronaut", "feat_happy")}
    tasks = build_tasks(list(samples.values()), BASIC6 if quick else EXPRESSIONS)
    alphas = (0.0, 0.5, 1.0) if quick else (0.0, 0.25, 0.5, 0.75, 1.0)
    run_and_report(Manifest(tasks), editors=[Component.make("editor", "offline")],
                   judges=[Component.make("judge", "offline")], out=out, track="linear", alphas=alphas,
                   progress=False)
    return out / "cache.sqlite"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cache", nargs="?", type=Path, default=None, help="a cache file (default: run the demo)")
    ap.add_argument("--quick", action="store_true", help="a smaller demo")
    args = ap.parse_args()

    from facebench.base import imagecodec
    from facebench.base.store import Store
    from facebench.base.pixels import encode_png
    from facebench.base.imageio import image_hash

    with tempfile.TemporaryDirectory(prefix="facebench-bench-") as tmp:
        path = args.cache or _demo(Path(tmp) / "demo", args.quick)
        store = Store(path)
        con = store._con()
        keys = [k for (k,) in con.execute("SELECT key FROM records WHERE kind='edit'")]
        stored = sum(len(d) for (d,) in con.execute("SELECT data FROM images"))
        n_images = con.execute("SELECT COUNT(*) FROM images").fetchone()[0]
        png_total, identical, t_dec, t_png, t_webp = 0, 0, [], [], []
        for k in keys:
            rec = store.get("edit", k)
            t0 = time.perf_counter()
            img = store.edit_image(k)
            t_dec.append(time.perf_counter() - t0)
            identical += image_hash(img) == rec.value["hash"]
            t0 = time.perf_counter()
            png_total += len(encode_png(img, compress_level=3))
            t_png.append(time.perf_counter() - t0)
            data, base = store.image_bytes(rec.value["hash"])
            if base is not None:
                t0 = time.perf_counter()
                imagecodec.encode(img, store.image(base))
                t_webp.append(time.perf_counter() - t0)
        file_mb = store.size_bytes() / 1e6
    ms = lambda v: round(1000 * statistics.median(v), 1) if v else float("nan")  # noqa: E731
    rows = [
        {"storage": "one PNG per edit record (before)", "images": len(keys), "MB": round(png_total / 1e6, 2),
         "KB / edit": round(png_total / 1e3 / max(len(keys), 1), 1), "encode ms": ms(t_png)},
        {"storage": "content-addressed WebP residuals (now)", "images": n_images, "MB": round(stored / 1e6, 2),
         "KB / edit": round(stored / 1e3 / max(len(keys), 1), 1), "encode ms": ms(t_webp),
         "decode ms": ms(t_dec)},
    ]
    print(f"cache {path.name if args.cache else '(demo run)'}: {len(keys)} edit records; whole file now "
          f"{file_mb:.1f} MB; decoded edits identical to the editor's output (pixel hash): {identical}/{len(keys)}")
    with pd.option_context("display.width", 200):
        print(pd.DataFrame(rows).to_string(index=False))
    return 0 if identical == len(keys) else 1


if __name__ == "__main__":
    raise SystemExit(main())
