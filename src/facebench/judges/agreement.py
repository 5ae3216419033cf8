"""Agreement between judges, per expression, when several judges scored the same edits.

For every pair of judges and every expression both judge, over the edits toward that expression
that both scored: Pearson r and Spearman rho of their target-expression intensities
(:mod:`facebench.metrics.correlation`) and the share of edits where their predicted class (argmax
over the expressions both judge) is the same. Low agreement on an expression says its numbers
depend on the judge more than on the editor.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

from ..expressions import EXPRESSIONS
from ..metrics.correlation import plcc, srcc

KEYS = ["model", "task_id", "alpha"]


def _judged(df: pd.DataFrame) -> list[str]:
    return [e for e in EXPRESSIONS if df["score_" + e].notna().all()] if len(df) else []


def judge_agreement(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (judge A, judge B, expression): ``n``, ``pearson``, ``spearman``, ``same_top``
    (share of edits with the same predicted class). Empty when fewer than two judges ran."""
    cols = ["judge_a", "judge_b", "expression", "n", "pearson", "spearman", "same_top"]
    ok = results[results["status"] == "ok"]
    judges = sorted(ok["judge"].unique())
    rows = []
    for a, b in itertools.combinations(judges, 2):
        da, db = ok[ok["judge"] == a], ok[ok["judge"] == b]
        common = [e for e in _judged(da) if e in _judged(db)]
        if not common:
            continue
        m = da.merge(db, on=KEYS + ["expression"], suffixes=("_a", "_b"))
        sa = m[[f"score_{e}_a" for e in common]].to_numpy()
        sb = m[[f"score_{e}_b" for e in common]].to_numpy()
        top_same = np.argmax(sa, axis=1) == np.argmax(sb, axis=1) if len(m) else np.zeros(0, bool)
        for e in common:
            sel = (m["expression"] == e).to_numpy()
            if not sel.any():  # no edit toward e in this run: nothing to compare
                continue
            x, y = m.loc[sel, f"score_{e}_a"].to_numpy(), m.loc[sel, f"score_{e}_b"].to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                r = plcc(x, y) if len(x) >= 2 else float("nan")
                rho = srcc(x, y) if len(x) >= 2 else float("nan")
            rows.append({"judge_a": a, "judge_b": b, "expression": e, "n": int(sel.sum()), "pearson": r,
                         "spearman": rho, "same_top": float(top_same[sel].mean())})
    return pd.DataFrame(rows, columns=cols)
