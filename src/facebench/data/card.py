"""The dataset card: what a build holds and why, as JSON, Markdown and an HTML page with plots.

Read from the dataset folder alone (``dataset.json``, ``sources.parquet``, ``samples.parquet`` and
the images), so ``facebench data card DATASET`` can rebuild it at any time. Sections:

- sources: kept / dropped per domain and the reasons (first failing rule per image);
- samples: kept per expression x domain x intensity bin (the combined judged score of the target,
  bins of 0.2) and per nominal intensity; dropped per filter rule, with the most common reasons;
- splits: identity groups, sources, samples and triplets per split;
- judges (and the expressions they do not judge), the identity band, the prompt library;
- score histograms (``plots/scores.png``) and the low-level diversity statistics of
  :mod:`facebench.metrics.diversity` (brightness, contrast, colourfulness, sharpness: mean, range,
  coverage uniformity U of F-Bench eq. 7) of the kept sources and kept edits (``plots/diversity.png``).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..bench.summary import markdown_table
from ..expressions import EXPRESSIONS
from ..base.imageio import load_image
from ..metrics.diversity import FEATURES, coverage_uniformity, features
from .export import atomic_write

BINS: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0000001)
BIN_LABELS: tuple[str, ...] = ("0.0-0.2", "0.2-0.4", "0.4-0.6", "0.6-0.8", "0.8-1.0")


def load_tables(dataset: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """``(dataset.json, sources, samples)`` of a built dataset; ``ValueError`` naming what is missing."""
    d = Path(dataset)
    need = [d / "dataset.json", d / "sources.parquet"]
    missing = [p.name for p in need if not p.is_file()]
    if missing:
        raise ValueError(f"{d}: not a facebench dataset (missing {', '.join(missing)}); build one with "
                         "`facebench data build CONFIG`")
    meta = json.loads((d / "dataset.json").read_text())
    sources = pd.read_parquet(d / "sources.parquet")
    samples = pd.read_parquet(d / "samples.parquet") if (d / "samples.parquet").is_file() else pd.DataFrame()
    return meta, sources, samples


def _first(reason: Any) -> str:
    """The kind of a collect reason: its first rule without numbers or ids ("head yaw", "near-duplicate")."""
    head = str(reason or "").split(";")[0].strip()
    return re.split(r":| \(| of |\s[-+]?\d", head)[0].strip() if head else ""


def _pattern(reason: Any) -> str:
    """A filter reason with its numbers replaced by ``#`` (so equal reasons count together)."""
    return re.sub(r"[-+]?\d+\.\d+", "#", str(reason or "").split(";")[0].strip())


def counts(meta: dict[str, Any], sources: pd.DataFrame, samples: pd.DataFrame) -> dict[str, Any]:
    """Every number of the card as a JSON-ready dict."""
    out: dict[str, Any] = {"name": meta.get("name"), "facebench": meta.get("facebench"),
                           "prompt_library": meta.get("prompt_library"), "judges": meta.get("judges"),
                           "editor": meta.get("editor"), "identity_band": meta.get("identity_band"),
                           "warnings": meta.get("warnings", []), "anime_detector": meta.get("anime_detector")}
    src = sources
    out["sources"] = {
        "files": int(len(src)), "kept": int((src["status"] == "kept").sum()),
        "kept_by_domain": {k: int(v) for k, v in src[src["status"] == "kept"]["domain"].value_counts().sort_index().items()},
        "dropped_by_reason": {k: int(v) for k, v in src[src["status"] != "kept"]["reason"].map(_first)
                              .value_counts().sort_index().items()},
    }
    if samples.empty:
        out["samples"] = {"generated": 0, "kept": 0}
        return out
    s = samples.copy()
    s["target_score"] = [float(r["score_" + r["expression"]]) for r in s.to_dict(orient="records")]
    kept = s[s["keep"]]
    binned = pd.cut(kept["target_score"], BINS, labels=BIN_LABELS, right=False)
    table = kept.assign(bin=binned).groupby(["expression", "domain", "bin"], observed=True).size()
    out["samples"] = {
        "generated": int(len(s)), "ok": int((s["status"] == "ok").sum()), "kept": int(len(kept)),
        "kept_by_expression_domain_bin": [{"expression": e, "domain": d, "bin": str(b), "count": int(n)}
                                          for (e, d, b), n in table.items()],
        "kept_by_expression_alpha": [{"expression": e, "alpha": float(a), "count": int(n)} for (e, a), n in
                                     kept.groupby(["expression", "alpha"]).size().items()],
        "dropped_by_rule": {k: int(v) for k, v in s[~s["keep"]]["rule"].value_counts().sort_index().items()},
        "top_drop_reasons": [{"reason": k, "count": int(v)} for k, v in
                             s[~s["keep"]]["drop_reason"].map(_pattern).value_counts().head(15).items()],
        "not_judged": sorted({e for t in s["not_judged"] for e in str(t).split(",") if e}),
    }
    splits: dict[str, Any] = {}
    ks = src[src["status"] == "kept"]
    for split in ("train", "test"):
        part = ks[ks["split"] == split]
        ids = set(part["source_id"])
        splits[split] = {"groups": int(part["group"].nunique()), "sources": int(len(part)),
                         "kept_samples": int(kept["source_id"].isin(ids).sum()),
                         "triplets": int(meta.get("triplets", {}).get(split, 0))}
    out["splits"] = splits
    return out


