"""Speed of the offline expression editor: time per edit at 512x512 and 1024x1024, and a sweep of
8 alphas against 8 separate edits (same images, checked). Prints a table.

    python benchmarks/bench_edit.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image

from facebench.edit import ExpressionControl, get_editor
from facebench.face import analyze
from facebench.base.imageio import load_image
from facebench.samples import sample_paths

ALPHAS = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5]


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the fastest is kept")
    ap.add_argument("--expression", default="surprised")
    args = ap.parse_args()
    editor = get_editor("offline")
    base = load_image(sample_paths()["astronaut"])
    rows = []
    for size in (512, 1024):
        img = base if size == 512 else np.asarray(Image.fromarray(base).resize((size, size), Image.LANCZOS))
        analyze(img, parts=("detection", "mesh", "mask"))  # the face analysis is cached by image
        one = ExpressionControl.single(args.expression, 1.0)
        # a new editor per call: its per-source set-up cache starts empty (a cold edit)
        t_edit = _best(lambda: get_editor("offline").edit(img, one), args.repeat)
        prep = editor.prepare(img)
        editor.render(prep, one)  # computes and caches this face's action-unit fields
        t_render = _best(lambda: editor.render(prep, one), args.repeat)
        t_prep = t_edit - t_render  # face set-up: transform, fields, triangulation, colours
        t_sweep = _best(lambda: get_editor("offline").sweep(img, args.expression, ALPHAS), args.repeat)
        t_single = _best(lambda: [get_editor("offline").edit(img, ExpressionControl.single(args.expression, a))
                                  for a in ALPHAS], args.repeat)
        same = all(np.array_equal(s.image, editor.edit(img, ExpressionControl.single(args.expression, a)).image)
                   for s, a in zip(editor.sweep(img, args.expression, ALPHAS), ALPHAS))
        rows.append((f"{size}x{size}", t_edit, t_prep, t_render, t_sweep, t_single, same))
    print(f"offline editor, expression {args.expression!r}, best of {args.repeat} runs, seconds "
          "(face analysis cached by image; edit and 8 edits: new editors, so no set-up is reused; "
          "set-up = edit - render)")
    head = ("image", "edit", "set-up", "render", "sweep of 8", "8 edits", "speed-up", "same images")
    print(f"{head[0]:>10s} {head[1]:>7s} {head[2]:>7s} {head[3]:>7s} {head[4]:>11s} {head[5]:>8s} "
          f"{head[6]:>9s} {head[7]:>12s}")
    for name, e, p, r, sw, si, same in rows:
        print(f"{name:>10s} {e:7.3f} {p:7.3f} {r:7.3f} {sw:11.3f} {si:8.3f} {si / sw:8.2f}x {str(same):>12s}")


if __name__ == "__main__":
    main()
