"""Within-person validation of judge v2's graded intensity on a labelled folder with persons.

A slider's CLS measures an intensity relative to the source face. A labelled folder whose photos
name their person (:mod:`.dataset`) checks the same kind of measure on real photos: for every
person with a neutral photo ``r`` and a photo ``x`` of one of the 6 basic expressions, the pair's
change is the judge's intensity of ``x`` relative to ``r`` (:meth:`.head.Head.intensity`),

    d_c(x, r) = I_c(x | r) = clip( ((e_c(x) - e_c(r)) / D_c + (a_c(x) - a_c(r)) / G_c) / 4, 0, 1 )

(reference clamped as in :meth:`~.head.Head.intensity`), with the classifier evidence ``e_c``
taken out of fold (person-grouped folds: neither photo of a pair was seen by the head that scores
it) and ``D_c``, ``G_c`` and the action-unit calibration from the head fitted on all photos. For
each class ``c`` the report gives

    AUC_c = P( d_c(x, r) > d_c(x', r') ),   x showing c, x' showing another basic expression

(Mann-Whitney, ties half), for ``I_c`` and for its two terms alone (``e`` term, ``a`` term), the
number of pairs and persons, and the share of ``c`` pairs whose term rose (``> 0``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

import numpy as np

from ..expressions import BASIC6, BASIC7
from .dataset import Table
from .evaluate import cross_validate
from .features import geometry_dict
from .head import Head, block_columns


def neutral_pairs(labels: Sequence[str], groups: Sequence[str]) -> list[tuple[int, int]]:
    """``(expressive index, neutral index)`` for every person (groups not starting with
    ``photo:``) with a neutral photo and photos of a basic expression."""
    by: dict[str, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        if not str(g).startswith("photo:"):
            by[str(g)].append(i)
    out = []
    for members in by.values():
        neutral = [i for i in members if labels[i] == "neutral"]
        out += [(i, r) for r in neutral for i in members if labels[i] in BASIC6]
    return out


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    """``P(pos > neg) + P(pos == neg) / 2`` over all (pos, neg) pairs; nan when either is empty."""
    pos, neg = np.asarray(pos, np.float64), np.asarray(neg, np.float64)
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + ties / 2)


def within_person_report(table: Table, head: Head, *, k: int = 5, seed: int = 0) -> dict[str, Any]:
    """Per-class AUC of the within-person change (module docstring) for ``head``'s blocks and C."""
    keep = [i for i, l in enumerate(table.labels) if l in BASIC7]
    X = table.X[keep]
    labels = [table.labels[i] for i in keep]
    groups = [table.groups[i] for i in keep]
    pairs = neutral_pairs(labels, groups)
    weights = dict(head.meta.get("block_weights") or {})
    cv = cross_validate(X, labels, groups, BASIC7, head.blocks, (float(head.meta["C"]),), k, seed=seed,
                        block_weights=weights)
    P = np.clip(cv["proba"], 1e-12, None)
    n = head.classes.index("neutral")
    E = np.log(P) - np.log(P[:, [n]])  # out-of-fold e_c = l_c - l_neutral
    A = np.array([head.au(geometry_dict(g)) for g in X[:, block_columns(["geometry"])]])
    e_term = np.array([(E[i] - np.minimum(E[r], head.ref_evidence)) / head.gap for i, r in pairs]).reshape(-1, 7)
    a_term = np.array([(A[i] - np.minimum(A[r], 0.0)) / head.au_gap for i, r in pairs]).reshape(-1, 7)
    inten = np.clip((e_term + a_term) / 4.0, 0.0, 1.0)
    shown = np.array([labels[i] for i, _ in pairs], dtype=object)
    out: dict[str, Any] = {"pairs": len(pairs), "classes": {}}
    for c in BASIC6:
        j, own = head.classes.index(c), shown == c
        persons = {groups[i] for (i, _), o in zip(pairs, own) if o}
        out["classes"][c] = {
            "pairs": int(own.sum()), "persons": len(persons),
            **{name: auc(v[own, j], v[~own, j]) for name, v in (("I", inten), ("e", e_term), ("a", a_term))},
            "rose": float(np.mean(inten[own, j] > 0)) if own.any() else float("nan"),
        }
    return out


def within_person_markdown(rep: dict[str, Any]) -> str:
    """The report of :func:`within_person_report` as a Markdown table."""
    lines = ["| expression | pairs (persons) | AUC of I_c | AUC of the e term | AUC of the a term "
             "| pairs with I_c > 0 |", "|---|---|---|---|---|---|"]
    for c, r in rep["classes"].items():
        if not r["pairs"]:
            lines.append(f"| {c} | 0 (0) | n/a | n/a | n/a | n/a |")
            continue
        lines.append(f"| {c} | {r['pairs']} ({r['persons']}) | {r['I']:.3f} | {r['e']:.3f} | {r['a']:.3f} "
                     f"| {r['rose']:.2f} |")
    return "\n".join(lines)
