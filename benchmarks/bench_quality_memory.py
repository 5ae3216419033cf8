"""Peak memory of ``facebench quality score`` on one huge image (7900x7900 PNG, 62 megapixels:
under the loader's 64-megapixel limit).

Run: ``.venv/bin/python benchmarks/bench_quality_memory.py [--side 7900] [--full]``.
Writes the astronaut (skimage, public domain) upscaled to ``side`` x ``side`` to a temporary
folder, runs ``facebench quality score`` on it with the no-reference metrics (NIQE, BRISQUE, PIQE) in a child process and
prints the child's peak resident memory (``ru_maxrss``) and wall time. Metrics work on at most
4 megapixels by default (the image is shrunk after loading; see ``facebench.quality.scoring``);
``--full`` also runs with ``--max-pixels 0`` (full size) for comparison -- that needs several GB.
Target: under 1.5 GB peak RSS with the default bound.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from facebench.base.imageio import load_image
from facebench.samples import astronaut_path


def _child_peak_rss(cmd: list[str]) -> tuple[float, float, int]:
    """(peak RSS in MiB, seconds, exit code) of ``cmd`` run in a fresh process via a wrapper, so the
    figure is that child's alone."""
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "rc = subprocess.call(sys.argv[1:]); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, rc)")
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, check=True)
    kb, sec, rc = out.stdout.strip().splitlines()[-1].split()
    return int(kb) / 1024.0, float(sec), int(rc)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--side", type=int, default=7900, help="image side in pixels (default 7900)")
    ap.add_argument("--full", action="store_true", help="also score at full size (--max-pixels 0)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="facebench-qmem-") as tmp:
        img = cv2.resize(load_image(astronaut_path()), (args.side, args.side), interpolation=cv2.INTER_NEAREST)
        path = Path(tmp) / "huge.png"
        cv2.imwrite(str(path), np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
        del img
        print(f"image: {args.side}x{args.side} PNG, {os.path.getsize(path) / 1e6:.1f} MB on disk")
        runs = [("default bound (4 MP)", [])] + ([("full size", ["--max-pixels", "0"])] if args.full else [])
        print(f"{'mode':<22} {'peak RSS MiB':>12} {'seconds':>8} {'exit':>5}")
        for label, extra in runs:
            cmd = [sys.executable, "-m", "facebench.cli", "quality", "score", str(path), "--out",
                   str(Path(tmp) / "scores.csv"), "--metrics", "niqe,brisque,piqe", "--no-progress", *extra]
            rss, sec, rc = _child_peak_rss(cmd)
            print(f"{label:<22} {rss:>12.0f} {sec:>8.1f} {rc:>5}")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)")


if __name__ == "__main__":
    main()
