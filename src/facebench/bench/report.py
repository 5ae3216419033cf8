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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..judges.agreement import judge_agreement
from .reference import REFERENCE_IDENTITY, REFERENCE_JUDGE, REFERENCE_SOURCE, load_reference
from .results import failure_counts
from .scoring import (METRICS, NOT_APPLICABLE, GroupScores, curve_table, leaderboard, recogniser_columns,
                      resolve_calibrations)

#: Columns of the leaderboard files, in order (metrics that do not apply to any row are dropped).
BOARD_COLUMNS = ["model", "judge", "track", "Acc-6", "Acc-12", "mSCR", "ID Sim", "ID Sim (raw)", "HES", "CLS-6",
                 "CLS-12", "FED", "Alignment", "Fidelity", "Fidelity (raw)", "REG", "n", "n failed", "edits", "ok", "failed", "judged",
                 "recognisers"]


@dataclass
class ReportData:
    """Everything a report shows, computed once from the results table."""

    results: pd.DataFrame
    failures: pd.DataFrame
    board: pd.DataFrame
    groups: list[GroupScores]
    curve: pd.DataFrame
    agreement: pd.DataFrame
    reference: pd.DataFrame | None
    config: dict[str, Any] = field(default_factory=dict)
    stats: pd.DataFrame | None = None
    calibrations: dict[str, Any] = field(default_factory=dict)

    @property
    def notes(self) -> list[str]:
        """Notes that explain the numbers (not judged, recognisers, CLS mode, provisional FED)."""
        out: list[str] = []
        for g in self.groups:
            out.extend(n for n in g.notes if n not in out)
        recs = sorted({str(r) for r in self.results.get("recognisers", pd.Series(dtype=str)).unique() if r})
        if recs:
            out.append(f"ID Sim: calibrated identity score of source vs edit ({', '.join(recs)}; "
                       "facebench.face.calibration), on which the paper's bands read: 0.6-0.7 natural, > 0.8 "
                       "copy-paste, < 0.5 identity lost. ID Sim (raw) is the raw cosine mean; HES uses the "
                       "calibrated score. ID Sim and HES are averaged over the same edits.")
            for lab in recs:
                for part in lab.split("+"):
                    cal = self.calibrations.get(part)
                    if cal is not None:
                        line = "ID Sim calibration " + cal.describe()
                        if line not in out:
                            out.append(line)
        out.append("Failed edits (no face, any failed stage) stay in every general-metric denominator: a miss "
                   "for Acc, confused for mSCR, identity 0, HES 0 (columns n, n failed). Acc-6 and mSCR use the "
                   "argmax over the six basic expressions for every judge; tied top scores split the edit evenly.")
        modes = sorted({str(g.metrics.get("cls_mode")) for g in self.groups})
        if any(isinstance(g.metrics.get("CLS-6"), float) for g in self.groups):
            out.append(f"CLS: Pearson r of alpha vs the judged target intensity, mode {', '.join(modes)} "
                       "(per_series = per source image and expression, then averaged).")
        if any(isinstance(g.metrics.get("FED"), float) for g in self.groups):
            out.append("FED-Score is facebench's provisional reconstruction (FED-Bench publishes no formulas); "
                       "Fidelity uses the calibrated ID Sim only (Fidelity (raw): the raw cosine).")
        out.append("General metrics (Acc, mSCR, ID Sim, HES) use the edits at the largest alpha of the run.")
        return out


def compute_report(results: pd.DataFrame, failures: pd.DataFrame, *, config: dict[str, Any] | None = None,
                   stats: pd.DataFrame | None = None, cls_mode: str = "per_series",
                   reference: bool = True, calibrations: dict[str, Any] | None = None) -> ReportData:
    """Compute the leaderboard, per-expression tables, curve and agreement from ``results``.

    ``calibrations``: recogniser label -> identity calibration; default: the files named in
    ``config["id_calibrations"]`` (label -> path), then the ones shipped in the package.
    """
    cals = dict(calibrations or {})
    if calibrations is None:
        from ..face.calibration import load_calibration

        for lab, path in (config or {}).get("id_calibrations", {}).items():
            cals[lab] = load_calibration(lab.split(":")[0], path)
    labels = [c[len("id_sim_"):] for c in recogniser_columns(results)] if not results.empty else []
    cals = resolve_calibrations(labels, cals)
    board, groups = leaderboard(results, cls_mode=cls_mode, calibrations=cals) if not results.empty \
        else (pd.DataFrame(), [])
    if not board.empty:
        used = [c for c in BOARD_COLUMNS if c in board and not (c in METRICS and (board[c] == NOT_APPLICABLE).all())]
        board = board[used]
    ok = results[results["status"] == "ok"] if not results.empty else results
    curve = curve_table(ok, cals) if not ok.empty else pd.DataFrame()
    agree = judge_agreement(results) if not results.empty and results["judge"].nunique() > 1 else pd.DataFrame()
    ref = load_reference() if reference else None
    return ReportData(results, failures, board, groups, curve, agree, ref, dict(config or {}), stats, cals)


def fmt(v: Any, digits: int = 4) -> str:
    """A cell as text: numbers with ``digits`` decimals, nan as ``-``, strings as they are."""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int,)) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.{digits}f}"
    return "" if v is None else str(v)


def markdown_table(df: pd.DataFrame, digits: int = 4) -> str:
    """A GitHub Markdown table of ``df`` (numbers with ``digits`` decimals)."""
    if df.empty:
        return "_(empty)_\n"
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(fmt(v, digits).replace("|", "/") for v in row) + " |")
    return "\n".join(lines) + "\n"


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
           [{k: _json_value(v) for k, v in r.items()} for r in data.stats.to_dict(orient="records")]}
    paths["run.json"] = o / "run.json"
    paths["run.json"].write_text(json.dumps(run, indent=2, default=str), encoding="utf-8")
    if html:
        from .html import render_html

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
