"""Diversity report of image sets (F-Bench appendix A.3, Figs. 9-10).

Per image the four low-level features of :mod:`facebench.metrics.diversity` (brightness, contrast,
colourfulness, sharpness); per dataset and feature the relative range R (eq. 6, relative to the
largest value over all datasets) and the coverage uniformity U (eq. 7, entropy of a B-bin histogram
whose bins span the feature's range over *all* datasets, so that the U values are comparable);
and kernel-density curves per feature with one curve per dataset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..base.imageio import ImageError, list_images, load_image
from ..metrics import diversity as div
from ._plot import pyplot, save_figure


def image_features(datasets: Mapping[str, Sequence[str | os.PathLike]], progress: bool = True) -> pd.DataFrame:
    """One row per image: dataset, image, the four features, error (unreadable files keep a row)."""
    rows = []
    items = [(name, p) for name, srcs in datasets.items() for p in list_images(list(srcs))]
    for name, p in tqdm(items, desc="diversity", unit="img", disable=not progress):
        row = {"dataset": name, "image": str(p), "error": ""}
        try:
            row.update(div.features(load_image(p)))
        except (ImageError, ValueError) as exc:
            row.update({f: np.nan for f in div.FEATURES})
            row["error"] = str(exc).splitlines()[0]
        rows.append(row)
    return pd.DataFrame(rows, columns=["dataset", "image", *div.FEATURES, "error"])


def summary(features: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Per (dataset, feature): n, min, max, mean, relative_range R, coverage_uniformity U."""
    ok = features[features["error"].fillna("") == ""]
    rows = []
    for feat in div.FEATURES:
        per = {k: g[feat].to_numpy(float) for k, g in ok.groupby("dataset", sort=False)}
        per = {k: v for k, v in per.items() if v.size}
        if not per:
            continue
        r = div.relative_range(per)
        lo = min(float(v.min()) for v in per.values())
        hi = max(float(v.max()) for v in per.values())
        for k, v in per.items():
            rows.append({"dataset": k, "feature": feat, "n": int(v.size), "min": float(v.min()), "max": float(v.max()),
                         "mean": float(v.mean()), "relative_range": r[k],
                         "coverage_uniformity": div.coverage_uniformity(v, bins=bins, range=(lo, hi))})
    return pd.DataFrame(rows)


def density_plot(features: pd.DataFrame, path: str | os.PathLike) -> Path:
    """2x2 panels of kernel-density curves (Gaussian KDE, Scott's bandwidth), one curve per dataset."""
    plt = pyplot()
    from scipy.stats import gaussian_kde

    ok = features[features["error"].fillna("") == ""]
    fig, axes = plt.subplots(2, 2, figsize=(9, 6.5))
    for ax, feat in zip(axes.ravel(), div.FEATURES):
        lo, hi = ok[feat].min(), ok[feat].max()
        grid = np.linspace(lo - 0.05 * (hi - lo + 1e-9), hi + 0.05 * (hi - lo + 1e-9), 200)
        for name, g in ok.groupby("dataset", sort=False):
            v = g[feat].to_numpy(float)
            if v.size >= 2 and np.ptp(v) > 0:
                ax.plot(grid, gaussian_kde(v)(grid), label=f"{name} (n={v.size})")
            elif v.size:
                ax.axvline(v[0], ls="--", label=f"{name} (n={v.size})")
        ax.set_title(feat)
        ax.set_ylabel("density")
    axes[0, 0].legend(fontsize=8)
    return save_figure(fig, path)


def parse_dataset_args(args: Sequence[str]) -> dict[str, list[str]]:
    """``NAME=FOLDER`` or ``FOLDER`` (named after the folder) -> {name: [folders]}."""
    out: dict[str, list[str]] = {}
    for a in args:
        name, sep, folder = a.partition("=")
        if not sep:
            folder, name = a, Path(a.rstrip("/")).name or a
        out.setdefault(name, []).append(folder)
    return out
