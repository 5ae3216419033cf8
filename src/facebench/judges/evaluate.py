"""How well a judge does on labelled photos and slider series (judge v2's validation numbers).

- :func:`class_report`: per-class recall (over every photo of the class, a prediction outside the
  classes such as "(not measured)" counting as wrong), balanced accuracy (mean recall over the classes present),
  confusion matrix (rows = true, columns = predicted) and expected calibration error
  ``ECE = sum_b (n_b / n) |acc_b - conf_b|`` over 10 equal-width bins of the top-class probability
  (Guo et al. 2017).
- :func:`cross_validate`: person-grouped k-fold out-of-fold probabilities of a head for each
  regularisation strength ``C``; the best ``C`` by balanced accuracy.
- :func:`slider_cls`: CLS of one slider, Pearson r between frame index and judged intensity
  (PixelSmile sec. 3.2; frame index as a monotone proxy for alpha).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .head import block_columns, fit_head, group_folds


def class_report(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str],
                 proba: np.ndarray | None = None) -> dict[str, Any]:
    """Recall per class, balanced accuracy, accuracy, confusion (list of rows) and ECE."""
    t = np.asarray(y_true, dtype=object)
    p = np.asarray(y_pred, dtype=object)
    cm = np.array([[int(np.sum((t == a) & (p == b))) for b in classes] for a in classes])
    # recall over every photo of the class, including those predicted outside ``classes`` (e.g.
    # "(not measured)"): a failure counts as a wrong answer, never leaves the denominator
    n_true = [int(np.sum(t == c)) for c in classes]
    recall = {c: (float(cm[i, i] / n_true[i]) if n_true[i] else float("nan")) for i, c in enumerate(classes)}
    present = [v for v in recall.values() if np.isfinite(v)]
    out: dict[str, Any] = {"n": int(len(t)), "recall": recall, "balanced_accuracy": float(np.mean(present)),
                           "accuracy": float(np.mean(t == p)), "confusion": cm.tolist(), "classes": list(classes),
                           "other": [n - int(row.sum()) for n, row in zip(n_true, cm)]}
    if proba is not None:
        out["ece"] = ece(np.asarray(proba).max(1), t == p)
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error over ``bins`` equal-width confidence bins."""
    conf = np.asarray(confidence, np.float64)
    ok = np.asarray(correct, np.float64)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        sel = idx == b
        if sel.any():
            total += sel.mean() * abs(ok[sel].mean() - conf[sel].mean())
    return float(total)


def cross_validate(X: np.ndarray, labels: Sequence[str], groups: Sequence[str], classes: Sequence[str],
                   blocks: Sequence[str], Cs: Sequence[float], k: int = 5,
                   seed: int = 0, block_weights: dict[str, float] | None = None) -> dict[str, Any]:
    """Out-of-fold probabilities per ``C`` (person-grouped folds); returns ``{"C": best C,
    "proba": its (N, K) out-of-fold probabilities, "scores": {C: balanced accuracy}}``."""
    folds = group_folds(groups, k, seed)
    lab = np.asarray(labels, dtype=object)
    best: dict[str, Any] = {"scores": {}}
    for C in Cs:
        proba = np.zeros((len(lab), len(classes)))
        for f in range(k):
            tr, te = folds != f, folds == f
            head = fit_head(X[tr], lab[tr], classes, blocks, C, block_weights=block_weights)
            proba[te] = head.proba(X[te][:, block_columns(blocks)])
        pred = np.asarray(classes, dtype=object)[proba.argmax(1)]
        ba = class_report(lab, pred, classes)["balanced_accuracy"]
        best["scores"][C] = ba
        if "C" not in best or ba > best["scores"][best["C"]]:
            best.update(C=C, proba=proba)
    best["folds"] = folds
    return best


def slider_cls(intensity: Sequence[float]) -> float:
    """Pearson r of frame index (1..n) and ``intensity``; 0 when the intensity never changes."""
    y = np.asarray(intensity, np.float64)
    if y.max() == y.min():
        return 0.0
    return float(np.corrcoef(np.arange(1, len(y) + 1), y)[0, 1])
