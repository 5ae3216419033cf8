"""Leaderboard and per-expression tables, computed from the results table only.

Every number comes from :mod:`facebench.metrics.ffe` / :mod:`facebench.metrics.fed` (formulas
and paper references are there); this module only selects rows and columns:

- rows: ``status == "ok"``, grouped by (``model``, ``judge``);
- **general metrics** (Acc-6, Acc-12, mSCR, ID Sim, HES) use the strongest edits: the rows at the
  largest alpha of the run (alpha = 1 on the general track);
- Acc-6: predicted class = argmax over the 6 basic expressions, edits toward a basic expression;
  Acc-12: argmax over all 12; mSCR: confusion of the argmax over the expressions the judge judges
  (all 12 for a VLM judge, the basic 6 for the offline judge), mean BCR over
  :data:`facebench.expressions.CONFUSING_PAIRS`;
- ID Sim: :func:`~facebench.metrics.ffe.id_sim_aggregate` over the ``id_sim_<recogniser>`` columns,
  labelled with the recognisers; HES: mean over edits of :func:`~facebench.metrics.ffe.hes`
  (target score, ID Sim);
- **linear metrics**: CLS-6 / CLS-12 = :func:`~facebench.metrics.ffe.cls` of alpha vs the judged
  target intensity, one series per task (``cls_mode`` "per_series" by default, or "pooled");
  ``nan`` when some expression of the subset has no edits (a mean over fewer would not be CLS-12);
- **FED** (fed track): :func:`~facebench.metrics.fed.fed_score` with the judge's scores of source,
  ground truth and edit; Fidelity from ID Sim only (no quality or background input).

A metric that needs expressions the judge does not judge is the string ``"not judged"``; one that
does not apply to the run (CLS without an alpha grid) is ``"n/a"``; one that is undefined on the
data (no samples) is ``nan``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..expressions import BASIC6, CONFUSING_PAIRS, EXPRESSIONS
from ..metrics import ffe
from ..metrics.fed import fed_score

NOT_JUDGED = "not judged"
NOT_APPLICABLE = "n/a"
#: Leaderboard metrics and their direction (True: higher is better).
METRICS: dict[str, bool] = {
    "Acc-6": True, "Acc-12": True, "mSCR": False, "ID Sim": True, "HES": True,
    "CLS-6": True, "CLS-12": True, "FED": True, "Alignment": True, "Fidelity": True, "REG": True,
}


def judged_expressions(df: pd.DataFrame) -> tuple[str, ...]:
    """The expressions with a score in every ok row of ``df`` (what the judge judged)."""
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return ()
    return tuple(e for e in EXPRESSIONS if ok["score_" + e].notna().all())


def recogniser_columns(df: pd.DataFrame) -> list[str]:
    """The ``id_sim_<recogniser>`` columns present."""
    return [c for c in df.columns if c.startswith("id_sim_")]


def _quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def strongest(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows at the largest alpha of ``df`` (the general-metric edits)."""
    ok = df[df["status"] == "ok"]
    return ok[ok["alpha"] == ok["alpha"].max()] if not ok.empty else ok


def predictions(df: pd.DataFrame, over: Sequence[str]) -> np.ndarray:
    """Predicted class per row = argmax of the scores over the expressions ``over``."""
    return ffe.predicted_class(df[["score_" + e for e in over]].to_numpy(), labels=list(over))


def confusion(df: pd.DataFrame, over: Sequence[str]) -> ffe.ConfusionMatrix:
    """Confusion matrix of the rows whose target is in ``over``, predictions = argmax over ``over``."""
    sub = df[df["expression"].isin(over)]
    pred = predictions(sub, over) if len(sub) else np.array([], dtype=object)
    return ffe.confusion_matrix(list(sub["expression"]), list(pred), labels=list(over))


def _id_sim(df: pd.DataFrame) -> float:
    cols = [c for c in recogniser_columns(df) if df[c].notna().any()]
    sub = df.dropna(subset=cols) if cols else df.iloc[0:0]
    if not cols or sub.empty:
        return float("nan")
    return ffe.id_sim_aggregate({c[len("id_sim_"):]: sub[c].to_numpy() for c in cols}).mean


def _hes(df: pd.DataFrame, judged: Sequence[str]) -> float:
    sub = df[df["expression"].isin(judged)].dropna(subset=["id_sim", "target_score"])
    if sub.empty:
        return float("nan")
    return float(np.mean(ffe.hes(sub["target_score"].to_numpy(), sub["id_sim"].to_numpy())))


