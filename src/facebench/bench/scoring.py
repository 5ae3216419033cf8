"""Leaderboard and per-expression tables, computed from the results table only.

Every number comes from :mod:`facebench.metrics.ffe` / :mod:`facebench.metrics.fed` (formulas
and paper references are there); this module only selects rows and columns:

- groups: (``model``, ``judge``);
- **general metrics** (Acc-6, Acc-12, mSCR, ID Sim, HES) use the *general edits*: every planned
  edit at the largest alpha of the run (alpha = 1 on the general track), **whatever its status**.
  A failed edit (source, edit, judge or identity stage; e.g. an edit with no face left to judge)
  stays in every denominator: a miss for Acc, confused with its pair partner for mSCR
  (:func:`~facebench.metrics.ffe.directed_confusion`), identity 0 and HES 0. The leaderboard says
  how many (``n``, ``n failed``), so a failing editor can never score higher by failing;
- one class set for every judge: Acc-6 and mSCR take the argmax over the six basic expressions
  (:data:`MSCR_CLASSES`) for edits toward them, whatever else the judge judges; Acc-12 the argmax
  over all 12 (judges that judge all 12 only);
- ties: an image whose top score is shared by k labels counts 1/k toward each
  (:func:`~facebench.metrics.ffe.prediction_weights`), so no label wins ties by its position;
- ID Sim: per edit, the calibrated identity score (:mod:`facebench.face.calibration`: the paper's
  bands 0.6-0.7 natural, > 0.8 copy-paste, < 0.5 identity lost read on it) of each recogniser's
  raw cosine, averaged over recognisers; ``ID Sim (raw)`` is the raw cosine beside it. A
  recogniser without a calibration makes ID Sim and HES ``"not calibrated"`` (raw still shown).
  ID Sim and HES are averaged over the same edits: the general edits toward expressions the judge
  judges (all general edits when it judges none); HES = mean over them of
  :func:`~facebench.metrics.ffe.hes` (target score, calibrated ID Sim);
- **linear metrics**: CLS-6 / CLS-12 = :func:`~facebench.metrics.ffe.cls` of alpha vs the judged
  target intensity, one series per task (``cls_mode`` "per_series" by default, or "pooled"), over
  the edits that were judged (a series needs two judged alphas); ``nan`` when some expression of
  the subset has no edits (a mean over fewer would not be CLS-12);
- **FED** (fed track): :func:`~facebench.metrics.fed.fed_score` with the judge's scores of source,
  ground truth and edit; Fidelity from the calibrated ID Sim only (no quality or background input;
  a stranger reads about 0, "identity lost" below 0.5), ``Fidelity (raw)`` from the raw cosine beside
  it; without a calibration for every recogniser, FED and Fidelity read ``"not calibrated"``.

A metric that needs expressions the judge does not judge is the string ``"not judged"``; one that
does not apply to the run (CLS without an alpha grid, ID Sim without recognisers) is ``"n/a"``;
one that is undefined on the data (no samples) is ``nan``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..expressions import BASIC6, CONFUSING_PAIRS, EXPRESSIONS
from ..metrics import ffe
from ..metrics.catalog import higher_is_better
from ..metrics.fed import fed_score

NOT_JUDGED = "not judged"
NOT_APPLICABLE = "n/a"
NOT_CALIBRATED = "not calibrated"
#: The class set of Acc-6 and mSCR for every judge (the confusing pairs lie inside it).
MSCR_CLASSES: tuple[str, ...] = BASIC6
#: Leaderboard column -> the metric of :data:`facebench.metrics.catalog.METRICS` it reports.
BOARD_METRIC: dict[str, str] = {
    "Acc-6": "accuracy", "Acc-12": "accuracy", "mSCR": "mscr", "ID Sim": "id_sim", "ID Sim (raw)": "id_sim",
    "HES": "hes", "CLS-6": "cls", "CLS-12": "cls", "FED": "fed_score", "Alignment": "fed_alignment",
    "Fidelity": "fed_fidelity", "Fidelity (raw)": "fed_fidelity", "REG": "fed_gain",
}
#: Leaderboard metrics and their direction (True: higher is better), as the metric catalog says.
METRICS: dict[str, bool] = {col: bool(higher_is_better(m)) for col, m in BOARD_METRIC.items()}


def judged_expressions(df: pd.DataFrame) -> tuple[str, ...]:
    """The expressions the judge judged: a score in every judged image of ``df`` (the edits of ok
    rows and every source it scored), so a run whose edits all failed still knows its judge."""
    ok = df[df["status"] == "ok"]
    parts = [ok[["score_" + e for e in EXPRESSIONS]].to_numpy(np.float64)]
    if all("src_" + e in df for e in EXPRESSIONS):
        src = df[["src_" + e for e in EXPRESSIONS]].to_numpy(np.float64)
        parts.append(src[~np.isnan(src).all(axis=1)])
    arr = np.vstack(parts)
    if not len(arr):
        return ()
    return tuple(e for k, e in enumerate(EXPRESSIONS) if not np.isnan(arr[:, k]).any())


def recogniser_columns(df: pd.DataFrame) -> list[str]:
    """The ``id_sim_<recogniser>`` columns present."""
    return [c for c in df.columns if c.startswith("id_sim_")]


def resolve_calibrations(labels: Sequence[str], given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Recogniser label -> :class:`~facebench.face.calibration.IdentityCalibration` (``given`` first,
    else the one shipped in the package) or None when there is none."""
    from ..face.calibration import load_calibration

    out: dict[str, Any] = {}
    for lab in labels:
        if given and lab in given:
            out[lab] = given[lab]
            continue
        try:
            out[lab] = load_calibration(lab)
        except ValueError:
            out[lab] = None
    return out


