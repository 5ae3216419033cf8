"""PixelSmile sweep on the tiny random pipeline (CPU): 8 alphas in one batch vs 8 separate edits.

Both paths share the cached prompt encodings, so the ratio measures the batched denoising loop
against the looped one. Prints a table (seconds per sweep, best of ``--repeats``) and the ratio.

    .venv/bin/python benchmarks/bench_pixelsmile.py [--steps 4] [--repeats 3] [--device cpu]
"""

from __future__ import annotations

import argparse
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=4, help="denoising steps (default 4)")
    ap.add_argument("--repeats", type=int, default=3, help="timed repeats, best kept (default 3)")
    ap.add_argument("--alphas", type=int, default=8, help="alphas in the sweep (default 8)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    args = ap.parse_args(argv)

    import numpy as np
    import pandas as pd

    from facebench.edit.base import ExpressionControl
    from facebench.base.imageio import load_image
    from facebench.pixelsmile.editor import PixelSmileEditor
    from facebench.pixelsmile.tiny import TINY_OPTIONS, build_tiny_pipeline
    from facebench.samples import astronaut_path

    opts = {**TINY_OPTIONS, "steps": args.steps}
    editor = PixelSmileEditor(pipeline=build_tiny_pipeline(), device=args.device, **opts)
    image = load_image(astronaut_path())
    alphas = list(np.linspace(0.0, 1.5, args.alphas))
    editor.sweep(image, "happy", alphas[:2])  # warm-up and prompt cache

    def batched() -> None:
        editor.sweep(image, "happy", alphas)

    def looped() -> None:
        for a in alphas:
            editor.edit(image, ExpressionControl.single("happy", a))

    rows = []
    for name, fn in (("batched", batched), ("looped", looped)):
        best = float("inf")
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        rows.append({"mode": name, "alphas": len(alphas), "steps": args.steps, "seconds": best,
                     "ms_per_image": 1000 * best / len(alphas)})
    table = pd.DataFrame(rows)
    print(f"PixelSmile tiny pipeline, {args.device}, {opts['size']}x{opts['size']}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    ratio = table.loc[table["mode"] == "looped", "seconds"].item() / table.loc[table["mode"] == "batched", "seconds"].item()
    print(f"looped / batched time ratio: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
