"""Speed of facebench.metrics beside the references, timed in the same run.

- MOS from raw ratings (default 1,000,000: 20,000 images x 50 subjects, one group) against
  Netflix sureal's ZscoringMosModel (z-score MOS) and ZscoringSubjrejMosModel (BT.500 screening +
  z-scores; sureal screens the z-scores, facebench the raw ratings, see facebench.metrics.mos).
  Both are timed from data already in their own format (a DataFrame / a sureal dataset reader).
- SRCC, KRCC, PLCC on 1,000,000 pairs against scipy.stats spearmanr, kendalltau, pearsonr.

Prints one table: seconds (best of --repeats), ratio = facebench / reference (< 1: faster),
and the largest absolute difference between the two results.

    python benchmarks/bench_metrics.py [--n 1000000] [--mos-n 1000000] [--repeats 3] [--clock cpu]
"""

from __future__ import annotations

import argparse
import time
import types
import warnings
from typing import Any, Callable

import numpy as np
import pandas as pd
from scipy import stats

from facebench.metrics import krcc, mos_table, plcc, plcc_fitted, srcc


CLOCK = time.perf_counter  # --clock cpu: time.process_time (steadier on a shared machine)


def best_time(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """(fastest time in seconds on :data:`CLOCK`, result of the last call)."""
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = CLOCK()
        out = fn()
        best = min(best, CLOCK() - t0)
    return best, out


def ratings_matrix(n_items: int, n_subjects: int, seed: int = 0) -> np.ndarray:
    """(items, subjects) two-decimal ratings on 0-5 from biased, scaled, noisy raters, 2 erratic."""
    rng = np.random.default_rng(seed)
    latent = rng.uniform(-1.5, 1.5, n_items)
    bias = rng.normal(0, 0.5, n_subjects)
    scale = rng.uniform(0.6, 1.4, n_subjects)
    r = 2.5 + bias + scale * latent[:, None] + rng.normal(0, 0.3, (n_items, n_subjects))
    r[:, :2] += rng.choice([-1.5, 1.5], (n_items, 2))
    return np.round(np.clip(r, 0, 5), 2)


def as_frame(m: np.ndarray) -> pd.DataFrame:
    n_items, n_subjects = m.shape
    return pd.DataFrame(
        {
            "subject": np.tile(np.arange(n_subjects), n_items),
            "item": np.repeat(np.arange(n_items), n_subjects),
            "dimension": "quality",
            "score": m.ravel(),
        }
    )


def as_sureal_reader(m: np.ndarray):
    from sureal.dataset_reader import RawDatasetReader

    dis = [{"content_id": 0, "asset_id": j, "path": str(j), "os": row.tolist()} for j, row in enumerate(m)]
    return RawDatasetReader(
        types.SimpleNamespace(dataset_name="bench", ref_videos=[{"content_id": 0, "path": "r"}], dis_videos=dis)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="pairs for the correlations")
    ap.add_argument("--mos-n", type=int, default=1_000_000, help="raw ratings for MOS (50 subjects each)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per entry (best is kept)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall clock, or this process's CPU time (all its threads)")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    warnings.simplefilter("ignore", RuntimeWarning)  # sureal's 0/0 for subjects without outliers
    rows: list[dict[str, Any]] = []

    def add(task: str, size: int, ours: float, ref_name: str, ref: float | None, diff: float | None) -> None:
        rows.append(
            {
                "task": task, "size": size, "facebench_s": ours, "reference": ref_name,
                "reference_s": ref, "ratio": None if ref is None else ours / ref, "max_abs_diff": diff,
            }
        )

    # ---- MOS
    n_subjects = 50
    m = ratings_matrix(max(1, args.mos_n // n_subjects), n_subjects)
    frame = as_frame(m)
    try:
        from sureal.subjective_model import ZscoringMosModel, ZscoringSubjrejMosModel

        reader = as_sureal_reader(m)
    except ImportError:
        reader = None
    t_ours, ours = best_time(lambda: mos_table(frame, screening="none"), args.repeats)
    if reader is not None:
        t_ref, ref = best_time(lambda: ZscoringMosModel(reader).run_modeling(), 1)
        diff = float(np.abs(ours.mos.to_numpy() * 6 / 100 - 3 - np.asarray(ref["quality_scores"])).max())
        add("MOS z-score", frame.shape[0], t_ours, "sureal ZS_MOS", t_ref, diff)
    else:
        add("MOS z-score", frame.shape[0], t_ours, "sureal not installed", None, None)
    t_ours, _ = best_time(lambda: mos_table(frame, screening="bt500"), args.repeats)
    if reader is not None:
        t_ref, _ = best_time(lambda: ZscoringSubjrejMosModel(reader).run_modeling(), 1)
        add("MOS BT.500 + z-score", frame.shape[0], t_ours, "sureal ZS_SR_MOS", t_ref, None)

    # ---- correlations
    rng = np.random.default_rng(1)
    x = rng.normal(size=args.n)
    y = 0.5 * x + rng.normal(size=args.n)
    xt, yt = np.round(x, 1), np.round(y, 1)  # heavy ties
    for name, ours_fn, ref_name, ref_fn in (
        ("SRCC", srcc, "scipy spearmanr", lambda a, b: stats.spearmanr(a, b)[0]),
        ("KRCC (tau-b)", krcc, "scipy kendalltau", lambda a, b: stats.kendalltau(a, b)[0]),
        ("PLCC", plcc, "scipy pearsonr", lambda a, b: stats.pearsonr(a, b)[0]),
    ):
        for label, a, b in (("", x, y), (" ties", xt, yt)):
            t_ours, r_ours = best_time(lambda: ours_fn(a, b), args.repeats)
            t_ref, r_ref = best_time(lambda: ref_fn(a, b), args.repeats)
            add(name + label, args.n, t_ours, ref_name, t_ref, abs(r_ours - r_ref))
    t_fit, _ = best_time(lambda: plcc_fitted(x, y, 5), 1)
    add("PLCC after 5-par. logistic", args.n, t_fit, "(no reference)", None, None)

    table = pd.DataFrame(rows)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    print(f"ratio = facebench seconds / reference seconds ({args.clock} time, best of "
          f"{args.repeats} for facebench and scipy, 1 run for sureal)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
