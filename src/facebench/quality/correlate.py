"""Metric-vs-MOS benchmark laid out like F-Bench Tables 2-4.

For every (subset, dimension, metric): SRCC, KRCC and PLCC between the metric's scores and the MOS,
with percentile-bootstrap confidence intervals (:func:`facebench.metrics.correlation.correlate`).

Conventions (stated in every output):

- **sign**: scores of lower-is-better metrics (registry flag) are negated first, so a positive
  correlation always means "agrees with people"; F-Bench reports the magnitudes the same way.
- **PLCC** in the main table is computed after the IQA-standard monotonic logistic fit
  (``plcc_params`` = 4 or 5 parameters, VQEG); the raw PLCC is kept in the long table.
- scores and MOS are joined on the image path; when no path matches exactly, on the file name,
  then on the file stem.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from ..metrics.correlation import correlate as correlate_pair
from ._plot import pyplot, save_figure
from .catalog import QUALITY_METRICS

STATS = ("srcc", "krcc", "plcc")


def load_scores(path: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Long score table (image, metric, value) from a ``quality score`` output (long) or a wide
    table with an ``image`` column and one column per metric (CSV/Parquet)."""
    df = path if isinstance(path, pd.DataFrame) else _read(path)
    if "image" not in df.columns:
        raise ValueError(f"{path if not isinstance(path, pd.DataFrame) else 'scores'}: no 'image' column")
    if {"metric", "value"} <= set(df.columns):
        out = df[["image", "metric", "value"] + (["error"] if "error" in df.columns else [])].copy()
        if "error" in out.columns:
            out = out[out["error"].fillna("").astype(str) == ""].drop(columns="error")
    else:
        value_cols = [c for c in df.columns if c != "image" and pd.api.types.is_numeric_dtype(df[c])]
        out = df.melt(id_vars="image", value_vars=value_cols, var_name="metric", value_name="value")
    out["value"] = pd.to_numeric(out["value"], errors="coerce")
    return out.dropna(subset=["value"]).reset_index(drop=True)


def load_mos(path: str | os.PathLike | pd.DataFrame, **mos_kwargs) -> pd.DataFrame:
    """MOS table (item, dimension, mos[, subset]): a ``mos_table`` output, or raw ratings
    (subject, item, dimension, score[, group]) which are turned into MOS with
    :func:`facebench.metrics.mos.mos_table`."""
    df = path if isinstance(path, pd.DataFrame) else _read(path)
    if "mos" not in df.columns:
        if {"subject", "item", "dimension", "score"} <= set(df.columns):
            from ..metrics.mos import mos_table

            extra = [c for c in ("subset",) if c in df.columns]
            mos = mos_table(df.drop(columns=extra), **mos_kwargs)
            if extra:
                mos = mos.merge(df[["item"] + extra].drop_duplicates("item"), on="item", how="left")
            df = mos
        else:
            raise ValueError("MOS table needs a 'mos' column, or raw ratings with subject, item, dimension, score")
    if "item" not in df.columns:
        raise ValueError("MOS table needs an 'item' column naming the image")
    if "dimension" not in df.columns:
        df = df.assign(dimension="quality")
    if "subset" not in df.columns:
        df = df.assign(subset="all")
    return df


def _read(path: str | os.PathLike) -> pd.DataFrame:
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return pd.read_parquet(p)
    if p.suffix.lower() in (".jsonl", ".ndjson"):
        return pd.read_json(p, lines=True)
    return pd.read_csv(p)


def join(scores: pd.DataFrame, mos: pd.DataFrame) -> pd.DataFrame:
    """Pair each (item, dimension) MOS with each metric score of the same image."""
    for key in (lambda s: s.astype(str), lambda s: s.astype(str).map(lambda v: Path(v).name),
                lambda s: s.astype(str).map(lambda v: Path(v).stem)):
        a = scores.assign(_k=key(scores["image"]))
        b = mos.assign(_k=key(mos["item"]))
        joined = a.merge(b[["_k", "item", "dimension", "subset", "mos"]], on="_k")
        if len(joined):
            return joined.drop(columns="_k")
    raise ValueError("no image of the score table matches an item of the MOS table (by path, name or stem)")