def diversity(dataset: Path, sources: pd.DataFrame, samples: pd.DataFrame) -> pd.DataFrame:
    """Diversity features of the kept sources and kept edits, one row per image."""
    rows = []
    for r in sources[sources["status"] == "kept"].itertuples(index=False):
        rows.append({"set": "sources", "image": r.image, **features(load_image(dataset / r.image))})
    if not samples.empty:
        for r in samples[samples["keep"]].itertuples(index=False):
            rows.append({"set": "kept edits", "image": r.image, **features(load_image(dataset / r.image))})
    return pd.DataFrame(rows, columns=["set", "image", *FEATURES])


def diversity_summary(feat: pd.DataFrame) -> pd.DataFrame:
    """Mean, min, max and coverage uniformity U (10 bins over the union range) per set and feature."""
    rows = []
    for f in FEATURES:
        if feat.empty:
            break
        lo, hi = float(feat[f].min()), float(feat[f].max())
        for name, g in feat.groupby("set", sort=False):
            rows.append({"set": name, "feature": f, "n": len(g), "mean": g[f].mean(), "min": g[f].min(),
                         "max": g[f].max(), "U": coverage_uniformity(g[f], bins=10, range=(lo, hi))})
    return pd.DataFrame(rows, columns=["set", "feature", "n", "mean", "min", "max", "U"])


def _plots(dataset: Path, samples: pd.DataFrame, feat: pd.DataFrame) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out: dict[str, str] = {}
    (dataset / "plots").mkdir(exist_ok=True)
    if not samples.empty:
        ok = samples[samples["status"] == "ok"]
        exprs = [e for e in EXPRESSIONS if e in set(ok["expression"])]
        if exprs:
            cols = min(4, len(exprs))
            rows_n = int(np.ceil(len(exprs) / cols))
            fig, axes = plt.subplots(rows_n, cols, figsize=(3.2 * cols, 2.6 * rows_n), squeeze=False)
            for ax in axes.ravel()[len(exprs):]:
                ax.axis("off")
            for ax, e in zip(axes.ravel(), exprs):
                g = ok[ok["expression"] == e]
                vals = g["score_" + e].astype(float)
                for keep, colour, lab in ((True, "#2b7a2b", "kept"), (False, "#b3261e", "dropped")):
                    v = vals[g["keep"] == keep].dropna()
                    if len(v):
                        ax.hist(v, bins=np.linspace(0, 1, 11), color=colour, alpha=0.6, label=lab)
                if not vals.notna().any():
                    ax.text(0.5, 0.5, "not judged", ha="center", va="center", transform=ax.transAxes)
                ax.set_title(f"{e} (target score)", fontsize=9)
                ax.set_xlim(0, 1)
                ax.tick_params(labelsize=7)
            axes.ravel()[0].legend(fontsize=7)
            fig.tight_layout()
            fig.savefig(dataset / "plots" / "scores.png", dpi=90)
            plt.close(fig)
            out["scores"] = "plots/scores.png"
    if not feat.empty:
        fig, axes = plt.subplots(1, len(FEATURES), figsize=(3.2 * len(FEATURES), 2.6))
        for ax, f in zip(axes, FEATURES):
            for name, g in feat.groupby("set", sort=False):
                ax.hist(g[f], bins=10, alpha=0.55, label=name)
            ax.set_title(f, fontsize=9)
            ax.tick_params(labelsize=7)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(dataset / "plots" / "diversity.png", dpi=90)
        plt.close(fig)
        out["diversity"] = "plots/diversity.png"
    return out


def _frame(items: Any, cols: list[str]) -> pd.DataFrame:
    if isinstance(items, dict):
        items = [{cols[0]: k, cols[1]: v} for k, v in items.items()]
    return pd.DataFrame(items or [], columns=cols)


