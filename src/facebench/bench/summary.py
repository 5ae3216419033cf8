"""What a benchmark report shows, computed once (:class:`ReportData`), and the leaderboard as text.

:func:`compute_report` turns the results table into the leaderboard, per-expression tables, the
curve and judge agreement; :mod:`facebench.bench.report` writes them to files and
:mod:`facebench.bench.html` renders them as a page; :func:`print_board` and
:func:`failure_status` are what ``facebench bench run`` and ``facebench demo`` print and return.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..judges.agreement import judge_agreement
from .reference import load_reference
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


def print_board(data: ReportData, paths: dict[str, Path]) -> None:
    """Print the leaderboard, its notes, the failures (first 20 kinds) and where the files are."""
    print(markdown_table(data.board), end="")
    for n in data.notes:
        print(f"  note: {n}")
    fc = failure_counts(data.failures)
    if not fc.empty:
        print(f"\n{int(fc['count'].sum())} failure(s):")
        print(markdown_table(fc.head(20)), end="")
    if "report.html" in paths:
        print(f"\nreport: {paths['report.html'].resolve()}")
    print(f"leaderboard: {paths['leaderboard.md'].resolve()} (+ .csv, .json); results: {paths['results.parquet'].resolve()}")


def failure_status(data: ReportData, allow: bool, prog: str) -> int:
    """Exit status of a finished run: 1 when any edit, judgement or identity measurement failed
    (one line to stderr saying how many), unless ``allow``; else 0."""
    n = len(data.failures)
    if n and not allow:
        print(f"{prog}: {n} failure(s) (see failures.csv); exit status 1 (--allow-failures to accept)",
              file=sys.stderr)
        return 1
    return 0
