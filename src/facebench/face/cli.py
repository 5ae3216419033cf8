"""``facebench analyze``: face analysis of images and folders, as a table, CSV or JSON.

Every failure (not an image, truncated, empty, over the pixel limit, unreadable path, no face)
is one line ``<file>: <problem>``; the other images are still analysed, the failures are listed
at the end and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base.cli import add_cache, add_out

DEFAULT_PARTS = "detection,expression,geometry"

_EPILOG = """\
parts: detection (box, score, 5 keypoints; always on), mesh (478 3-D points), crop (aligned
canonical crop), mask (face region), identity (128-D descriptor), expression (neutral + 6 basic
expressions per model and ensemble), geometry (mouth opening, lip-corner lift, brow raise/furrow,
eye aperture, upper-lip raise, asymmetry, head pose), or all.

examples:
  facebench analyze photo.jpg
  facebench analyze photos/ -o faces.csv
  facebench analyze a.jpg b.png -o faces.json --parts all --arrays

Results are cached by image content; set FACEBENCH_CACHE (or --cache) to keep them on disk.
Exit status: 0 when every image had a face, 1 when any failed, 2 on bad arguments.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    from ..base.imageio import DEFAULT_MAX_PIXELS

    p = subparsers.add_parser(
        "analyze",
        help="find faces and measure them (mesh, expression, identity, geometry)",
        description="Detect every face in each image (folders are searched recursively) and "
        "report box, score, keypoints, expression probabilities and geometric measurements.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files or folders")
    out = p.add_mutually_exclusive_group()
    add_out(out, "write the results to this file: .json (per image) or .csv (one row per face); "
            "default: a table on stdout", type=str)
    out.add_argument("--json", metavar="OUT", help=argparse.SUPPRESS)  # old spellings of -o x.json / x.csv
    out.add_argument("--csv", metavar="OUT", help=argparse.SUPPRESS)
    p.add_argument(
        "--parts", default=DEFAULT_PARTS,
        help=f"comma-separated parts to compute, or 'all' (default: {DEFAULT_PARTS})",
    )
    p.add_argument("--max-faces", type=int, default=None, metavar="N",
                   help="analyse only the N largest faces per image")
    p.add_argument("--arrays", action="store_true",
                   help="include the mesh (478x3) and identity (128) arrays in JSON/CSV output")
    p.add_argument("--detector", default="mediapipe",
                   help="face detector (default: mediapipe = short + full range fused)")
    p.add_argument("--min-score", type=float, default=0.5, help="detector score threshold (0.5)")
    p.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                   help=f"refuse images with more pixels than this (default {DEFAULT_MAX_PIXELS})")
    add_cache(p, "on-disk result cache folder (default: $FACEBENCH_CACHE; unset = none)", type=str)
    p.set_defaults(func=run)


def _expand(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Image paths from files/folders, plus one failure line per folder without images."""
    from ..base.imageio import list_images

    paths: list[Path] = []
    failures: list[str] = []
    for item in inputs:
        found = list_images([item])
        if Path(item).is_dir() and not found:
            failures.append(f"{item}: no images found in folder")
        paths.extend(found)
    return paths, failures


def _print_table(records: list[dict]) -> None:
    import pandas as pd

    rows = []
    for rec in records:
        for f in rec["faces"]:
            g = f.get("geometry", {})
            rows.append({
                "image": rec["image"], "face": f["face"],
                "box": " ".join(f"{v:.0f}" for v in f["box"]), "score": f["score"],
                "expression": f.get("top_expression", ""),
                "p": f.get("expression", {}).get("ensemble", {}).get(f.get("top_expression"), float("nan")),
                **{k: g[k] for k in ("mouth_open", "lip_corner_lift_left", "brow_raise_inner_left", "yaw")
                   if k in g},
            })
    if rows:
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            print(pd.DataFrame(rows).round(3).to_string(index=False))


def run(args: argparse.Namespace) -> int:
    """Analyse every input; write/print results; list failures on stderr. Returns 0 or 1."""
    from tqdm import tqdm

    from ..base.imageio import ImageError
    from .analyze import FaceAnalyzer, NoFaceError, face_to_dict, faces_to_frame, normalize_parts

    try:
        if args.out:
            suffix = Path(args.out).suffix.lower()
            if suffix not in (".json", ".csv"):
                raise ValueError(f"-o/--out {args.out}: give a .json or .csv file name")
            setattr(args, suffix[1:], args.out)
        parts = normalize_parts(args.parts)
        analyzer = FaceAnalyzer(
            detector=args.detector, min_score=args.min_score, max_pixels=args.max_pixels,
            cache_dir=args.cache,
        )
        if args.max_faces is not None and args.max_faces < 1:
            raise ValueError(f"--max-faces must be >= 1, got {args.max_faces}")
    except (ValueError, KeyError) as exc:
        print(f"facebench analyze: error: {exc}", file=sys.stderr)
        return 2
    paths, failures = _expand(args.inputs)
    records: list[dict] = []
    frames = []
    bar = tqdm(paths, desc="analyze", unit="img", disable=None if len(paths) > 1 and not args.no_progress else True,
               file=sys.stderr)
    for path in bar:
        try:
            faces = analyzer.analyze(path, parts=parts, max_faces=args.max_faces, require=True)
        except (ImageError, NoFaceError) as exc:
            failures.append(str(exc))
            continue
        except Exception as exc:  # noqa: BLE001 - one bad image must not stop a folder run
            failures.append(f"{path}: {type(exc).__name__}: {exc}")
            continue
        records.append({"image": str(path), "faces": [face_to_dict(f, arrays=args.arrays) for f in faces]})
        if args.csv:
            frames.append(faces_to_frame(faces, str(path), arrays=args.arrays))
    try:
        if args.json:
            fail_recs = [{"error": line} for line in failures]
            Path(args.json).write_text(
                json.dumps({"images": records, "failures": fail_recs}, indent=1) + "\n"
            )
        elif args.csv:
            import pandas as pd

            frame = pd.concat(frames, ignore_index=True) if frames else faces_to_frame([], "")
            if args.arrays:
                for col in ("mesh", "identity"):
                    if col in frame:
                        frame[col] = [None if a is None else json.dumps(a.tolist()) for a in frame[col]]
            frame.to_csv(args.csv, index=False)
        else:
            _print_table(records)
    except OSError as exc:
        print(f"{args.json or args.csv}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 1
    if failures:
        total = len(paths) + sum(1 for f in failures if f.endswith("no images found in folder"))
        if total > 1:
            print(f"facebench analyze: {len(failures)} of {total} inputs failed:", file=sys.stderr)
        for line in failures:
            print(line, file=sys.stderr)
        return 1
    return 0