def _sections(c: dict[str, Any], div: pd.DataFrame) -> list[tuple[str, pd.DataFrame | str]]:
    smp = c["samples"]
    sec: list[tuple[str, pd.DataFrame | str]] = [
        ("Sources kept per domain", _frame(c["sources"]["kept_by_domain"], ["domain", "count"])),
        ("Sources dropped, by reason", _frame(c["sources"]["dropped_by_reason"], ["reason", "count"])),
    ]
    if smp.get("generated"):
        tab = _frame(smp["kept_by_expression_domain_bin"], ["expression", "domain", "bin", "count"])
        if not tab.empty:
            tab = tab.pivot_table(index=["expression", "domain"], columns="bin", values="count", fill_value=0,
                                  aggfunc="sum").reset_index()
        sec += [
            ("Kept samples per expression, domain and judged-intensity bin", tab),
            ("Kept samples per expression and nominal intensity", _frame(smp["kept_by_expression_alpha"],
                                                                          ["expression", "alpha", "count"])),
            ("Samples dropped, by filter rule", _frame(smp["dropped_by_rule"], ["rule", "count"])),
            ("Most common drop reasons", _frame(smp["top_drop_reasons"], ["reason", "count"])),
            ("Splits (by identity group)", pd.DataFrame([{"split": k, **v} for k, v in c.get("splits", {}).items()])),
        ]
    sec.append(("Diversity of kept sources and edits (F-Bench low-level features)", div))
    return sec


def _num(v: Any) -> str:
    return "n/a" if v is None else f"{float(v):.3f}"


def _about(c: dict[str, Any]) -> list[str]:
    band = c.get("identity_band") or {}
    judges = c.get("judges") or []
    lines = [
        f"facebench {c.get('facebench')}; prompt library {c.get('prompt_library', {}).get('version')}",
        "editor: " + (f"{c['editor'].get('name')} {c['editor'].get('options') or ''}".strip() if c.get("editor") else "?"),
        "judges: " + "; ".join(f"{j.get('label')} ({j.get('id')}; judges {len(j.get('judged', []))} of 12)" for j in judges),
        f"generated {c['samples'].get('generated', 0)} samples, kept {c['samples'].get('kept', 0)}; "
        f"sources: {c['sources']['kept']} of {c['sources']['files']} files kept",
    ]
    if c["samples"].get("not_judged"):
        lines.append("not judged by any configured judge (scores left empty, never guessed): "
                     + ", ".join(c["samples"]["not_judged"]))
    if band and band.get("scale") == "calibrated":
        lines.append(f"identity band ({band.get('recogniser')}, {band.get('source')}): calibrated identity "
                     f"score [{band.get('low'):.3f}, {band.get('high'):.3f}] (below 0.5: identity lost; raw "
                     f"cosine beside it in samples.parquet); this collection: copies of a photo >= "
                     f"{_num(band.get('min_same'))} "
                     f"({band.get('n_same')} pairs), different sources <= {_num(band.get('max_different'))} "
                     f"({band.get('n_different')} pairs)")
    elif band:
        lines.append(f"identity band ({band.get('recogniser')}, {band.get('source')}): raw cosine "
                     f"[{band.get('low'):.3f}, {band.get('high'):.3f}] from {band.get('n_same')} same / "
                     f"{band.get('n_different')} different pairs")
    if c.get("anime_detector"):
        lines.append(f"anime detector: {c['anime_detector']}")
    lines += [f"warning: {w}" for w in c.get("warnings", [])]
    return lines


def write_card(dataset: str | Path) -> dict[str, Path]:
    """Compute the card of a built dataset and write ``card.json``, ``card.md``, ``card.html`` and plots."""
    d = Path(dataset)
    meta, sources, samples = load_tables(d)
    c = counts(meta, sources, samples)
    feat = diversity(d, sources, samples)
    div = diversity_summary(feat)
    c["diversity"] = json.loads(div.to_json(orient="records"))
    plots = _plots(d, samples, feat)
    c["plots"] = plots
    paths = {"card.json": atomic_write(d / "card.json", json.dumps(c, indent=1, sort_keys=True, default=str))}
    md = [f"# Dataset card: {c['name']}\n"] + [f"- {line}" for line in _about(c)] + [""]
    for title, tab in _sections(c, div):
        md += [f"## {title}\n", markdown_table(tab) if isinstance(tab, pd.DataFrame) else str(tab), ""]
    for name, rel in plots.items():
        md.append(f"![{name}]({rel})\n")
    paths["card.md"] = atomic_write(d / "card.md", "\n".join(md))
    body = [f"<h1>Dataset card: {html.escape(str(c['name']))}</h1><ul>"]
    body += [f"<li>{html.escape(line)}</li>" for line in _about(c)] + ["</ul>"]
    for title, tab in _sections(c, div):
        body.append(f"<h2>{html.escape(title)}</h2>")
        body.append(tab.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0)
                    if isinstance(tab, pd.DataFrame) and not tab.empty else "<p>(nothing)</p>")
    for name, rel in plots.items():
        body.append(f"<h2>{html.escape(name)}</h2><img src='{rel}' style='max-width:100%'>")
    page = ("<!doctype html><html><head><meta charset='utf-8'><title>Dataset card</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:20px}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}</style></head><body>"
            + "\n".join(body) + "</body></html>")
    paths["card.html"] = atomic_write(d / "card.html", page)
    return paths