def _quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def strongest(df: pd.DataFrame) -> pd.DataFrame:
    """The ok rows at the largest alpha of ``df`` (the judged general edits)."""
    ok = df[df["status"] == "ok"]
    return ok[ok["alpha"] == ok["alpha"].max()] if not ok.empty else ok


def general_edits(df: pd.DataFrame) -> pd.DataFrame:
    """Every row at the largest alpha of ``df``, failed ones included (the general-metric edits)."""
    return df[df["alpha"] == df["alpha"].max()] if not df.empty else df


def failed_mask(df: pd.DataFrame) -> np.ndarray:
    """True for rows that count as failed in the general metrics: a failed stage, or a recogniser
    that gave no similarity (no face found on the edit)."""
    bad = (df["status"] != "ok").to_numpy()
    cols = recogniser_columns(df)
    if cols:
        bad = bad | df[cols].isna().any(axis=1).to_numpy()
    return bad


def predictions(df: pd.DataFrame, over: Sequence[str]) -> np.ndarray:
    """Predicted class per row = argmax of the scores over ``over`` (ties: first in order; the
    metrics use :func:`weights` instead)."""
    return ffe.predicted_class(df[["score_" + e for e in over]].to_numpy(), labels=list(over))


def weights(df: pd.DataFrame, over: Sequence[str]) -> np.ndarray:
    """(N, len(over)) prediction shares per row (ties split evenly)."""
    if df.empty:
        return np.zeros((0, len(over)))
    return ffe.prediction_weights(df[["score_" + e for e in over]].to_numpy(), labels=list(over))


def confusion(df: pd.DataFrame, over: Sequence[str]) -> ffe.ConfusionMatrix:
    """Confusion of the judged rows whose target is in ``over`` (argmax over ``over``, ties split)."""
    sub = df[(df["status"] == "ok") & df["expression"].isin(over)]
    return ffe.weighted_confusion(list(sub["expression"]), weights(sub, over), labels=list(over))


def accuracy(edits: pd.DataFrame, over: Sequence[str]) -> float:
    """Share of ``edits`` (targets in ``over``) judged as their target, failed edits as misses."""
    sub = edits[edits["expression"].isin(over)]
    bad = failed_mask(sub) if not sub.empty else np.zeros(0, bool)
    ok = sub[~bad]
    return _quiet(ffe.weighted_accuracy, list(ok["expression"]), weights(ok, over), list(over),
                  n_failed=int(bad.sum()))


def mscr(edits: pd.DataFrame, pairs: Sequence[tuple[str, str]]) -> tuple[float, ffe.ConfusionMatrix]:
    """mSCR over :data:`MSCR_CLASSES` with failed edits counted as confused, and the confusion."""
    sub = edits[edits["expression"].isin(MSCR_CLASSES)]
    bad = failed_mask(sub) if not sub.empty else np.zeros(0, bool)
    cm = confusion(sub[~bad], MSCR_CLASSES)
    failed = sub[bad]["expression"].value_counts().to_dict()
    return _quiet(ffe.mscr, cm, pairs, failed), cm