def _cls(df: pd.DataFrame, subset: Sequence[str], mode: str) -> ffe.CLSResult | None:
    sub = df[df["expression"].isin(subset)].dropna(subset=["target_score"])
    nuniq = sub.groupby("task_id")["alpha"].transform("nunique") if not sub.empty else pd.Series(dtype=float)
    sub = sub[nuniq >= 2] if not sub.empty else sub
    if sub.empty:
        return None
    return _quiet(ffe.cls, sub["alpha"].to_numpy(), sub["target_score"].to_numpy(), list(sub["task_id"]),
                  mode, expressions=list(sub["expression"]), subset=list(subset))


@dataclass
class GroupScores:
    """All numbers of one (model, judge) group."""

    model: str
    judge: str
    metrics: dict[str, Any]
    per_expression: pd.DataFrame
    confusion: ffe.ConfusionMatrix | None
    notes: list[str] = field(default_factory=list)


def score_group(df: pd.DataFrame, *, cls_mode: str = "per_series", linear: bool | None = None,
                pairs: Sequence[tuple[str, str]] = CONFUSING_PAIRS) -> GroupScores:
    """Metrics of one (model, judge) slice of the results table (see the module docstring)."""
    model, judge = str(df["model"].iloc[0]), str(df["judge"].iloc[0])
    ok = df[df["status"] == "ok"]
    judged = judged_expressions(df)
    top = strongest(df)
    track = str(df["track"].iloc[0])
    is_linear = (ok["alpha"].nunique() >= 2) if linear is None else linear
    m: dict[str, Any] = {"track": track, "edits": int(df[["task_id", "alpha"]].drop_duplicates().shape[0]),
                         "ok": int(len(ok)), "failed": int((df["status"] != "ok").sum()),
                         "judged": f"{len(judged)} of 12"}
    notes: list[str] = []
    basic_ok = all(e in judged for e in BASIC6)
    all_ok = len(judged) == len(EXPRESSIONS)
    m["Acc-6"] = _quiet(ffe.accuracy, list(top["expression"]), list(predictions(top, BASIC6)), BASIC6) \
        if basic_ok and len(top) else (NOT_JUDGED if not basic_ok else float("nan"))
    m["Acc-12"] = _quiet(ffe.accuracy, list(top["expression"]), list(predictions(top, EXPRESSIONS))) \
        if all_ok and len(top) else (NOT_JUDGED if not all_ok else float("nan"))
    cm = None
    if judged and all(a in judged and b in judged for a, b in pairs):
        cm = confusion(top, judged)
        m["mSCR"] = _quiet(ffe.mscr, cm, pairs) if len(top) else float("nan")
    else:
        m["mSCR"] = NOT_JUDGED
    m["ID Sim"] = _id_sim(top)
    m["HES"] = _hes(top, judged) if judged else NOT_JUDGED
    if is_linear and track == "linear":
        c6 = _cls(ok, BASIC6, cls_mode) if basic_ok else None
        m["CLS-6"] = (c6.pearson if c6 else float("nan")) if basic_ok else NOT_JUDGED
        c12 = _cls(ok, EXPRESSIONS, cls_mode) if all_ok else None
        m["CLS-12"] = (c12.pearson if c12 else float("nan")) if all_ok else NOT_JUDGED
    else:
        m["CLS-6"] = m["CLS-12"] = NOT_APPLICABLE
    if track == "fed":
        m.update(_fed(ok, judged))
    else:
        m.update({"FED": NOT_APPLICABLE, "Alignment": NOT_APPLICABLE, "Fidelity": NOT_APPLICABLE, "REG": NOT_APPLICABLE})
    m["recognisers"] = str(df["recognisers"].iloc[0]) if "recognisers" in df else ""
    m["cls_mode"] = cls_mode
    edited = set(top["expression"])
    for name, subset in (("CLS-6", BASIC6), ("CLS-12", EXPRESSIONS),
                         ("mSCR", tuple(e for pair in pairs for e in pair))):
        v = m.get(name)
        gone = [e for e in subset if e not in edited]
        if isinstance(v, float) and np.isnan(v) and gone:
            notes.append(f"{name} ({model} / {judge}) is undefined: no successful edits toward {', '.join(gone)}")
    if not all_ok:
        missing = [e for e in EXPRESSIONS if e not in judged]
        notes.append(f"judge {judge} does not judge {', '.join(missing)}: metrics over them read '{NOT_JUDGED}'")
    per = per_expression_table(ok, judged, cls_mode=cls_mode, linear=is_linear and track == "linear")
    return GroupScores(model, judge, m, per, cm, notes)


