"""Where a render of the offline editor spends its time: the mean wall time per render of each
stage (the warp's maps, the rest of the warped canvas, the mouth and eye layers, the skin folds,
the final paste, the mesh steps, the rest of the render), over the 7 non-zero alphas of a sweep
of each expression, on bundled photos (a portrait and a close-up), with the per-source set-up
kept. Issue 17: a sweep of 8 is <= 2x one cold edit only when a render costs <= 1/5 of the
set-up (sweep = set-up + 7 renders, edit = set-up + 1); this shows which stages decide that.

    python benchmarks/profile_edit_stages.py [--photos astronaut,feat_anger] [--expressions happy,angry] [--repeat 3]

Times are the best of ``--repeat`` passes (each stage's total over the pass / renders), on a
shared machine compare shares, not absolute times; the load is printed.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import Counter

import numpy as np

ALPHAS = (0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5)

#: (label, module, attribute): the stages timed, each a function or method the render calls.
STAGES = (
    ("warp maps (triangles, affine)", "facebench.edit.warp", "MeshWarp.maps"),
    ("warped canvas (incl. maps)", "facebench.edit.warp", "MeshWarp.render_canvas"),
    ("retouch (mouth, eyes, tints)", "facebench.edit.offline", "OfflineEditor._retouch"),
    ("  mouth layer", "facebench.edit.offline", "mouth_layer"),
    ("  eye layers", "facebench.edit.offline", "eye_layer"),
    ("skin folds", "facebench.edit.offline", "shade_folds"),
    ("final paste", "facebench.edit.warp", "MeshWarp.finish"),
    ("unfold + no-crossing", "facebench.edit.offline", "no_crossing"),
    ("unfold + no-crossing", "facebench.edit.warp", "MeshWarp.unfold"),
    ("render (all)", "facebench.edit.offline", "OfflineEditor.render"),
)


def _instrument(acc: Counter) -> None:
    """Wrap each stage so that its wall time adds to ``acc[label]``."""
    import importlib

    for label, module, attr in STAGES:
        owner = importlib.import_module(module)
        *path, name = attr.split(".")
        for p in path:
            owner = getattr(owner, p)
        fn = getattr(owner, name)

        @functools.wraps(fn)
        def timed(*a, __fn=fn, __label=label, **k):
            t0 = time.perf_counter()
            try:
                return __fn(*a, **k)
            finally:
                acc[__label] += time.perf_counter() - t0

        setattr(owner, name, timed)


def _bad(line: str) -> None:
    """Bad input: one line on stderr, exit status 2."""
    print(line, file=sys.stderr)
    sys.exit(2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--photos", default="astronaut,feat_anger", help="bundled sample photos, comma-separated")
    ap.add_argument("--expressions", default="happy", help="comma-separated, or 'all'")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from facebench.base.imageio import load_image
    from facebench.edit import ExpressionControl, get_editor
    from facebench.edit.offline import expressions_supported
    from facebench.samples import sample_paths

    exprs = expressions_supported() if args.expressions == "all" else tuple(args.expressions.split(","))
    paths = sample_paths()
    for name in args.photos.split(","):
        if name not in paths:
            _bad(f"--photos: no bundled photo {name!r} (have: {', '.join(sorted(paths))})")
    unknown = [e for e in exprs if e not in expressions_supported()]
    if unknown:
        _bad(f"--expressions: unknown {', '.join(unknown)} (have: {', '.join(expressions_supported())})")
    acc: Counter = Counter()
    _instrument(acc)
    print(f"offline editor, per render (mean over {len(ALPHAS)} alphas x {', '.join(exprs)}), best of "
          f"{args.repeat}; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    for name in args.photos.split(","):
        img = load_image(paths[name])
        editor = get_editor("offline")
        t0 = time.perf_counter()
        prep = editor.prepare(img)
        for e in exprs:  # lazy per-source parts (fields, folds, mouth) made here, not timed below
            editor.render(prep, ExpressionControl.single(e, 1.0))
        setup = time.perf_counter() - t0
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            acc.clear()
            for e in exprs:
                for a in ALPHAS:
                    editor.render(prep, ExpressionControl.single(e, a))
            n = len(exprs) * len(ALPHAS)
            for label, v in acc.items():
                best[label] = min(best.get(label, np.inf), v / n)
        total = best["render (all)"]
        print(f"{name} ({img.shape[1]}x{img.shape[0]}, warp ROI {prep.warp.roi[2] - prep.warp.roi[0]}x"
              f"{prep.warp.roi[3] - prep.warp.roi[1]}): set-up incl. face analysis and first renders {setup * 1e3:.0f} ms")
        for label in dict.fromkeys(s[0] for s in STAGES):
            v = best.get(label, 0.0)
            print(f"  {label:32s} {v * 1e3:8.2f} ms  {100 * v / total:5.1f} %")


if __name__ == "__main__":
    main()
