"""Judge v2 cost per face on top of one face analysis (target <= 50 ms), printed as a table.

    python benchmarks/bench_judge.py [--repeat 10]

For each shipped sample photo: the face analysis (detection + mesh, done once by any caller) is
timed separately; "judging" is what judge v2 adds for that face: the CNN blocks with mirror views,
the geometry blocks, the head and the extended prototypes (:meth:`OfflineJudgeV2.score_features`).
The old ensemble (``ensemble-v1``, no TTA) is timed the same way beside it. The judge's CPU time
(process time, all threads) is printed too: on a shared machine the wall time mostly measures the
other loads.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()

    from facebench.face.analyze import FaceAnalyzer
    from facebench.face.expression import classify
    from facebench.base.imageio import load_image
    from facebench.judges import get_judge
    from facebench.judges.features import face_features
    from facebench.samples import portrait_paths

    judge = get_judge("offline")
    analyzer = FaceAnalyzer(cache_dir=False, memory_cache=0)
    rows = []
    for name, path in portrait_paths().items():
        img = load_image(path)
        t0 = time.perf_counter()
        faces = analyzer.analyze(img, parts=("mesh",))
        t_an = time.perf_counter() - t0
        face = faces[0]
        face_features(img, face.box, face.mesh)  # warm-up (models load once per process)
        classify(img, face.box[None])
        ts, tv, tc = [], [], []
        for _ in range(args.repeat):  # separate loops: facex's interpreter is resized per batch size
            t0, c0 = time.perf_counter(), time.process_time()
            judge.score_features(face_features(img, face.box, face.mesh))
            ts.append(time.perf_counter() - t0)
            tc.append(time.process_time() - c0)
        classify(img, face.box[None])
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            classify(img, face.box[None])
            tv.append(time.perf_counter() - t0)
        rows.append((name, t_an * 1e3, np.median(ts) * 1e3, np.median(tc) * 1e3, np.median(tv) * 1e3))
    load = os.getloadavg()
    print(f"machine load (1/5/15 min averages) {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} on {os.cpu_count()} CPUs")
    print(f"| photo | analysis (detection + mesh) ms | judge v2 on top, ms (median of {args.repeat}) "
          "| judge v2 on top, CPU ms | ensemble-v1 on top, ms |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | " + " | ".join(f"{v:.1f}" for v in r[1:]) + " |")
    print("| median | " + " | ".join(f"{np.median([r[i] for r in rows]):.1f}" for i in range(1, 5)) + " |")


if __name__ == "__main__":
    main()
