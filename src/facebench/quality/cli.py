"""``facebench quality ...`` (metrics, score, correlate, train, predict, diversity) and
``facebench degrade``.

Every bad input (unreadable image, missing reference, size mismatch, image too small for a metric,
unknown metric name) is one line; the other items still run, failures are listed at the end and
the exit status is 1 (2 for bad arguments).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..base.cli import add_out

_RAW = argparse.RawDescriptionHelpFormatter

_SCORE_EPILOG = """\
inputs: image files, folders (searched recursively) or manifests (.csv/.jsonl/.parquet with an
'image' column and optionally 'reference'; relative paths are taken from the manifest's folder).
Full-reference metrics need the reference: from the manifest, or --reference-dir with the same
relative file names (or, when that file is missing, the one file with the same relative name up to
the extension: lq/a.png pairs with hq/a.jpg).

metrics: comma-separated names, 'default' (all but the face metrics; images without a reference
get only the no-reference ones, and a note says so), 'face', or 'all';
`facebench quality metrics` lists them with direction, range, source and licence.

Output: one tidy row per (image, metric) with value, higher_is_better and error.
A distorted image of another size than its reference is an error unless --resize reference.
A grayscale image paired with a colour one is compared as RGB (a warning says so).

examples:
  facebench quality score lq/ --reference-dir hq/ -o scores.csv
  facebench quality score pairs.csv --metrics ssim,fsim,niqe -o scores.parquet
"""

_CORR_EPILOG = """\
SCORES: output of `quality score` (long) or a wide CSV (image + one column per metric).
MOS: a MOS table (item, dimension, mos[, subset]) from facebench.metrics.mos, or raw ratings
(subject, item, dimension, score[, group][, subset]) which are turned into MOS (BT.500 screening,
z-scores). Items are matched to images by path, then file name, then stem.

Writes into the -o/--out folder: benchmark.csv (long, with CIs), table.csv (F-Bench Tables 2-4 layout),
table.md and srcc.png. Lower-is-better metrics are negated so positive = agrees with people;
PLCC is computed after a 4- (or 5-) parameter logistic fit.
"""


def _metric_list(text: str) -> list[str]:
    from .catalog import DEFAULT_METRICS, FACE_METRICS, QUALITY_METRICS

    out: list[str] = []
    for part in [t.strip() for t in text.split(",") if t.strip()]:
        if part == "default":
            out += list(DEFAULT_METRICS)
        elif part == "face":
            out += list(FACE_METRICS)
        elif part == "all":
            out += QUALITY_METRICS.names()
        else:
            out.append(QUALITY_METRICS.entry(part).name)
    return list(dict.fromkeys(out))


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``quality`` and ``degrade`` subcommands."""
    q = subparsers.add_parser("quality", help="F-Bench face quality: metrics, scoring, metric-vs-MOS, predictor, diversity",
                              description="Face image quality the way F-Bench evaluates it.")
    qs = q.add_subparsers(dest="quality_command", metavar="SUBCOMMAND")
    q.set_defaults(func=lambda a: (q.print_help(), 2)[1])

    m = qs.add_parser("metrics", help="list the quality metrics with their metadata")
    add_out(m, "also write the list to this CSV file", type=str)
    m.add_argument("--csv", dest="out", help=argparse.SUPPRESS)  # the old spelling
    m.set_defaults(func=_run_metrics)

    s = qs.add_parser("score", help="score images (folders or manifests) with quality metrics",
                      description="Score images with full-reference, no-reference and face metrics into one tidy table.",
                      epilog=_SCORE_EPILOG, formatter_class=_RAW)
    s.add_argument("inputs", nargs="+", metavar="INPUT", help="images, folders or manifests")
    add_out(s, "output table file (.csv or .parquet)", required=True, type=str)
    s.add_argument("--metrics", default="default", help="metric names, 'default', 'face' or 'all' (default: default)")
    s.add_argument("--reference-dir", help="folder of references with the same relative names as a folder input")
    s.add_argument("--batch-size", type=int, default=8, help="images per batch (default 8)")
    s.add_argument("--resize", choices=("error", "reference"), default="error",
                   help="size mismatch: 'error' (default) or resize the image to its reference")
    s.add_argument("--max-pixels", type=int, default=None,
                   help="score larger images on a shrunk copy (default 4194304 = 2048x2048; 0: full size)")
    s.set_defaults(func=_run_score)

    c = qs.add_parser("correlate", help="SRCC/KRCC/PLCC of metrics against MOS (F-Bench Tables 2-4)",
                      description="Correlate objective scores with MOS per metric and dimension, with bootstrap CIs.",
                      epilog=_CORR_EPILOG, formatter_class=_RAW)
    c.add_argument("scores", help="score table (CSV/Parquet)")
    c.add_argument("mos", help="MOS table or raw ratings (CSV/Parquet/JSONL)")
    add_out(c, "output folder (default: quality_benchmark)", default="quality_benchmark", type=str)
    c.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs (0 = none; default 1000)")
    c.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    c.add_argument("--plcc-params", type=int, choices=(4, 5), default=4, help="logistic fit before PLCC (default 4)")
    c.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    c.set_defaults(func=_run_correlate)

    t = qs.add_parser("train", help="train the learned quality predictor on (image, MOS) pairs",
                      description="Train features-of-shipped-models + small CNN on a seeded 80/20 split; "
                                  "report held-out SRCC/PLCC and save the model.")
    t.add_argument("mos", help="MOS table (item = image path, dimension, mos) or raw ratings")
    t.add_argument("--images-root", help="folder that relative item paths are taken from (default: the MOS file's folder)")
    t.add_argument("--dimension", default="quality", help="MOS dimension to learn (default: quality)")
    add_out(t, "model file (default quality_model.pt); a .json report goes beside it", default="quality_model.pt", type=str)
    t.add_argument("--features", default="brisque,nr,face", help="feature groups: brisque, nr, face (default: all)")
    t.add_argument("--no-cnn", action="store_true", help="features only, no CNN branch")
    t.add_argument("--epochs", type=int, default=60)
    t.add_argument("--image-size", type=int, default=96)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--test-fraction", type=float, default=0.2)
    t.set_defaults(func=_run_train)

    pr = qs.add_parser("predict", help="predict MOS with a trained model")
    pr.add_argument("model", help="model file from `quality train`")
    pr.add_argument("inputs", nargs="+", help="images or folders")
    add_out(pr, "also write image,prediction to this CSV file", type=str)
    pr.set_defaults(func=_run_predict)

    d = qs.add_parser("diversity", help="brightness/contrast/colourfulness/sharpness diversity of image sets",
                      description="Per-image low-level features, relative range R and coverage uniformity U per dataset, "
                                  "density plots (F-Bench appendix A.3).")
    d.add_argument("datasets", nargs="+", metavar="[NAME=]FOLDER", help="one folder per dataset (NAME defaults to the folder name)")
    add_out(d, "output folder (default quality_diversity)", default="quality_diversity", type=str)
    d.add_argument("--bins", type=int, default=10, help="histogram bins B for U (default 10)")
    d.set_defaults(func=_run_diversity)

    g = subparsers.add_parser(
        "degrade", help="make synthetic low-quality images (first-order / Real-ESRGAN second-order)",
        description="Degrade images with F-Bench's pipelines; every output gets <file>.json with the exact "
                    "operations and parameters (replayable).",
        epilog="pipelines: first (blur p=0.7 -> down x4/8/16 -> noise p=0.2 -> JPEG p=0.7), second "
               "(Real-ESRGAN two-stage with sinc), mixed (half each, as F-Bench).\n"
               "example: facebench degrade hq/ -o lq/ --pipeline mixed --seed 1 --copies 2\n"
               "Outputs are PNG by default (lossless: the image is exactly the degradation); "
               "`facebench quality score lq/ --reference-dir hq/` pairs lq/a.png with hq/a.jpg.",
        formatter_class=_RAW)
    g.add_argument("inputs", nargs="+", help="images or folders")
    add_out(g, "output folder", required=True, type=str)
    g.add_argument("--pipeline", choices=("first", "second", "mixed"), default="mixed")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--copies", type=int, default=1, help="degraded copies per image (default 1)")
    g.add_argument("--small", action="store_true", help="keep the low-resolution result (default: resize back)")
    g.add_argument("--format", default="png", choices=("png", "jpg", "webp"), help="output format (default png)")
    g.set_defaults(func=_run_degrade)


def _report_failures(lines: list[str]) -> int:
    if lines:
        print(f"\n{len(lines)} failure(s):", file=sys.stderr)
        for line in lines:
            print(f"  {line}", file=sys.stderr)
        return 1
    return 0


def _run_metrics(args: argparse.Namespace) -> int:
    from .catalog import metrics_frame

    df = metrics_frame()
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(df[["metric", "kind", "higher_is_better", "range_low", "range_high", "min_size", "source"]].to_string(index=False))
    if args.out:
        df.to_csv(args.out, index=False)
    return 0


def _run_score(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..base.registry import UnknownNameError
    from .scoring import SCORE_MAX_PIXELS, collect_pairs, failures, score_pairs, write_table

    try:
        metrics = _metric_list(args.metrics)
        if args.max_pixels is not None and args.max_pixels < 0:
            raise ValueError(f"--max-pixels must be >= 0, got {args.max_pixels}")
        pairs = collect_pairs(args.inputs, args.reference_dir)
    except (UnknownNameError, ValueError, OSError) as exc:
        print(f"facebench quality score: error: {exc}", file=sys.stderr)
        return 2
    if not pairs:
        print("facebench quality score: error: no images found", file=sys.stderr)
        return 2
    cap = SCORE_MAX_PIXELS if args.max_pixels is None else (args.max_pixels or None)
    groups = _metric_groups(pairs, metrics, by_default="default" in args.metrics.split(","), quiet=args.quiet)
    table = pd.concat([score_pairs(ps, ms, batch_size=args.batch_size, resize=args.resize,
                                   progress=not args.no_progress, max_pixels=cap) for ps, ms in groups],
                      ignore_index=True)
    out = write_table(table, args.out)
    ok = table[table["error"] == ""]
    print(ok.groupby("metric")["value"].agg(["count", "mean", "min", "max"]).to_string())
    print(f"wrote {out} ({len(table)} rows)")
    bad = failures(table)
    return _report_failures([f"{r.image} [{r.metric}]: {r.error}" for r in bad.itertuples()])


def _metric_groups(pairs: list, metrics: list[str], *, by_default: bool,
                   quiet: bool = False) -> list[tuple[list, list[str]]]:
    """(pairs, metrics) to score. With the default metric set, pairs without a reference get only
    the no-reference metrics (a note on stderr says how many); named metrics run on every pair."""
    from .catalog import metric_info

    bare = [p for p in pairs if not p.reference]
    fr = [m for m in metrics if metric_info(m).full_reference]
    if not by_default or not bare or not fr:
        return [(pairs, metrics)]
    if not quiet:
        print(f"note: {len(bare)} image(s) without a reference: scored with the no-reference metrics only "
              f"(not {', '.join(fr)}); give --reference-dir or a manifest 'reference' column", file=sys.stderr)
    with_ref = [p for p in pairs if p.reference]
    groups = [(with_ref, metrics)] if with_ref else []
    nr = [m for m in metrics if m not in fr]
    return groups + ([(bare, nr)] if nr else [])


def _run_correlate(args: argparse.Namespace) -> int:
    from . import correlate as cr

    try:
        joined = cr.join(cr.load_scores(args.scores), cr.load_mos(args.mos))
    except (ValueError, OSError) as exc:
        print(f"facebench quality correlate: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    res = cr.benchmark(joined, n_boot=args.n_boot, level=args.level, seed=args.seed, plcc_params=args.plcc_params)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.to_csv(out / "benchmark.csv", index=False)
    cr.wide_table(res).to_csv(out / "table.csv")
    md = cr.markdown(res, args.level)
    (out / "table.md").write_text(md)
    cr.plot(res, out / "srcc.png")
    print(md)
    print(f"wrote {out}/benchmark.csv, table.csv, table.md, srcc.png")
    return 0


def _resolve_items(items: list[str], root: Path) -> list[Path]:
    out = []
    for it in items:
        p = Path(it)
        out.append(p if p.is_absolute() or p.exists() else root / p)
    return out


def _run_train(args: argparse.Namespace) -> int:
    from ..base.imageio import ImageError, load_image
    from .correlate import load_mos
    from .predictor import PredictorConfig, QualityPredictor

    try:
        mos = load_mos(args.mos)
    except (ValueError, OSError) as exc:
        print(f"facebench quality train: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    mos = mos[mos["dimension"] == args.dimension].dropna(subset=["mos"])
    if mos.empty:
        print(f"facebench quality train: error: no MOS for dimension {args.dimension!r}", file=sys.stderr)
        return 2
    root = Path(args.images_root) if args.images_root else Path(args.mos).parent
    images, ys, fails = [], [], []
    for path, y in zip(_resolve_items(list(mos["item"].astype(str)), root), mos["mos"]):
        try:
            images.append(load_image(path))
            ys.append(float(y))
        except ImageError as exc:
            fails.append(str(exc))
    cfg = PredictorConfig(feature_groups=tuple(x.strip() for x in args.features.split(",") if x.strip()),
                          use_cnn=not args.no_cnn, epochs=args.epochs, image_size=args.image_size, seed=args.seed,
                          test_fraction=args.test_fraction)
    try:
        model = QualityPredictor(cfg)
        report = model.fit(images, ys, progress=not args.no_progress)
    except ValueError as exc:
        print(f"facebench quality train: error: {exc}", file=sys.stderr)
        return 2
    path = model.save(args.out)
    rep = report.to_dict() | {"dimension": args.dimension, "config": cfg.__dict__ | {"feature_groups": list(cfg.feature_groups)}}
    Path(str(path) + ".json").write_text(json.dumps(rep, indent=1))
    print(f"held-out SRCC {report.srcc:.4f}  PLCC {report.plcc:.4f}  (n_test={report.n_test}; "
          f"chance 95% SRCC {report.chance_srcc95:.3f}, p={report.p_value:.3f})")
    print(f"wrote {path} and {path}.json")
    return _report_failures(fails)


def _run_predict(args: argparse.Namespace) -> int:
    from ..base.imageio import ImageError, list_images, load_image
    from .predictor import QualityPredictor

    try:
        model = QualityPredictor.load(args.model)
    except ValueError as exc:
        print(f"facebench quality predict: error: {exc}", file=sys.stderr)
        return 2
    rows, fails = [], []
    for p in list_images(args.inputs):
        try:
            rows.append((str(p), float(model.predict([load_image(p)])[0])))
        except ImageError as exc:
            fails.append(str(exc))
    for name, v in rows:
        print(f"{v:8.3f}  {name}")
    if args.out:
        import pandas as pd

        pd.DataFrame(rows, columns=["image", "prediction"]).to_csv(args.out, index=False)
    return _report_failures(fails)


def _run_diversity(args: argparse.Namespace) -> int:
    from . import diversity as dv

    feats = dv.image_features(dv.parse_dataset_args(args.datasets))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    feats.to_csv(out / "features.csv", index=False)
    summ = dv.summary(feats, bins=args.bins)
    summ.to_csv(out / "summary.csv", index=False)
    if len(summ):
        dv.density_plot(feats, out / "density.png")
        print(summ.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"wrote {out}/features.csv, summary.csv" + (", density.png" if len(summ) else ""))
    return _report_failures([f"{r.image}: {r.error}" for r in feats[feats["error"] != ""].itertuples()])


def _run_degrade(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from ..base.imageio import ImageError, list_images, load_image
    from .degrade import degrade, write_degradation

    fails = []
    out = Path(args.out)
    items = []
    for src in args.inputs:
        base = Path(src)
        for p in list_images([src]):
            items.append((p, p.relative_to(base) if base.is_dir() else Path(p.name)))
    for p, rel in tqdm(items, desc="degrade", unit="img", disable=args.no_progress or None):
        try:
            img = load_image(p)
        except ImageError as exc:
            fails.append(str(exc))
            continue
        for k in range(args.copies):
            key = f"{rel.as_posix()}#{k}"
            res = degrade(img, args.pipeline, seed=args.seed, key=key, keep_size=not args.small)
            suffix = f"_{k}" if args.copies > 1 else ""
            write_degradation(res, out / rel.parent / f"{rel.stem}{suffix}.{args.format}")
    print(f"wrote {len(items) * args.copies - len(fails) * args.copies} image(s) with .json records to {out}")
    return _report_failures(fails)
