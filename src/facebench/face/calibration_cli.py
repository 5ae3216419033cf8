"""``facebench identity calibrate``: fit a recogniser's identity calibration from labelled photos.

Examples::

    facebench identity calibrate ../shared/data/faces-in-the-wild/labels.csv -o dlib.json
    facebench identity calibrate people/ --recogniser onnx --model arcface.onnx -o arcface.json
    facebench identity calibrate --pairs pairs.csv --recogniser onnx --model arcface.onnx -o arcface.json

``people/`` holds one folder per person; a labels CSV has ``path,person`` columns; a pairs CSV has
``a,b,same`` columns. Prints the anchors, bands in raw cosine, EER and the threshold at the FMR,
and (with labelled photos) the held-out-by-person EER. Exit status 0 ok, 2 bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..base.cli import add_cache, add_out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``facebench identity calibrate``."""
    p = subparsers.add_parser("identity", help="identity similarity: calibrate a face recogniser",
                              description="Identity similarity tools.")
    sub = p.add_subparsers(dest="identity_command", metavar="SUBCOMMAND")
    c = sub.add_parser("calibrate", help="fit raw cosine -> calibrated identity score from labelled photos",
                       description=__doc__.split("Examples::")[0].split("\n\n", 1)[0],
                       epilog="examples:" + __doc__.split("Examples::", 1)[1],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("labelled", nargs="?", type=Path, default=None,
                   help="a folder of per-person folders or a path,person CSV")
    c.add_argument("--pairs", type=Path, default=None, help="instead: a CSV of pairs (a, b, same)")
    c.add_argument("--recogniser", default="dlib", help="dlib (default) or onnx (with --model)")
    c.add_argument("--model", type=Path, default=None, help="the ONNX model file of --recogniser onnx")
    c.add_argument("--fmr", type=float, default=1e-3, help="false-match rate of the reported threshold (0.001)")
    c.add_argument("--folds", type=int, default=5, help="person folds of the held-out EER (5)")
    add_cache(c, "folder to keep embeddings in (reruns embed nothing)")
    add_out(c, "calibration JSON file to write", required=True)
    c.set_defaults(func=cmd_calibrate)
    p.set_defaults(func=lambda a: (p.print_help(), 2)[1])


def _pair_sims(args: argparse.Namespace, recogniser: str, opts: dict):  # noqa: ANN202
    import numpy as np

    from .identity_pairs import PairSet, embed_photos, labelled_pairs, read_labelled, read_pairs

    if args.pairs is not None:
        a, b, same = read_pairs(args.pairs)
        uniq = sorted({str(p) for p in [*a, *b]})
        emb, failed = embed_photos(uniq, recogniser=recogniser, options=opts, cache_dir=args.cache)
        row = {p: i for i, p in enumerate(uniq)}
        ea, eb = emb[[row[str(p)] for p in a]], emb[[row[str(p)] for p in b]]
        ok = ~(np.isnan(ea).any(1) | np.isnan(eb).any(1))
        na = ea / np.linalg.norm(ea, axis=1, keepdims=True)
        nb = eb / np.linalg.norm(eb, axis=1, keepdims=True)
        sims = (na * nb).sum(1)
        return PairSet(same=sims[ok & same], different=sims[ok & ~same], failed=failed,
                       n_photos=len(uniq) - len(failed)), f"{args.pairs}: {int(ok.sum())} of {len(same)} pairs"
    lab = read_labelled(args.labelled)
    emb, failed = embed_photos(lab.paths, recogniser=recogniser, options=opts, cache_dir=args.cache)
    ps = labelled_pairs(emb, lab.persons, failed)
    return ps, f"{lab.source}: {ps.n_photos} photos of {ps.n_persons} persons"


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Embed, pair, fit, validate, write."""
    from .calibration import BANDS, fit_calibration, heldout_by_person
    from .identity import get_recogniser

    if (args.labelled is None) == (args.pairs is None):
        print("facebench identity calibrate: error: give labelled photos (folder or path,person CSV) or --pairs CSV",
              file=sys.stderr)
        return 2
    opts = {}
    if args.recogniser == "onnx":
        if args.model is None:
            print("facebench identity calibrate: error: --recogniser onnx needs --model FILE.onnx", file=sys.stderr)
            return 2
        opts = {"path": str(args.model)}
    try:
        label = get_recogniser(args.recogniser, **opts).label
        pairs, data = _pair_sims(args, args.recogniser, opts)
        for f in pairs.failed:
            print(f"  skipped {f}", file=sys.stderr)
        cal = fit_calibration(pairs.same, pairs.different, recogniser=label, fmr=args.fmr,
                              n_persons=pairs.n_persons, data=data)
    except (ValueError, KeyError, FileNotFoundError) as exc:
        print(f"facebench identity calibrate: error: {exc}", file=sys.stderr)
        return 2
    if args.pairs is None:
        ho = heldout_by_person(pairs.same, pairs.same_persons, pairs.different, pairs.different_persons,
                               folds=args.folds, fmr=args.fmr)
        cal = type(cal)(**{**cal.__dict__, "heldout": ho})
    cal.save(args.out)
    print(f"{label}: {cal.n_same} same-person, {cal.n_different} different-person pairs ({data}); "
          f"{len(pairs.failed)} photo(s) skipped")
    print("anchors (raw -> calibrated): " + ", ".join(f"{n or '?'} {x:.4f}->{y:.2f}" for n, x, y in cal.anchors))
    for name, lo, hi in BANDS:
        rlo, rhi = cal.raw_bands[name]
        print(f"  {name:<14} calibrated {lo:4.1f}-{hi:3.1f}  raw {rlo:.4f}-{rhi:.4f}")
    print(f"EER {cal.eer:.4f} at raw {cal.eer_threshold:.4f}; threshold at FMR {cal.fmr:g}: raw {cal.threshold:.4f}")
    if cal.heldout:
        print(f"held-out by person ({cal.heldout.get('folds')} folds): EER {cal.heldout.get('eer', float('nan')):.4f}")
    for n in cal.notes:
        print(f"  note: {n}")
    print(f"wrote {args.out}")
    return 0
