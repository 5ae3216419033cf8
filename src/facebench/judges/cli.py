"""``facebench judge score|validate|train``: use, check and fit the offline expression judge (v2).

Every problem with an input is one line ``<file>: <problem>``; exit status 0 ok, 1 some items
failed (or validation targets not met), 2 bad input (unknown head file, wrong feature version,
folder without labels).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base.cli import add_cache, add_out

_EPILOG = """\
examples:
  facebench judge score edit.png --source photo.jpg
  facebench judge validate --labelled faces-in-the-wild/ --sliders pixelsmile-gallery/slider --card card.md
  facebench judge train my_labelled_folder/ -o my_head.npz
  facebench bench run suite.jsonl --judge offline --judge-opt path=my_head.npz

A labelled folder holds <label>/*.jpg (neutral, happy, sad, angry, fear, surprised, disgust; aliases
like happiness accepted) and optionally labels.csv (path,expression,person) for person-grouped folds.
Slider folders hold <expression>/00.jpg (source), 01.jpg, ... (increasing intensity).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``facebench judge`` and its subcommands."""
    p = subparsers.add_parser("judge", help="score faces with the offline expression judge, validate or train it",
                              description="The offline expression judge (v2): score images, validate it on "
                              "labelled photos and slider series, or fit your own head on a labelled folder.",
                              epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="judge_command", metavar="SUBCOMMAND")

    s = sub.add_parser("score", help="score the largest face of each image")
    s.add_argument("images", nargs="+", metavar="IMAGE")
    s.add_argument("--source", default=None, help="the unedited source image: intensities relative to it")
    s.add_argument("--path", default=None, help="head file (default: the shipped one)")
    s.add_argument("--json", action="store_true", help="print one JSON object per image")
    s.set_defaults(func=cmd_score)

    v = sub.add_parser("validate", help="recall/balanced accuracy on labelled photos; CLS on slider series")
    v.add_argument("--labelled", default=None, metavar="DIR", help="labelled folder <label>/*.jpg")
    v.add_argument("--sliders", default=None, metavar="DIR", help="slider folders <expression>/NN.jpg")
    v.add_argument("--path", default=None, help="head file (default: the shipped one)")
    v.add_argument("--card", default=None, metavar="OUT.md", help="write a Markdown card")
    add_cache(v, "feature cache folder (default $FACEBENCH_CACHE/judge-features)", type=str)
    v.set_defaults(func=cmd_validate)

    t = sub.add_parser("train", help="fit a head on a labelled folder (person-grouped cross-validation)")
    t.add_argument("folder", metavar="DIR", help="labelled folder <label>/*.jpg (+ optional labels.csv)")
    add_out(t, "head file to write (.npz)", required=True, type=str)
    t.add_argument("--card", default=None, metavar="OUT.md", help="write the Markdown model card")
    t.add_argument("--folds", type=int, default=5, help="cross-validation folds (default 5)")
    add_cache(t, "feature cache folder (default $FACEBENCH_CACHE/judge-features)", type=str)
    t.set_defaults(func=cmd_train)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _judge(path: str | None):  # noqa: ANN202
    from .v2 import OfflineJudgeV2

    return OfflineJudgeV2(path=path)


def cmd_score(args: argparse.Namespace) -> int:
    """``facebench judge score``."""
    from ..base.imageio import ImageError, load_image
    from .base import JudgeError
    from .head import HeadError

    try:
        judge = _judge(args.path)
        source = load_image(args.source) if args.source else None
    except (HeadError, ImageError) as exc:
        print(f"facebench judge score: error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for path in args.images:
        try:
            j = judge.judge(load_image(path), source=source)
        except (ImageError, JudgeError) as exc:
            msg = str(exc)  # image errors already name the file
            print(msg if msg.startswith(str(path)) else f"{path}: {msg}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            print(json.dumps({"image": path, "scores": j.scores, "top": j.info["top"],
                              "probabilities": j.info["probabilities"], "relative_to": j.info["relative_to"]}))
        else:
            s = "  ".join(f"{k} {v:.2f}" for k, v in j.scores.items())
            print(f"{path}: top {j.info['top']} (p={j.info['probabilities'][j.info['top']]:.2f}) | {s}")
    return 1 if failed else 0


def cmd_validate(args: argparse.Namespace) -> int:
    """``facebench judge validate``."""
    from .card import extended_markdown, validation_markdown
    from .dataset import DatasetError, build_table, default_cache_dir, labelled_images
    from .head import HeadError
    from .prototypes import EXTENDED
    from .validate import slider_series, validate_labelled, validate_sliders

    if not args.labelled and not args.sliders:
        print("facebench judge validate: error: give --labelled DIR and/or --sliders DIR", file=sys.stderr)
        return 2
    cache = args.cache or default_cache_dir()
    try:
        judge = _judge(args.path)
        items = labelled_images(args.labelled) if args.labelled else None
        if args.sliders:
            slider_series(args.sliders)
    except (HeadError, DatasetError) as exc:
        print(f"facebench judge validate: error: {exc}", file=sys.stderr)
        return 2
    labelled = validate_labelled(judge, build_table(items, cache)) if items else None
    sliders = validate_sliders(judge, args.sliders, cache) if args.sliders else None
    text = validation_markdown(labelled, sliders, str(judge.path))
    if sliders and any(e in EXTENDED for e in sliders):
        text += "\n" + extended_markdown(sliders)
    print(text)
    if args.card:
        try:
            Path(args.card).write_text(text)
        except OSError as exc:
            print(f"facebench judge validate: cannot write {args.card} ({exc.strerror or exc})", file=sys.stderr)
            return 1
    ok = sliders is None or all(r.get("passed") for e, r in sliders.items() if e in judge.judged)
    return 0 if ok else 1


def cmd_train(args: argparse.Namespace) -> int:
    """``facebench judge train``."""
    from .card import training_markdown
    from .dataset import DatasetError, build_table, default_cache_dir, labelled_images
    from .train import train

    try:
        items = labelled_images(args.folder)
        if args.folds < 2:
            raise DatasetError(f"--folds must be >= 2, got {args.folds}")
        if not Path(args.out).resolve().parent.is_dir():
            raise DatasetError(f"{args.out}: its folder does not exist")
    except DatasetError as exc:
        print(f"facebench judge train: error: {exc}", file=sys.stderr)
        return 2
    table = build_table(items, args.cache or default_cache_dir())
    for _, reason, _ in table.failed:
        print(reason, file=sys.stderr)
    try:
        head, report = train(table, k=args.folds, log=lambda s: print(s, file=sys.stderr))
    except ValueError as exc:
        print(f"facebench judge train: error: {args.folder}: {exc}", file=sys.stderr)
        return 2
    text = training_markdown(report)
    try:
        head.save(args.out)
        if args.card:
            Path(args.card).write_text(text)
    except OSError as exc:
        print(f"facebench judge train: cannot write {args.out} ({exc.strerror or exc})",
              file=sys.stderr)
        return 1
    print(text)
    return 1 if table.failed else 0
