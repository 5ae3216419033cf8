"""Annotation tables: the benchmark runner's rows turned into one row per generated sample.

- ``samples``: one row per (source, expression, intensity) with the combined 12-d score vector
  ``score_<expression>`` (the mean over the judges that judged that expression; ``nan`` where no
  judge did -- never filled in), ``not_judged`` (the expressions no configured judge scores), the
  source photo's scores ``src_<label>``, the identity similarity and why a step failed;
- ``annotations``: the long table of every judge's every score (``kind`` = ``edit`` or
  ``source``), so no judge's output is lost when several judges ran.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..bench.results import SCORE_LABELS
from ..expressions import EXPRESSIONS

ANNOTATION_COLUMNS = ["sample_id", "kind", "judge", "judge_id", "label", "score"]


def sample_id(task_id: str, alpha: float) -> str:
    """``<source id>-<expression>-a<intensity x 100, 3 digits>``, e.g. ``astro-1a2b3c4d-fear-a050``."""
    return f"{task_id}-a{int(round(alpha * 100)):03d}"


def _mean(values: list[float]) -> float:
    vals = [v for v in values if np.isfinite(v)]
    return float(np.mean(vals)) if vals else float("nan")


def build_samples(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(samples, annotations)`` from a results table of :func:`facebench.bench.runner.run_benchmark`."""
    rows: list[dict[str, Any]] = []
    ann: list[dict[str, Any]] = []
    seen_sources: set[tuple[str, str]] = set()
    if results.empty:
        return pd.DataFrame(), pd.DataFrame(columns=ANNOTATION_COLUMNS)
    for (task_id, alpha), g in results.groupby(["task_id", "alpha"], sort=True):
        first = g.iloc[0]
        expr = str(first["expression"])
        sid = task_id[: -(len(expr) + 1)]
        smp = sample_id(task_id, float(alpha))
        row: dict[str, Any] = {
            "sample_id": smp, "source_id": sid, "task_id": task_id, "expression": expr, "alpha": float(alpha),
            "domain": first["domain"], "prompt": first["prompt"], "editor": first["model"],
            "source_hash": first["source_hash"], "edited_hash": first["edited_hash"], "edit_key": first["edit_key"],
            "judges": "+".join(g["judge"]), "status": "ok", "stage": "", "reason": "",
            "id_sim": float(first["id_sim"]), "id_reason": first["id_reason"],
        }
        bad = g[g["status"] != "ok"]
        if len(bad):
            b = bad.iloc[0]
            who = "" if b["stage"] in ("edit", "source") else f"{b['judge']}: "
            row.update(status="failed", stage=b["stage"], reason=f"{who}{b['reason']}")
        for lab in SCORE_LABELS:
            row["score_" + lab] = _mean([float(v) for v in g["score_" + lab]])
            row["src_" + lab] = _mean([float(v) for v in g["src_" + lab]])
        judged = [e for e in EXPRESSIONS if np.isfinite(row["score_" + e]) or np.isfinite(row["src_" + e])]
        row["not_judged"] = ",".join(e for e in EXPRESSIONS if e not in judged)
        rows.append(row)
        for r in g.itertuples(index=False):
            rd = r._asdict()
            for lab in SCORE_LABELS:
                v = float(rd["score_" + lab])
                if np.isfinite(v):
                    ann.append({"sample_id": smp, "kind": "edit", "judge": r.judge, "judge_id": r.judge_id,
                                "label": lab, "score": v})
            if (sid, r.judge) not in seen_sources:
                vals = {lab: float(rd["src_" + lab]) for lab in SCORE_LABELS}
                if any(np.isfinite(v) for v in vals.values()):
                    seen_sources.add((sid, r.judge))
                    ann.extend({"sample_id": sid, "kind": "source", "judge": r.judge, "judge_id": r.judge_id,
                                "label": lab, "score": v} for lab, v in vals.items() if np.isfinite(v))
    samples = pd.DataFrame(rows).sort_values("sample_id", kind="stable").reset_index(drop=True)
    annotations = pd.DataFrame(ann, columns=ANNOTATION_COLUMNS)
    annotations = annotations.sort_values(["kind", "sample_id", "judge", "label"], kind="stable").reset_index(drop=True)
    return samples, annotations