def _fed(ok: pd.DataFrame, judged: Sequence[str]) -> dict[str, Any]:
    labels = (["neutral"] if ok["score_neutral"].notna().all() and "gt_neutral" in ok else []) + list(judged)
    sub = ok[ok["expression"].isin(judged)].dropna(subset=["id_sim"])
    gt_cols = ["gt_" + e for e in labels]
    if not judged:
        return {k: NOT_JUDGED for k in ("FED", "Alignment", "Fidelity", "REG")}
    if sub.empty or not all(c in sub for c in gt_cols):
        return {k: float("nan") for k in ("FED", "Alignment", "Fidelity", "REG")}
    sub = sub.dropna(subset=gt_cols)
    table = _quiet(fed_score, sub[["src_" + e for e in labels]].to_numpy(), sub[gt_cols].to_numpy(),
                   sub[["score_" + e for e in labels]].to_numpy(), list(sub["expression"]), labels,
                   id_sim=sub["id_sim"].to_numpy())
    return {"FED": float(np.nanmean(table["fed_score"])), "Alignment": float(np.nanmean(table["alignment"])),
            "Fidelity": float(np.nanmean(table["fidelity"])), "REG": float(np.nanmean(table["reg"]))}


def per_expression_table(ok: pd.DataFrame, judged: Sequence[str], *, cls_mode: str = "per_series",
                         linear: bool = True) -> pd.DataFrame:
    """One row per target expression: edits, accuracy and mean target score of the strongest
    edits, CLS (Pearson and Spearman, linear runs), ID Sim, HES; ``"not judged"`` where the judge
    does not judge the expression."""
    rows = []
    top = strongest(ok)
    over = list(judged)
    for e in EXPRESSIONS:
        sub_all = ok[ok["expression"] == e]
        if sub_all.empty:
            continue
        sub = top[top["expression"] == e]
        row: dict[str, Any] = {"expression": e, "edits": int(len(sub_all))}
        row["ID Sim"] = _id_sim(sub) if len(sub) else float("nan")
        if e not in judged:
            row.update({"accuracy": NOT_JUDGED, "target score": NOT_JUDGED, "HES": NOT_JUDGED,
                        "CLS": NOT_JUDGED if linear else NOT_APPLICABLE,
                        "CLS (Spearman)": NOT_JUDGED if linear else NOT_APPLICABLE})
        else:
            row["accuracy"] = _quiet(ffe.accuracy, list(sub["expression"]), list(predictions(sub, over))) \
                if len(sub) else float("nan")
            row["target score"] = float(sub["target_score"].mean()) if len(sub) else float("nan")
            row["HES"] = _hes(sub, judged)
            if linear:
                c = _cls(sub_all, [e], cls_mode)
                row["CLS"] = c.pearson if c else float("nan")
                row["CLS (Spearman)"] = c.spearman if c else float("nan")
            else:
                row["CLS"] = row["CLS (Spearman)"] = NOT_APPLICABLE
        rows.append(row)
    cols = ["expression", "edits", "accuracy", "target score", "CLS", "CLS (Spearman)", "ID Sim", "HES"]
    return pd.DataFrame(rows, columns=cols)


def curve_table(ok: pd.DataFrame) -> pd.DataFrame:
    """ID Sim vs expression score per alpha (the PixelSmile paper's Figure 4), per model and judge:
    mean target score and mean ID Sim over the judged edits at each alpha."""
    sub = ok[ok["status"] == "ok"].dropna(subset=["target_score"])
    if sub.empty:
        return pd.DataFrame(columns=["model", "judge", "alpha", "expression score", "ID Sim", "n"])
    g = sub.groupby(["model", "judge", "alpha"], sort=True)
    return g.agg(**{"expression score": ("target_score", "mean"), "ID Sim": ("id_sim", "mean"),
                    "n": ("target_score", "size")}).reset_index()


def leaderboard(results: pd.DataFrame, *, cls_mode: str = "per_series") -> tuple[pd.DataFrame, list[GroupScores]]:
    """One row per (model, judge) with every metric, plus the per-group details."""
    groups = []
    for (_, _), df in results.groupby(["model", "judge"], sort=True):
        groups.append(score_group(df, cls_mode=cls_mode))
    rows = [{"model": g.model, "judge": g.judge, **g.metrics} for g in groups]
    return pd.DataFrame(rows), groups
