"""Figures of a benchmark report, rendered with matplotlib (Agg) to inline ``data:`` URLs.

- :func:`confusion_figure`: target vs predicted class rates (FFE-Bench eq. 1, C(i -> j));
- :func:`tradeoff_figure`: ID Sim vs expression score through the alpha grid (PixelSmile Figure 4);
- :func:`intensity_figure`: judged target intensity vs alpha per expression (what CLS measures);
- :func:`strip_figure`: slider strips of sample edits (source, then each alpha).
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import numpy as np
import pandas as pd

from ..expressions import EXPRESSIONS


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def data_url(fig, fmt: str = "png", dpi: int = 96) -> str:
    """Encode a matplotlib figure as a base64 ``data:`` URL and close it."""
    plt = _plt()
    buf = io.BytesIO()
    kw = {"pil_kwargs": {"quality": 85}} if fmt == "jpeg" else {}
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", **kw)
    plt.close(fig)
    mime = "image/jpeg" if fmt == "jpeg" else "image/png"
    return f"data:{mime};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def confusion_figure(rates: np.ndarray, labels: Sequence[str], title: str) -> str:
    """Heatmap of the row-normalised confusion matrix (rows: target, columns: predicted)."""
    plt = _plt()
    k = len(labels)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k))
    shown = np.nan_to_num(rates, nan=0.0)
    im = ax.imshow(shown, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), labels, rotation=45, ha="right")
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted (judge's argmax)")
    ax.set_ylabel("edited toward")
    for i in range(k):
        for j in range(k):
            v = rates[i, j]
            txt = "-" if np.isnan(v) else f"{v:.2f}"
            ax.text(j, i, txt, ha="center", va="center", fontsize=8, color="white" if shown[i, j] > 0.55 else "black")
    ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return data_url(fig)


def tradeoff_figure(curve: pd.DataFrame) -> str | None:
    """ID Sim (y) vs mean judged target score (x), one line per (model, judge) through the alphas."""
    data = curve.dropna(subset=["ID Sim", "expression score"])
    if data.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for (model, judge), g in data.groupby(["model", "judge"], sort=True):
        g = g.sort_values("alpha")
        ax.plot(g["expression score"], g["ID Sim"], marker="o", label=f"{model} / {judge}")
        for _, r in g.iterrows():
            ax.annotate(f"{r['alpha']:g}", (r["expression score"], r["ID Sim"]), textcoords="offset points",
                        xytext=(4, 4), fontsize=7)
    ax.set_xlabel("mean judged intensity of the target expression")
    ax.set_ylabel("mean calibrated ID Sim to the source")
    ax.set_title("Identity vs expression through the alpha grid (labels: alpha)", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return data_url(fig)


def intensity_figure(ok: pd.DataFrame, judged: dict[str, Sequence[str]]) -> str | None:
    """Small multiples: mean judged target intensity vs alpha per expression, one line per
    (model, judge); a panel says "not judged" where no judge of the run scores the expression."""
    data = ok.dropna(subset=["target_score"])
    if data.empty or data["alpha"].nunique() < 2:
        return None
    plt = _plt()
    exprs = [e for e in EXPRESSIONS if e in set(ok["expression"])]
    ncol = 4
    nrow = int(np.ceil(len(exprs) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.6 * ncol, 2.1 * nrow), squeeze=False, sharex=True, sharey=True)
    for ax, e in zip(axes.ravel(), exprs):
        sub = data[data["expression"] == e]
        if sub.empty or not any(e in js for js in judged.values()):
            ax.text(0.5, 0.5, "not judged", ha="center", va="center", transform=ax.transAxes, color="gray")
        for (model, judge), g in sub.groupby(["model", "judge"], sort=True):
            m = g.groupby("alpha")["target_score"].mean()
            ax.plot(m.index, m.to_numpy(), marker=".", label=f"{model} / {judge}")
        ax.set_title(e, fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(exprs):]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    for ax in axes.ravel():
        h, lab = ax.get_legend_handles_labels()
        if len(h) > len(handles):
            handles, labels = h, lab
    fig.supxlabel("alpha", fontsize=9)
    fig.supylabel("judged target intensity", fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
    if handles:
        fig.legend(handles, labels, loc="upper center", ncol=min(3, len(handles)), fontsize=8,
                   bbox_to_anchor=(0.5, 1.0), frameon=False)
    return data_url(fig)


def face_crop_box(source: np.ndarray, edited: np.ndarray, pad: float = 0.35) -> tuple[int, int, int, int]:
    """A square around the pixels an edit changed (padded), or the whole image when the edit
    changed most of it (regenerating editors) or nothing."""
    h, w = source.shape[:2]
    diff = np.abs(source.astype(np.int16) - edited.astype(np.int16)).max(axis=2) > 12
    if diff.sum() < 20 or diff.mean() > 0.5:
        return 0, 0, w, h
    ys, xs = np.nonzero(diff)
    y0, y1 = np.percentile(ys, [1, 99])
    x0, x1 = np.percentile(xs, [1, 99])
    side = max(x1 - x0, y1 - y0) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = min(side, w, h)
    a = int(np.clip(cx - side / 2, 0, w - side))
    b = int(np.clip(cy - side / 2, 0, h - side))
    return a, b, int(a + side), int(b + side)


def square_around(box: Sequence[float], shape: tuple[int, ...], scale: float = 1.5) -> tuple[int, int, int, int]:
    """A square of side ``scale`` x the box's larger side, centred on the box, inside the image."""
    h, w = shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    side = min(max(x1 - x0, y1 - y0) * scale, w, h)
    a = int(np.clip((x0 + x1) / 2 - side / 2, 0, w - side))
    b = int(np.clip((y0 + y1) / 2 - side / 2, 0, h - side))
    return a, b, int(a + side), int(b + side)


def strip_figure(rows: list[tuple[str, np.ndarray, list[tuple[float, np.ndarray]]]],
                 boxes: Sequence[tuple[int, int, int, int] | None] | None = None) -> str:
    """A grid of slider strips: one row per (label, source, [(alpha, edit), ...]), source first,
    cropped to ``boxes[i]`` (e.g. around the detected face) or else to the pixels the edit changed."""
    plt = _plt()
    ncol = 1 + max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.9 * ncol, 2.0 * len(rows)), squeeze=False)
    for i, (label, src, edits) in enumerate(rows):
        box = boxes[i] if boxes is not None and boxes[i] is not None else (
            face_crop_box(src, edits[-1][1]) if edits else (0, 0, src.shape[1], src.shape[0]))
        x0, y0, x1, y1 = box
        panels = [("source", src)] + [(f"α={a:g}", im) for a, im in edits]
        for j in range(ncol):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if j < len(panels):
                name, im = panels[j]
                ax.imshow(im[y0:y1, x0:x1])
                ax.set_title(name, fontsize=7, pad=2)
        axes[i, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    fig.tight_layout()
    return data_url(fig, fmt="jpeg", dpi=90)
