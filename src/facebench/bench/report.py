"""Write a benchmark's outputs: results table, leaderboard (Markdown, CSV, JSON with the same
numbers), per-expression tables, curves, judge agreement, failures and the HTML page.

Files written to the output folder:

=======================  ==========================================================================
``results.parquet/csv``  the results table (:mod:`facebench.bench.results`), one row per edit x judge
``leaderboard.md/csv/json``  one row per (model, judge): every metric, ``not judged``/``n/a`` spelled out
``per_expression.csv``   per (model, judge, expression) numbers
``curve.csv``            ID Sim vs expression score per alpha (PixelSmile Figure 4)
``agreement.csv``        judge agreement per expression (only when several judges ran)
``failures.csv``         every failure with its stage and reason
``run.json``             what was run (config) and what each stage did (stats)
``report.html``          one self-contained page (images inlined)
=======================  ==========================================================================
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from .html import render_html
from .reference import REFERENCE_IDENTITY, REFERENCE_JUDGE, REFERENCE_SOURCE
from .results import failure_counts
from .summary import ReportData, markdown_table

def _json_value(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def leaderboard_markdown(data: ReportData) -> str:
    """The leaderboard as Markdown, with the published reference numbers beside it."""
    parts = ["# facebench leaderboard\n", markdown_table(data.board)]
    parts.append("\n" + "\n".join(f"- {n}" for n in data.notes) + "\n")
    if data.reference is not None:
        parts.append(f"\n## Published reference ({REFERENCE_SOURCE}; judge: {REFERENCE_JUDGE}; "
                     f"ID Sim: {REFERENCE_IDENTITY})\n\n")
        parts.append(markdown_table(_reference_view(data.reference)))
    return "".join(parts)


def _reference_view(ref: pd.DataFrame) -> pd.DataFrame:
    cols = ["track", "method", "judge", "Acc-6", "Acc-12", "mSCR", "ID Sim", "HES", "CLS-6", "CLS-12"]
    out = ref[[c for c in cols if c in ref]].copy()
    return out.astype(object).where(out.notna(), "-")


def write_report(out: str | Path, data: ReportData, *, store: Any = None, html: bool = True) -> dict[str, Path]:
    """Write every output file to ``out`` (see the module docstring); returns name -> path."""
    o = Path(out)
    o.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    res = data.results
    paths["results.parquet"] = o / "results.parquet"
    res.to_parquet(paths["results.parquet"], index=False)
    paths["results.csv"] = o / "results.csv"
    res.to_csv(paths["results.csv"], index=False)
    paths["failures.csv"] = o / "failures.csv"
    data.failures.to_csv(paths["failures.csv"], index=False)
    paths["leaderboard.csv"] = o / "leaderboard.csv"
    data.board.to_csv(paths["leaderboard.csv"], index=False)
    paths["leaderboard.md"] = o / "leaderboard.md"
    paths["leaderboard.md"].write_text(leaderboard_markdown(data), encoding="utf-8")
    board_json = {
        "facebench": __version__, "columns": list(data.board.columns),
        "rows": [{k: _json_value(v) for k, v in r.items()} for r in data.board.to_dict(orient="records")],
        "notes": data.notes,
        "failures": [{k: _json_value(v) for k, v in r.items()} for r in failure_counts(data.failures).to_dict(orient="records")],
        "reference": None if data.reference is None else {
            "source": REFERENCE_SOURCE, "judge": REFERENCE_JUDGE, "identity": REFERENCE_IDENTITY,
            "rows": [{k: _json_value(v) for k, v in r.items()} for r in data.reference.to_dict(orient="records")]},
    }
    paths["leaderboard.json"] = o / "leaderboard.json"
    paths["leaderboard.json"].write_text(json.dumps(board_json, indent=2), encoding="utf-8")
    per = [g.per_expression.assign(model=g.model, judge=g.judge) for g in data.groups]
    paths["per_expression.csv"] = o / "per_expression.csv"
    (pd.concat(per, ignore_index=True) if per else pd.DataFrame()).to_csv(paths["per_expression.csv"], index=False)
    paths["curve.csv"] = o / "curve.csv"
    data.curve.to_csv(paths["curve.csv"], index=False)
    if not data.agreement.empty:
        paths["agreement.csv"] = o / "agreement.csv"
        data.agreement.to_csv(paths["agreement.csv"], index=False)
    run = {"config": data.config, "stats": [] if data.stats is None else
           [{k: _json_value(v) for k, v in r.items()} for r in data.stats.to_dict(orient="records")],
           "cache": None if store is None else store.sizes()}
    paths["run.json"] = o / "run.json"
    paths["run.json"].write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    if html:
        paths["report.html"] = o / "report.html"
        paths["report.html"].write_text(render_html(data, store=store), encoding="utf-8")
    return paths


def load_run(out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], pd.DataFrame | None]:
    """Read back ``results``, ``failures``, ``config`` and ``stats`` written by :func:`write_report`."""
    o = Path(out)
    if not (o / "results.parquet").is_file():
        raise ValueError(f"{o}: no results.parquet (run `facebench bench run` first)")
    res = pd.read_parquet(o / "results.parquet")
    fails = pd.read_csv(o / "failures.csv") if (o / "failures.csv").is_file() else pd.DataFrame()
    run = json.loads((o / "run.json").read_text()) if (o / "run.json").is_file() else {}
    stats = pd.DataFrame(run.get("stats", [])) if run.get("stats") else None
    return res, fails, run.get("config", {}), stats
