"""Per-stage time of face analysis: one 512x512 face and a folder of images, first and cached call.

Run: ``.venv/bin/python benchmarks/bench_face.py [--repeat N]``. Prints two tables:

1. one 512x512 face (skimage's astronaut): milliseconds per stage for the very first call (models
   load), a first call on a new image with models loaded (the astronaut mirrored, so nothing is
   cached), and a cached call on the same image;
2. the overhead of analysis: a warm first call on the astronaut against the sum of the models' own
   times on the same face (detector, mesh, fer, facex, dlib; each called directly, median of
   ``--repeat``), before (fer on torch's default thread pool) and after (fer on one torch thread),
   both in this one run, so the ratios compare on the same load (the issue's target: <= 1.3x warm,
   < 1 ms cached);
3. a folder of the bundled sample photos plus their mirror images: total and per-image time for the
   first pass and a cached pass (a fresh analyser with the same on-disk cache, and the same one).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from facebench.face import PARTS, FaceAnalyzer
from facebench.samples import astronaut_path, sample_paths


def _parts() -> tuple[str, ...]:
    optional = ("identity", "expression")
    missing = [p for p in optional if importlib.util.find_spec(f"facebench.face.{p}") is None]
    if missing:
        print(f"(not timed, module missing: {', '.join(missing)})")
    return tuple(p for p in PARTS if p not in missing)


def _ms(t: dict[str, float], stage: str) -> float:
    return 1000 * t.get(stage, 0.0)


def bench_one_face(parts: tuple[str, ...], repeat: int) -> pd.DataFrame:
    """Stage times (ms) for the astronaut: cold first call, warm first call, cached call."""
    img = np.asarray(Image.open(astronaut_path()).convert("RGB"))
    an = FaceAnalyzer(cache_dir=False)
    cols: dict[str, dict[str, float]] = {}

    t0 = time.perf_counter()
    an.analyze(img, parts=parts)
    cols["first call, models load"] = {**an.last_timings, "total": time.perf_counter() - t0}

    warm: list[dict[str, float]] = []
    for i in range(repeat):
        probe = np.ascontiguousarray(img[:, ::-1])  # the mirror image, one pixel changed per
        probe[0, 0] = i % 256  # repetition: a new image each time, so nothing is cached
        an.clear_cache()
        t0 = time.perf_counter()
        an.analyze(probe, parts=parts)
        warm.append({**an.last_timings, "total": time.perf_counter() - t0})
    cols[f"first call, warm (median of {repeat})"] = {
        k: statistics.median(w.get(k, 0.0) for w in warm) for k in warm[0]
    }

    cached: list[float] = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        an.analyze(probe, parts=parts)
        cached.append(time.perf_counter() - t0)
    cols[f"cached call (median of {repeat})"] = {**an.last_timings, "total": statistics.median(cached)}

    stages = ["load", "hash", *parts, "total"]
    return pd.DataFrame(
        {name: [_ms(t, s) for s in stages] for name, t in cols.items()}, index=stages
    ).rename_axis("stage (ms)")


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def bench_overhead(repeat: int) -> pd.DataFrame:
    """Warm analysis vs the sum of the models' own times on one face, before and after the fix."""
    from facebench.face import expression as ex
    from facebench.face import identity as idn
    from facebench.face.detect import detect_faces
    from facebench.face.mesh import get_mesh_estimator

    img = np.ascontiguousarray(np.asarray(Image.open(astronaut_path()).convert("RGB"))[:, ::-1])
    an = FaceAnalyzer(cache_dir=False)
    an.analyze(img)  # load every model
    boxes = np.array([an.analyze(img, parts=("detection",))[0].detection.box])
    kps = np.array([an.analyze(img, parts=("detection",))[0].detection.keypoints])
    gray = ex.to_gray(img)
    own = {
        "detector": lambda: detect_faces(img, detector=an.detector, min_score=an.min_score),
        "mesh": lambda: get_mesh_estimator().estimate_all(img, boxes),
        "fer": lambda: ex.get_model("fer").predict(gray, boxes),
        "facex": lambda: ex.get_model("facex").predict(gray, boxes),
        "dlib descriptor": lambda: idn.embed(img, boxes, kps),
    }

    def analysis() -> None:
        an.clear_cache()
        an.analyze(img)

    fixed = ex.one_torch_thread
    rows = []
    for label, ctx in (("before (fer on torch's thread pool)", contextlib.nullcontext),
                       ("after (fer on one torch thread)", fixed)):
        ex.one_torch_thread = ctx
        try:
            row = {name: _median_ms(fn, repeat) for name, fn in own.items()}
            row["sum of models"] = sum(row.values())
            row["warm analysis"] = _median_ms(analysis, repeat)
            row["warm / sum"] = row["warm analysis"] / row["sum of models"]
            an.analyze(img)
            row["cached analysis"] = _median_ms(lambda: an.analyze(img), max(repeat, 20))
            rows.append({"run": label, **row})
        finally:
            ex.one_torch_thread = fixed
    return pd.DataFrame(rows).set_index("run").T.rename_axis("ms (ratio: x)")


def bench_folder(parts: tuple[str, ...]) -> pd.DataFrame:
    """Total and per-image time for a folder: first pass, cached pass (memory), cached (disk)."""
    tmp = Path(tempfile.mkdtemp(prefix="facebench-bench-"))
    try:
        folder = tmp / "images"
        folder.mkdir()
        for name, path in sample_paths().items():
            shutil.copy(path, folder / path.name)
            mirrored = np.asarray(Image.open(path).convert("RGB"))[:, ::-1]
            Image.fromarray(np.ascontiguousarray(mirrored)).save(folder / f"{name}_mirror.png")
        files = sorted(folder.iterdir())
        cache = tmp / "cache"
        rows = []
        an = FaceAnalyzer(cache_dir=cache)
        an.analyze(files[0], parts=("detection",))  # load the detector outside the timing
        an.clear_cache()
        for label, analyzer in (("first pass", an), ("cached pass, same analyser", an),
                                ("cached pass, new analyser (disk)", FaceAnalyzer(cache_dir=cache))):
            t0 = time.perf_counter()
            n_faces = sum(len(analyzer.analyze(f, parts=parts)) for f in files)
            dt = time.perf_counter() - t0
            rows.append({"run": label, "images": len(files), "faces": n_faces,
                         "total s": dt, "ms / image": 1000 * dt / len(files)})
        return pd.DataFrame(rows).set_index("run")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5, help="repetitions for the warm/cached medians")
    args = ap.parse_args()
    parts = _parts()
    print(f"parts: {', '.join(parts)}\n")
    with pd.option_context("display.width", 200, "display.float_format", "{:.1f}".format):
        print("one 512x512 face (astronaut)")
        print(bench_one_face(parts, max(1, args.repeat)).to_string())
        print("\nanalysis overhead: warm analysis vs the models' own times, same face, same run")
        print(bench_overhead(max(1, args.repeat)).to_string(float_format="{:.2f}".format))
        print("\nfolder of sample photos and their mirror images")
        print(bench_folder(parts).to_string())


if __name__ == "__main__":
    main()
