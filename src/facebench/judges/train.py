"""Fitting judge v2's head on a labelled folder, with person-grouped cross-validation.

:func:`train` extracts features (:mod:`.dataset`), keeps the photos labelled neutral or one of the 6
basic expressions, cross-validates every candidate block set x regularisation strength
(:data:`BLOCK_SETS`, :data:`CS`) with person-grouped folds, refits the best on all photos and
returns it with a report: the out-of-fold numbers of the chosen head and, from the same folds and
photos, those of the old fer + facex ensemble (``ensemble-v1``) and of fer alone.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Sequence

import numpy as np

from ..expressions import BASIC7
from .dataset import Table
from .evaluate import class_report, cross_validate
from .features import BLOCKS, FEATURE_VERSION
from .head import Head, fit_head, softmax

#: Candidate feature-block sets tried by cross-validation.
BLOCK_SETS: dict[str, tuple[str, ...]] = {
    "all": tuple(BLOCKS),
    "logits+geometry": ("fer_logits", "facex_logits", "geometry", "shape"),
    "cnn": ("fer_logits", "fer_embed", "facex_logits"),
    "geometry": ("geometry", "shape"),
}
#: Candidate inverse regularisation strengths.
CS: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3)


def old_ensemble(extra: dict[str, np.ndarray]) -> np.ndarray:
    """The v1 ensemble's probabilities from the plain-crop logits: ``(p_fer + 2 p_facex) / 3``."""
    return (softmax(extra["fer_logits_plain"]) + 2 * softmax(extra["facex_logits_plain"])) / 3


def train(table: Table, *, block_sets: dict[str, Sequence[str]] | None = None, Cs: Sequence[float] = CS,
          k: int = 5, log: Callable[[str], None] = lambda s: None) -> tuple[Head, dict[str, Any]]:
    """Choose blocks and ``C`` by person-grouped CV on ``table`` (neutral + 6 basic photos), refit
    on all of them and return ``(head, report)``."""
    keep = np.array([l in BASIC7 for l in table.labels])
    X = table.X[keep]
    labels = [l for l, k_ in zip(table.labels, keep) if k_]
    groups = [g for g, k_ in zip(table.groups, keep) if k_]
    present = [c for c in BASIC7 if c in labels]
    if "neutral" not in present or len(present) < 2:
        raise ValueError(f"training needs neutral photos and at least one expression; have {present}")
    classes = BASIC7
    tried: dict[str, dict[float, float]] = {}
    best: tuple[float, str, dict[str, Any]] | None = None
    for name, blocks in (block_sets or BLOCK_SETS).items():
        cv = cross_validate(X, labels, groups, classes, blocks, Cs, k)
        tried[name] = cv["scores"]
        log(f"  {name}: " + ", ".join(f"C={c:g} BA={v:.3f}" for c, v in cv["scores"].items()))
        if best is None or cv["scores"][cv["C"]] > best[0]:
            best = (cv["scores"][cv["C"]], name, cv)
    assert best is not None
    _, name, cv = best
    blocks = tuple((block_sets or BLOCK_SETS)[name])
    pred = np.asarray(classes, dtype=object)[cv["proba"].argmax(1)]
    lab = np.asarray(labels, dtype=object)
    ens = old_ensemble({k_: v[keep] for k_, v in table.extra.items()})
    fer = softmax(table.extra["fer_logits_plain"][keep])
    report: dict[str, Any] = {
        "feature_version": FEATURE_VERSION, "blocks": name, "block_list": list(blocks), "C": cv["C"],
        "folds": k, "n_photos": int(len(labels)), "n_groups": int(len(set(groups))),
        "counts": {c: int(np.sum(lab == c)) for c in classes},
        "tried": {n: {str(c): v for c, v in s.items()} for n, s in tried.items()},
        "v2": class_report(lab, pred, classes, cv["proba"]),
        "ensemble_v1": class_report(lab, np.asarray(classes, dtype=object)[ens.argmax(1)], classes, ens),
        "fer_alone": class_report(lab, np.asarray(classes, dtype=object)[fer.argmax(1)], classes, fer),
        "fallback_boxes": int(np.sum(table.extra["fallback"][keep])),
        "failed": [f"{p}: {r}" for p, r in table.failed],
    }
    head = fit_head(X, labels, classes, blocks, cv["C"],
                    meta={"trained_on": report["n_photos"], "cv_balanced_accuracy": report["v2"]["balanced_accuracy"]})
    head.meta["digest"] = hashlib.sha256(
        np.ascontiguousarray(head.W, np.float32).tobytes() + json.dumps(list(blocks)).encode()).hexdigest()[:12]
    return head, report
