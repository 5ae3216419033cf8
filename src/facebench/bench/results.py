"""The results table of a benchmark run: one tidy row per (editor, task, alpha, judge).

Columns:

- ``model`` (the editor's label), ``editor``, ``track``, ``judge`` (label), ``judge_id``,
  ``task_id``, ``image``, ``domain``, ``expression`` (target), ``alpha``, ``prompt``;
- ``source_hash``, ``edited_hash`` (pixel hashes), ``edit_key`` (the edit's cache key), ``status`` (``ok``/``failed``), ``stage`` and
  ``reason`` (why it failed: source, ground_truth, edit, judge);
- ``score_<label>`` for neutral and the 12 expressions: the judge's intensity for the edit, ``nan``
  where the judge does not judge that label; ``src_<label>``: the same for the source photo;
  ``gt_<label>``: for the ground truth (fed track only); ``target_score`` = score of the target;
- ``id_sim`` (mean over recognisers), ``id_sim_<recogniser>``, ``recognisers`` (which ones) and
  ``id_reason`` (why identity is missing, if it is).

Every number in a report is computed from this table (:mod:`facebench.bench.scoring`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..expressions import EXPRESSIONS
from ..judges.base import accepts_source

#: Score labels stored per image: neutral + the 12 expressions.
SCORE_LABELS: tuple[str, ...] = ("neutral",) + EXPRESSIONS
FAILURE_COLUMNS = ["stage", "model", "judge", "task_id", "alpha", "line", "reason"]


def score_columns(prefix: str = "score_", labels: Sequence[str] = SCORE_LABELS) -> list[str]:
    """``[prefix + label ...]``."""
    return [prefix + lab for lab in labels]


def _box_key(box: Any) -> Any:
    return None if box is None else tuple(float(v) for v in box)


def build_results(*, plans: list, track: str, judges: Sequence[Any], jfps: dict, recognisers: Sequence[Any],
                  edit_hash: dict[str, str], edit_fail: dict[str, str], judgements: dict, judge_keys: dict,
                  judge_fail: dict[str, str], id_keys: dict, sims: dict[str, float],
                  id_fail: dict[str, str]) -> pd.DataFrame:
    """Assemble the results table from the cache records of a run (see the module docstring)."""
    rows: list[dict[str, Any]] = []
    rec_labels = [r.label for r in recognisers]
    with_source = {j: accepts_source(j.build()) for j in judges}  # images judged against the task's source

    def scores_of(jfp: str, h: str | None, box: Any,
                  source: str | None = None) -> tuple[dict[str, float] | None, str | None]:
        if h is None:
            return None, None
        k = judge_keys.get((jfp, h, _box_key(box), source))
        if k is None:
            return None, "not judged"
        if k in judgements:
            return judgements[k].value["scores"], None
        return None, judge_fail.get(k, "judgement missing")

    for p in plans:
        t, s = p.task, p.src
        eh = edit_hash.get(p.key)
        sim_cols: dict[str, float] = {}
        id_reasons = []
        for r in rec_labels:
            k = id_keys.get((r, p.key))
            v = sims.get(k) if k else None
            sim_cols[f"id_sim_{r}"] = float(v) if v is not None else np.nan
            if k in id_fail:
                id_reasons.append(f"{r}: {id_fail[k]}")
        vals = [v for v in sim_cols.values() if np.isfinite(v)]
        id_sim = float(np.mean(vals)) if rec_labels and len(vals) == len(rec_labels) else np.nan
        for j in judges:
            jfp = jfps[j]
            row: dict[str, Any] = {
                "model": p.editor.label, "editor": p.editor.name, "track": track, "judge": j.label,
                "judge_id": j.build().judge_id(), "task_id": t.task_id, "image": str(t.image), "domain": t.domain,
                "expression": t.expression, "alpha": float(p.alpha), "prompt": t.prompt,
                "source_hash": s.hash or "", "edited_hash": eh or "", "edit_key": p.key, "status": "ok", "stage": "", "reason": "",
            }
            against = s.hash if with_source[j] else None
            edit_scores, ereason = scores_of(jfp, eh, t.face_box, against)
            src_scores, _ = scores_of(jfp, s.hash, t.face_box, against)
            gt_scores, greason = scores_of(jfp, s.gt_hash, t.face_box, against)
            if s.error is not None:
                row.update(status="failed", stage=s.stage, reason=s.error)
            elif eh is None:
                row.update(status="failed", stage="edit", reason=edit_fail.get(p.key, "edit missing"))
            elif edit_scores is None:
                row.update(status="failed", stage="judge", reason=ereason or "judgement missing")
            elif track == "fed" and gt_scores is None:
                row.update(status="failed", stage="judge", reason=f"ground truth: {greason or 'judgement missing'}")
            for lab in SCORE_LABELS:
                row["score_" + lab] = float(edit_scores[lab]) if edit_scores and lab in edit_scores else np.nan
            for lab in SCORE_LABELS:
                row["src_" + lab] = float(src_scores[lab]) if src_scores and lab in src_scores else np.nan
            if track == "fed":
                for lab in SCORE_LABELS:
                    row["gt_" + lab] = float(gt_scores[lab]) if gt_scores and lab in gt_scores else np.nan
            row["target_score"] = row["score_" + t.expression]
            row["src_target_score"] = row["src_" + t.expression]
            row["id_sim"] = id_sim
            row.update(sim_cols)
            row["recognisers"] = "+".join(rec_labels)
            row["id_reason"] = "; ".join(id_reasons)
            rows.append(row)
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values(["model", "judge", "task_id", "alpha"], kind="stable").reset_index(drop=True)
    return df


def failures_frame(base: list[dict[str, Any]], results: pd.DataFrame, *,
                   id_fail_rows: list[dict[str, Any]] = ()) -> pd.DataFrame:
    """Every failure of a run, one row each: manifest rows, failed result rows, identity failures."""
    rows = list(base)
    if not results.empty:
        bad = results[results["status"] != "ok"]
        for r in bad.itertuples(index=False):
            rows.append({"stage": r.stage, "model": r.model, "judge": r.judge, "task_id": r.task_id,
                         "alpha": r.alpha, "line": np.nan, "reason": r.reason})
    rows.extend(id_fail_rows)
    return pd.DataFrame(rows, columns=FAILURE_COLUMNS)


def failure_counts(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by stage and reason, with counts (largest first)."""
    if failures.empty:
        return pd.DataFrame(columns=["stage", "reason", "count"])
    g = failures.groupby(["stage", "reason"], dropna=False).size().reset_index(name="count")
    return g.sort_values(["count", "stage"], ascending=[False, True], kind="stable").reset_index(drop=True)