def benchmark(joined: pd.DataFrame, *, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
              plcc_params: int = 4) -> pd.DataFrame:
    """Long result table: subset, dimension, metric, kind, sign, n, srcc, krcc, plcc (fitted),
    plcc_raw, and ``<stat>_ci_low/high`` for each statistic."""
    if plcc_params not in (4, 5):
        raise ValueError(f"plcc_params must be 4 or 5, got {plcc_params}")
    rows = []
    for (subset, dim, metric), g in joined.groupby(["subset", "dimension", "metric"], sort=True):
        known = metric in QUALITY_METRICS
        meta = QUALITY_METRICS.meta(metric) if known else {}
        sign = -1.0 if meta.get("higher_is_better") is False else 1.0
        x = sign * g["value"].to_numpy(float)
        y = g["mos"].to_numpy(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = correlate_pair(x, y, fitted=True, n_boot=n_boot, level=level, seed=seed, nan_policy="omit")
            fitted = r[f"plcc_logistic{plcc_params}"]
            row = {"subset": subset, "dimension": dim, "metric": metric, "kind": meta.get("kind", "other"),
                   "sign": int(sign), "n": r["n"], "srcc": r["srcc"], "krcc": r["krcc"],
                   "plcc": fitted if np.isfinite(fitted) else r["plcc"], "plcc_raw": r["plcc"],
                   "plcc_fit": f"logistic{plcc_params}" if np.isfinite(fitted) else "none (fit failed)"}
            for s in ("srcc", "krcc"):
                row[f"{s}_ci_low"], row[f"{s}_ci_high"] = r.get(f"{s}_ci_low", np.nan), r.get(f"{s}_ci_high", np.nan)
            if n_boot and np.isfinite(fitted):
                from ..metrics.correlation import bootstrap_ci, plcc_fitted

                ci = bootstrap_ci(lambda a, b: plcc_fitted(a, b, plcc_params), x, y, n_boot=n_boot, level=level, seed=seed)
                row["plcc_ci_low"], row["plcc_ci_high"] = ci.low, ci.high
            else:
                row["plcc_ci_low"], row["plcc_ci_high"] = r.get("plcc_ci_low", np.nan), r.get("plcc_ci_high", np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def wide_table(result: pd.DataFrame) -> pd.DataFrame:
    """Tables 2-4 layout: one row per metric, columns ``subset / dimension / SRCC|KRCC|PLCC``."""
    cols = []
    for (subset, dim), g in result.groupby(["subset", "dimension"], sort=False):
        part = g.set_index("metric")[list(STATS)]
        part.columns = [f"{subset} / {dim} / {s.upper()}" if subset != "all" else f"{dim} / {s.upper()}" for s in STATS]
        cols.append(part)
    table = pd.concat(cols, axis=1)
    kinds = result.drop_duplicates("metric").set_index("metric")["kind"]
    table.insert(0, "kind", kinds.reindex(table.index))
    return table.sort_values(["kind", table.columns[1]], ascending=[True, False])


def markdown(result: pd.DataFrame, level: float = 0.95) -> str:
    """Markdown tables (one per subset) with ``value [ci_low, ci_high]`` cells, best per column in bold."""
    lines = []
    for subset, gs in result.groupby("subset", sort=False):
        dims = list(dict.fromkeys(gs["dimension"]))
        title = "F-Bench style benchmark" + ("" if subset == "all" else f": {subset}")
        lines += [f"### {title}", ""]
        head = "| metric | kind | " + " | ".join(f"{d} {s.upper()}" for d in dims for s in STATS) + " |"
        lines += [head, "|" + "---|" * (2 + 3 * len(dims))]
        best = {(d, s): gs[gs["dimension"] == d][s].max() for d in dims for s in STATS}
        order = gs[gs["dimension"] == dims[0]].sort_values(["kind", "srcc"], ascending=[True, False])["metric"]
        for metric in order:
            cells = []
            for d in dims:
                r = gs[(gs["dimension"] == d) & (gs["metric"] == metric)]
                for s in STATS:
                    if r.empty or not np.isfinite(r[s].iloc[0]):
                        cells.append("N/A")
                        continue
                    v = r[s].iloc[0]
                    txt = f"{v:.4f}"
                    if v == best[(d, s)]:
                        txt = f"**{txt}**"
                    lo, hi = r[f"{s}_ci_low"].iloc[0], r[f"{s}_ci_high"].iloc[0]
                    if np.isfinite(lo) and np.isfinite(hi):
                        txt += f" [{lo:.2f}, {hi:.2f}]"
                    cells.append(txt)
            kind = gs[gs["metric"] == metric]["kind"].iloc[0]
            lines.append(f"| {metric} | {kind} | " + " | ".join(cells) + " |")
        fit = ", ".join(sorted(set(gs["plcc_fit"])))
        lines += ["", f"Scores of lower-is-better metrics are negated first. PLCC after a monotonic fit ({fit}). "
                  f"Brackets: {int(level * 100)}% percentile-bootstrap intervals. n = {int(gs['n'].max())} images.", ""]
    return "\n".join(lines)


def plot(result: pd.DataFrame, path: str | os.PathLike, stat: str = "srcc") -> Path:
    """Horizontal bar chart of ``stat`` per metric with CI error bars, one panel per (subset, dimension)."""
    plt = pyplot()

    groups = list(result.groupby(["subset", "dimension"], sort=False))
    fig, axes = plt.subplots(1, len(groups), figsize=(4.5 * len(groups), 0.35 * result["metric"].nunique() + 1.5),
                             squeeze=False, sharey=True)
    order = result.groupby("metric")[stat].mean().sort_values().index
    for ax, ((subset, dim), g) in zip(axes[0], groups):
        g = g.set_index("metric").reindex(order)
        v = g[stat].to_numpy(float)
        lo = np.clip(v - g[f"{stat}_ci_low"].to_numpy(float), 0, None)
        hi = np.clip(g[f"{stat}_ci_high"].to_numpy(float) - v, 0, None)
        err = np.vstack([np.nan_to_num(lo), np.nan_to_num(hi)])
        ax.barh(range(len(order)), np.nan_to_num(v), xerr=err, color="#4c72b0", ecolor="#333333", capsize=2)
        ax.set_yticks(range(len(order)), list(order))
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlim(-1, 1)
        ax.set_title(dim if subset == "all" else f"{subset}: {dim}")
        ax.set_xlabel(stat.upper())
    return save_figure(fig, path)