def identity(edits: pd.DataFrame, calibrations: Mapping[str, Any]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Per-edit (calibrated, raw) ID Sim, mean over recognisers; failed edits 0. Calibrated is None
    when a recogniser has no calibration; both None without recognisers."""
    cols = recogniser_columns(edits)
    if not cols:
        return None, None
    bad = failed_mask(edits)
    raw_each = edits[cols].to_numpy(np.float64)
    raw = np.where(bad, 0.0, np.nan_to_num(raw_each.mean(axis=1)))
    cals = [calibrations.get(c[len("id_sim_"):]) for c in cols]
    if any(c is None for c in cals):
        return None, raw
    cal_each = np.stack([np.asarray(c.score(raw_each[:, k]), np.float64) for k, c in enumerate(cals)], axis=1)
    return np.where(bad, 0.0, np.nan_to_num(cal_each.mean(axis=1))), raw


def identity_edits(edits: pd.DataFrame, judged: Sequence[str]) -> pd.DataFrame:
    """The edits ID Sim and HES are averaged over (the same for both): toward judged expressions,
    or all of them when the judge judges none."""
    return edits[edits["expression"].isin(judged)] if judged else edits


def id_and_hes(edits: pd.DataFrame, judged: Sequence[str], calibrations: Mapping[str, Any]) -> dict[str, Any]:
    """``ID Sim``, ``ID Sim (raw)`` and ``HES`` over :func:`identity_edits` (failed edits 0)."""
    sub = identity_edits(edits, judged)
    cal, raw = identity(sub, calibrations)
    if raw is None:
        return {"ID Sim": NOT_APPLICABLE, "ID Sim (raw)": NOT_APPLICABLE, "HES": NOT_APPLICABLE}
    out: dict[str, Any] = {"ID Sim (raw)": float(raw.mean()) if raw.size else float("nan")}
    if cal is None:
        out["ID Sim"] = out["HES"] = NOT_CALIBRATED
        return out
    out["ID Sim"] = float(cal.mean()) if cal.size else float("nan")
    if not judged:
        out["HES"] = NOT_JUDGED
        return out
    bad = failed_mask(sub)
    target = np.where(bad, 0.0, np.nan_to_num(sub["target_score"].to_numpy(np.float64)))
    per = np.where(bad, 0.0, ffe.hes(target, cal)) if len(sub) else np.zeros(0)
    out["HES"] = float(np.mean(per)) if len(sub) else float("nan")
    return out


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
                pairs: Sequence[tuple[str, str]] = CONFUSING_PAIRS,
                calibrations: Mapping[str, Any] | None = None) -> GroupScores:
    """Metrics of one (model, judge) slice of the results table (see the module docstring).

    ``calibrations``: recogniser label -> calibration (default: :func:`resolve_calibrations`).
    """
    model, judge = str(df["model"].iloc[0]), str(df["judge"].iloc[0])
    ok = df[df["status"] == "ok"]
    judged = judged_expressions(df)
    cals = resolve_calibrations([c[len("id_sim_"):] for c in recogniser_columns(df)]) \
        if calibrations is None else dict(calibrations)
    gen = general_edits(df)
    bad = failed_mask(gen) if not gen.empty else np.zeros(0, bool)
    track = str(df["track"].iloc[0])
    is_linear = (ok["alpha"].nunique() >= 2) if linear is None else linear
    m: dict[str, Any] = {"track": track, "edits": int(df[["task_id", "alpha"]].drop_duplicates().shape[0]),
                         "ok": int(len(ok)), "failed": int((df["status"] != "ok").sum()),
                         "n": int(len(gen)), "n failed": int(bad.sum()), "judged": f"{len(judged)} of 12"}
    notes: list[str] = []
    basic_ok = all(e in judged for e in MSCR_CLASSES)
    all_ok = len(judged) == len(EXPRESSIONS)
    m["Acc-6"] = accuracy(gen, MSCR_CLASSES) if basic_ok else NOT_JUDGED
    m["Acc-12"] = accuracy(gen, EXPRESSIONS) if all_ok else NOT_JUDGED
    cm = None
    if basic_ok and all(a in MSCR_CLASSES and b in MSCR_CLASSES for a, b in pairs):
        m["mSCR"], cm = mscr(gen, pairs)
    else:
        m["mSCR"] = NOT_JUDGED
    m.update(id_and_hes(gen, judged, cals))
    if is_linear and track == "linear":
        c6 = _cls(ok, BASIC6, cls_mode) if basic_ok else None
        m["CLS-6"] = (c6.pearson if c6 else float("nan")) if basic_ok else NOT_JUDGED
        c12 = _cls(ok, EXPRESSIONS, cls_mode) if all_ok else None
        m["CLS-12"] = (c12.pearson if c12 else float("nan")) if all_ok else NOT_JUDGED
    else:
        m["CLS-6"] = m["CLS-12"] = NOT_APPLICABLE
    if track == "fed":
        m.update(_fed(ok, judged, cals))
    else:
        m.update(dict.fromkeys(FED_METRICS, NOT_APPLICABLE))
    m["recognisers"] = str(df["recognisers"].iloc[0]) if "recognisers" in df else ""
    m["cls_mode"] = cls_mode
    if bad.any():
        notes.append(f"{model} / {judge}: {int(bad.sum())} of {len(gen)} general-metric edits failed (no face, "
                     "or a failed stage): counted as misses for Acc, as confused for mSCR, identity 0 and HES 0")
    edited = set(strongest(df)["expression"])
    for name, subset in (("CLS-6", BASIC6), ("CLS-12", EXPRESSIONS),
                         ("mSCR", tuple(e for pair in pairs for e in pair))):
        v = m.get(name)
        gone = [e for e in subset if e not in edited]
        if isinstance(v, float) and np.isnan(v) and gone:
            notes.append(f"{name} ({model} / {judge}) is undefined: no successful edits toward {', '.join(gone)}")
    if not all_ok:
        missing = [e for e in EXPRESSIONS if e not in judged]
        notes.append(f"judge {judge} does not judge {', '.join(missing)}: metrics over them read '{NOT_JUDGED}'")
    uncal = [c[len("id_sim_"):] for c in recogniser_columns(df) if cals.get(c[len("id_sim_"):]) is None]
    if uncal:
        notes.append(f"no identity calibration for {', '.join(uncal)}: ID Sim and HES read '{NOT_CALIBRATED}' "
                     "(fit one with `facebench identity calibrate`, pass it with --id-calibration)")
    per = per_expression_table(df, judged, cls_mode=cls_mode, linear=is_linear and track == "linear",
                               calibrations=cals)
    return GroupScores(model, judge, m, per, cm, notes)


FED_METRICS: tuple[str, ...] = ("FED", "Alignment", "Fidelity", "Fidelity (raw)", "REG")


def _fed(ok: pd.DataFrame, judged: Sequence[str], calibrations: Mapping[str, Any]) -> dict[str, Any]:
    """FED-Score and its parts over the judged ok edits with a ground truth: Fidelity (and so FED)
    from the calibrated ID Sim, ``Fidelity (raw)`` from the raw cosine."""
    labels = (["neutral"] if ok["score_neutral"].notna().all() and "gt_neutral" in ok else []) + list(judged)
    sub = ok[ok["expression"].isin(judged)].dropna(subset=["id_sim"])
    gt_cols = ["gt_" + e for e in labels]
    if not judged:
        return dict.fromkeys(FED_METRICS, NOT_JUDGED)
    if sub.empty or not all(c in sub for c in gt_cols):
        return dict.fromkeys(FED_METRICS, float("nan"))
    sub = sub.dropna(subset=gt_cols)
    scores = (sub[["src_" + e for e in labels]].to_numpy(), sub[gt_cols].to_numpy(),
              sub[["score_" + e for e in labels]].to_numpy(), list(sub["expression"]), labels)
    raw = _quiet(fed_score, *scores, id_sim=sub["id_sim"].to_numpy())
    out: dict[str, Any] = {"Alignment": float(np.nanmean(raw["alignment"])), "REG": float(np.nanmean(raw["reg"])),
                           "Fidelity (raw)": float(np.nanmean(raw["fidelity"]))}
    cal, _ = identity(sub, calibrations)
    if cal is None:
        return {**out, "FED": NOT_CALIBRATED, "Fidelity": NOT_CALIBRATED}
    table = _quiet(fed_score, *scores, id_sim=cal)
    return {**out, "FED": float(np.nanmean(table["fed_score"])), "Fidelity": float(np.nanmean(table["fidelity"]))}


def per_expression_table(df: pd.DataFrame, judged: Sequence[str], *, cls_mode: str = "per_series",
                         linear: bool = True, calibrations: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """One row per target expression, saying what each number rests on: ``edits`` (all alphas, any
    status), ``n`` general edits (the
    denominator of accuracy, ID Sim and HES, failed ones included), ``n failed``; accuracy (argmax
    over the basic 6 for a basic target, over all 12 otherwise), mean target score of the judged
    ones; CLS (Pearson and Spearman, linear runs) over ``n CLS`` judged edits; ID Sim (calibrated
    and raw) and HES; ``"not judged"`` where the judge does not judge the expression."""
    cals = calibrations or {}
    rows = []
    gen = general_edits(df)
    ok = df[df["status"] == "ok"]
    for e in EXPRESSIONS:
        sub = gen[gen["expression"] == e]
        if sub.empty:
            continue
        bad = failed_mask(sub)
        row: dict[str, Any] = {"expression": e, "edits": int((df["expression"] == e).sum()), "n": int(len(sub)),
                               "n failed": int(bad.sum())}
        row.update(id_and_hes(sub, [e] if e in judged else [], cals))
        over = MSCR_CLASSES if e in MSCR_CLASSES else EXPRESSIONS
        sub_all = ok[ok["expression"] == e]
        if e not in judged:
            row.update({"accuracy": NOT_JUDGED, "target score": NOT_JUDGED, "HES": NOT_JUDGED,
                        "CLS": NOT_JUDGED if linear else NOT_APPLICABLE,
                        "CLS (Spearman)": NOT_JUDGED if linear else NOT_APPLICABLE, "n CLS": 0})
        else:
            row["accuracy"] = accuracy(sub, over) if all(x in judged for x in over) else NOT_JUDGED
            row["target score"] = float(sub[~bad]["target_score"].mean()) if (~bad).any() else float("nan")
            if linear:
                c = _cls(sub_all, [e], cls_mode)
                row["CLS"] = c.pearson if c else float("nan")
                row["CLS (Spearman)"] = c.spearman if c else float("nan")
                row["n CLS"] = int(sub_all["target_score"].notna().sum())
            else:
                row["CLS"] = row["CLS (Spearman)"] = NOT_APPLICABLE
                row["n CLS"] = 0
        rows.append(row)
    cols = ["expression", "edits", "n", "n failed", "accuracy", "target score", "CLS", "CLS (Spearman)", "n CLS",
            "ID Sim", "ID Sim (raw)", "HES"]
    return pd.DataFrame(rows, columns=cols)


def curve_table(ok: pd.DataFrame, calibrations: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """ID Sim vs expression score per alpha (the PixelSmile paper's Figure 4), per model and judge:
    mean target score and mean calibrated ID Sim (raw beside it) over the judged edits at each alpha."""
    cols = ["model", "judge", "alpha", "expression score", "ID Sim", "ID Sim (raw)", "n"]
    sub = ok[ok["status"] == "ok"].dropna(subset=["target_score"])
    if sub.empty:
        return pd.DataFrame(columns=cols)
    rec = recogniser_columns(sub)
    cals = resolve_calibrations([c[len("id_sim_"):] for c in rec], calibrations)
    sub = sub.assign(**{"ID Sim (raw)": sub[rec].mean(axis=1) if rec else np.nan})
    if rec and all(cals.get(c[len("id_sim_"):]) is not None for c in rec):
        cal = np.mean([cals[c[len("id_sim_"):]].score(sub[c].to_numpy(np.float64)) for c in rec], axis=0)
        sub = sub.assign(**{"ID Sim": cal})
    else:
        sub = sub.assign(**{"ID Sim": np.nan})
    g = sub.groupby(["model", "judge", "alpha"], sort=True)
    return g.agg(**{"expression score": ("target_score", "mean"), "ID Sim": ("ID Sim", "mean"),
                    "ID Sim (raw)": ("ID Sim (raw)", "mean"), "n": ("target_score", "size")}).reset_index()[cols]


def leaderboard(results: pd.DataFrame, *, cls_mode: str = "per_series",
                calibrations: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, list[GroupScores]]:
    """One row per (model, judge) with every metric, plus the per-group details."""
    cals = resolve_calibrations([c[len("id_sim_"):] for c in recogniser_columns(results)], calibrations)
    groups = []
    for (_, _), df in results.groupby(["model", "judge"], sort=True):
        groups.append(score_group(df, cls_mode=cls_mode, calibrations=cals))
    rows = [{"model": g.model, "judge": g.judge, **g.metrics} for g in groups]
    return pd.DataFrame(rows), groups
