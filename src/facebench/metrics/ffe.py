"""FFE-Bench metrics (PixelSmile paper, seed 001, sec. 3.2): confusion, BCR, mSCR, accuracy,
CLS, HES and ID-similarity aggregation.

Expression names go through :func:`facebench.expressions.normalize_expression` (neutral allowed),
so ``"Surprise"`` and ``"surprised"`` are the same class; an unknown name is a ValueError naming
the argument. A rate over no samples (a class nobody was edited toward, an empty subset) is
``nan`` with an :class:`~facebench.metrics._checks.UndefinedMetricWarning`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, Sequence

import numpy as np
import pandas as pd

from facebench.expressions import CONFUSING_PAIRS, EXPRESSIONS
from facebench.metrics._checks import (
    as_1d_float,
    check_finite,
    clip_to_range,
    check_same_length,
    expression_names,
    label_indices,
    undefined,
)
from facebench.metrics.correlation import plcc, srcc


# --------------------------------------------------------------------------- confusion
@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of (target class, predicted class); rows are targets, columns predictions."""

    labels: tuple[str, ...]
    counts: np.ndarray = field(repr=False)

    def index(self, name: str) -> int:
        """Position of expression ``name`` among the labels (ValueError if absent)."""
        return int(label_indices([name], self.labels, "class")[0])

    def rates(self) -> np.ndarray:
        """Row-normalised matrix: entry (i, j) = C(i -> j); rows without samples are nan."""
        n = self.counts.sum(axis=1, keepdims=True).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.counts / n

    def to_frame(self, normalize: bool = False) -> pd.DataFrame:
        """Tidy table: index = target, columns = predicted (counts, or rates if ``normalize``)."""
        data = self.rates() if normalize else self.counts
        return pd.DataFrame(
            data,
            index=pd.Index(self.labels, name="target"),
            columns=pd.Index(self.labels, name="predicted"),
        )


def confusion_matrix(
    targets: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = EXPRESSIONS
) -> ConfusionMatrix:
    """Confusion counts of edits toward ``targets`` judged as ``predicted`` over ``labels``.

    Every target and prediction must be one of ``labels`` (ValueError naming the value).
    """
    labs = tuple(expression_names(labels, "labels"))
    if len(set(labs)) != len(labs):
        raise ValueError(f"labels has duplicates: {labs}")
    check_same_length("targets", targets, "predicted", predicted)
    t = label_indices(list(targets), labs, "targets")
    p = label_indices(list(predicted), labs, "predicted")
    k = len(labs)
    counts = np.bincount(t * k + p, minlength=k * k).reshape(k, k)
    return ConfusionMatrix(labs, counts)


def directed_confusion(cm: ConfusionMatrix, i: str, j: str, failed: Mapping[str, float] | None = None) -> float:
    """C(i -> j): share of the N_i images edited toward class ``i`` judged as class ``j`` (eq. 1).

    ``failed`` (target -> number of failed edits, e.g. no face left to judge) keeps failures in
    N_i and counts each as confused (judged ``j``): a failure is the worst outcome, never a way
    out of the denominator. Counts may be fractional (ties, :func:`prediction_weights`).
    """
    a, b = cm.index(i), cm.index(j)
    f = float((failed or {}).get(cm.labels[a], 0.0))
    n_i = float(cm.counts[a].sum()) + f
    if n_i == 0:
        return undefined(f"no samples edited toward {cm.labels[a]!r}: C({cm.labels[a]}->{cm.labels[b]}) undefined")
    return (float(cm.counts[a, b]) + f) / n_i


def bcr(cm: ConfusionMatrix, i: str, j: str, failed: Mapping[str, float] | None = None) -> float:
    """Bidirectional confusion rate BCR(i, j) = (C(i -> j) + C(j -> i)) / 2 (eq. 2); symmetric."""
    return 0.5 * (directed_confusion(cm, i, j, failed) + directed_confusion(cm, j, i, failed))


def mscr(cm: ConfusionMatrix, pairs: Sequence[tuple[str, str]] = CONFUSING_PAIRS,
         failed: Mapping[str, float] | None = None) -> float:
    """Mean structural confusion rate: mean BCR over ``pairs`` (default fear-surprised, angry-disgust).

    Lower is better; 0.5 means a pair collapsed into one expression. ``nan`` (with a warning) when
    any pair's BCR is undefined, rather than averaging over fewer pairs than asked for. ``failed``:
    see :func:`directed_confusion` (failed edits count as confused).
    """
    if len(pairs) == 0:
        raise ValueError("pairs is empty")
    values = [bcr(cm, i, j, failed) for i, j in pairs]
    if any(np.isnan(v) for v in values):
        return undefined(f"BCR undefined for some of the pairs {list(pairs)}: mSCR undefined")
    return float(np.mean(values))


def predicted_class(
    scores: Any, labels: Sequence[str], subset: Sequence[str] | None = None
) -> np.ndarray:
    """Predicted class per image = argmax of the judge's scores (N, K) over the ``subset`` evaluated.

    ``labels`` names the K columns; ``subset`` (default: all labels) restricts the argmax, e.g.
    ``BASIC6`` for Acc-6. Ties go to the column that comes first in ``labels`` (a label-order
    bias): benchmark scores use :func:`prediction_weights`, which splits ties evenly.
    """
    arr, labs, cols = _argmax_inputs(scores, labels, subset)
    best = cols[np.argmax(arr[:, cols], axis=1)]
    return np.asarray(labs, dtype=object)[best]


def _argmax_inputs(scores: Any, labels: Sequence[str], subset: Sequence[str] | None):  # noqa: ANN202
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"scores must be 2-D (N images, K classes), got shape {arr.shape}")
    labs = tuple(expression_names(labels, "labels"))
    if arr.shape[1] != len(labs):
        raise ValueError(f"scores has {arr.shape[1]} columns but labels names {len(labs)}")
    check_finite(arr, "scores")
    cols = np.arange(len(labs)) if subset is None else np.unique(label_indices(list(subset), labs, "subset"))
    if cols.size == 0:
        raise ValueError("subset is empty")
    return arr, labs, cols


#: Scores closer than this count as a tie (judge scores are probabilities or 0-1 intensities).
TIE_TOLERANCE = 1e-9


def prediction_weights(scores: Any, labels: Sequence[str], subset: Sequence[str] | None = None) -> np.ndarray:
    """(N, K) share of each image's prediction per label: 1 for the argmax over ``subset``; a tie
    among k labels (scores within :data:`TIE_TOLERANCE` of the maximum) gives each 1/k.

    Tie rule: an even split, the expected outcome of breaking the tie by a fair coin, so no label
    wins ties by its position in ``labels``. Columns outside ``subset`` get 0. Rows sum to 1.
    """
    arr, labs, cols = _argmax_inputs(scores, labels, subset)
    sub = arr[:, cols]
    top = sub >= sub.max(axis=1, keepdims=True) - TIE_TOLERANCE
    w = np.zeros_like(arr)
    w[:, cols] = top / top.sum(axis=1, keepdims=True)
    return w


def accuracy(
    targets: Sequence[str], predicted: Sequence[str], subset: Sequence[str] | None = None
) -> float:
    """Share of edits whose predicted class equals the target, over edits whose target is in
    ``subset`` (Acc-6: ``subset=BASIC6`` with predictions from the 6-way argmax; Acc-12: all 12)."""
    check_same_length("targets", targets, "predicted", predicted)
    t = np.asarray(expression_names(targets, "targets"), dtype=object)
    p = np.asarray(expression_names(predicted, "predicted"), dtype=object)
    if subset is not None:
        keep = np.isin(t, expression_names(subset, "subset"))
        t, p = t[keep], p[keep]
    if t.size == 0:
        return undefined("no edits with a target in the subset: accuracy undefined")
    return float(np.mean(t == p))


def weighted_confusion(targets: Sequence[str], weights: Any, labels: Sequence[str] = EXPRESSIONS) -> ConfusionMatrix:
    """Confusion counts from per-label prediction shares (:func:`prediction_weights`): row = target,
    entry (i, j) = sum of the shares of label j over images edited toward i (fractional on ties)."""
    labs = tuple(expression_names(labels, "labels"))
    w = np.asarray(weights, np.float64).reshape(len(targets), len(labs)) if len(targets) else np.zeros((0, len(labs)))
    t = label_indices(list(targets), labs, "targets")
    counts = np.zeros((len(labs), len(labs)))
    np.add.at(counts, t, w)
    return ConfusionMatrix(labs, counts)


def weighted_accuracy(targets: Sequence[str], weights: Any, labels: Sequence[str], *, n_failed: int = 0) -> float:
    """Accuracy with tie shares and failures: ``(sum over images of the share of its target) /
    (N + n_failed)``; ``n_failed`` edits that could not be judged count as misses."""
    labs = tuple(expression_names(labels, "labels"))
    w = np.asarray(weights, np.float64).reshape(len(targets), len(labs)) if len(targets) else np.zeros((0, len(labs)))
    n = len(targets) + int(n_failed)
    if n == 0:
        return undefined("no edits: accuracy undefined")
    t = label_indices(list(targets), labs, "targets")
    return float(w[np.arange(len(t)), t].sum() / n)


# --------------------------------------------------------------------------- HES, ID Sim
def hes(s_e: Any, s_id: Any) -> np.ndarray | float:
    """Harmonic editing score 2 S_E S_ID / (S_E + S_ID) (eq. 3), elementwise; 0 where both are 0.

    ``s_e`` (judge score of the target expression) must lie in [0, 1]; ``s_id`` (ID similarity, a
    cosine) in [-1, 1] (an overshoot up to 1e-6 from float round-off is clipped). A negative cosine means no identity kept: it is clipped to 0 (a harmonic
    mean of a negative number is meaningless), so HES is then 0. Returns a float for scalars.
    Averaging per-image HES (the usual report) is the caller's choice and should be stated.
    """
    e = np.asarray(s_e, dtype=np.float64)
    i = np.asarray(s_id, dtype=np.float64)
    if e.shape != i.shape:
        raise ValueError(f"shape mismatch: s_e {e.shape} vs s_id {i.shape}")
    check_finite(e, "s_e")
    check_finite(i, "s_id")
    e = clip_to_range(e, "s_e", 0.0, 1.0)
    i = np.clip(clip_to_range(i, "s_id", -1.0, 1.0), 0.0, 1.0)
    den = e + i
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, 2.0 * e * i / np.where(den > 0, den, 1.0), 0.0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class IDSimResult:
    """ID similarity averaged over the configured face recognisers, saying which ones."""

    per_image: np.ndarray = field(repr=False)  # mean cosine over recognisers, per image
    mean: float  # mean over images
    recognisers: tuple[str, ...]
    per_recogniser: dict[str, float]  # mean over images, per recogniser

    def describe(self) -> str:
        """One line for a report, e.g. ``ID Sim 0.6612 (mean of arcface, facenet)``."""
        return f"ID Sim {self.mean:.4f} (mean of {', '.join(self.recognisers)})"


def id_sim_aggregate(similarities: Mapping[str, Any]) -> IDSimResult:
    """Mean ID similarity over recognisers (FFE-Bench averages ArcFace, AdaFace and FaceNet).

    ``similarities`` maps recogniser name -> cosine similarity per image (same length for all).
    The paper's bands (0.6-0.7 natural, > 0.8 copy-paste, < 0.5 identity loss) hold for
    ArcFace-class models only; calibrate other recognisers before quoting them.
    """
    if not similarities:
        raise ValueError("similarities is empty: name at least one recogniser")
    names = tuple(similarities)
    arrays = {}
    for name in names:
        a = as_1d_float(similarities[name], f"similarities[{name!r}]")
        arrays[name] = clip_to_range(a, f"similarities[{name!r}]", -1.0, 1.0)
    first = names[0]
    for name in names[1:]:
        check_same_length(f"similarities[{first!r}]", arrays[first], f"similarities[{name!r}]", arrays[name])
    stack = np.stack([arrays[n] for n in names])
    per_image = stack.mean(axis=0)
    return IDSimResult(
        per_image=per_image,
        mean=float(per_image.mean()),
        recognisers=names,
        per_recogniser={n: float(arrays[n].mean()) for n in names},
    )


# --------------------------------------------------------------------------- CLS
CLSMode = Literal["per_series", "pooled"]


@dataclass(frozen=True)
class CLSResult:
    """Control linearity: correlation between alpha and the judged target-expression intensity."""

    pearson: float  # the CLS
    spearman: float  # reported beside it
    mode: CLSMode
    n_series: int
    n_constant: int  # series whose judged intensity never changed (r counted as 0)
    per_expression: dict[str, tuple[float, float]] = field(default_factory=dict)

    def describe(self) -> str:
        return (
            f"CLS {self.pearson:.4f} (Spearman {self.spearman:.4f}; {self.mode}, "
            f"{self.n_series} series, {self.n_constant} constant)"
        )


def _corr_or_zero(a: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(Pearson, Spearman) of alpha ``a`` and intensity ``y``; (0, 0) when ``y`` never changes."""
    if y.min() == y.max():  # the editor never changed the judged intensity: no linear control
        return 0.0, 0.0
    return plcc(a, y), srcc(a, y)


def _cls_one(
    alphas: np.ndarray, inten: np.ndarray, series: np.ndarray, mode: CLSMode
) -> tuple[float, float, int, int]:
    """(Pearson, Spearman, number of series, number of constant series) for one expression."""
    codes, uniq = pd.factorize(series)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniq) + 1))
    per_series, n_const = [], 0
    for s in range(len(uniq)):
        sel = order[bounds[s] : bounds[s + 1]]
        a, y = alphas[sel], inten[sel]
        if a.min() == a.max():
            raise ValueError(f"series {uniq[s]!r} needs at least 2 distinct alpha values")
        n_const += int(y.min() == y.max())
        if mode == "per_series":
            per_series.append(_corr_or_zero(a, y))
    if mode == "pooled":
        pear, spear = _corr_or_zero(alphas, inten)
    else:
        pear, spear = (float(v) for v in np.mean(per_series, axis=0))
    return pear, spear, len(uniq), n_const


def cls(
    alphas: Any,
    intensities: Any,
    series_ids: Sequence[Any] | None = None,
    mode: CLSMode = "per_series",
    *,
    expressions: Sequence[str] | None = None,
    subset: Sequence[str] | None = None,
) -> CLSResult:
    """Control Linearity Score: Pearson r between the alpha fed to the editor and the judge's
    target-expression intensity (PixelSmile sec. 3.2), with Spearman's rho beside it.

    Modes (the paper does not say which it used):

    - ``"per_series"`` (default): r within each series (one source image and expression swept
      over alpha), then the mean over series. It measures how linear each sweep is, without
      penalising sources whose intensity starts higher or lower. A series whose judged intensity
      never changes has no linear control and counts as r = 0 (``n_constant`` says how many).
    - ``"pooled"``: one r over all (alpha, intensity) pairs of an expression (0 if the judged
      intensity never changes).

    ``series_ids`` (default: one series) labels each pair's sweep. With ``expressions`` (the
    target expression of each pair) CLS is computed per expression and averaged over them
    (CLS-6 / CLS-12 with ``subset=BASIC6`` / all twelve); ``per_expression`` holds the parts.
    """
    if mode not in ("per_series", "pooled"):
        raise ValueError(f"mode must be 'per_series' or 'pooled', got {mode!r}")
    a = as_1d_float(alphas, "alphas")
    y = as_1d_float(intensities, "intensities")
    check_same_length("alphas", a, "intensities", y)
    series = np.zeros(a.size, dtype=np.int64) if series_ids is None else np.asarray(series_ids, dtype=object)
    check_same_length("alphas", a, "series_ids", series)
    if expressions is None:
        if subset is not None:
            raise ValueError("subset needs expressions (the target expression of each pair)")
        p, s, n, k = _cls_one(a, y, series, mode)
        return CLSResult(p, s, mode, n, k)
    check_same_length("alphas", a, "expressions", expressions)
    exprs = np.asarray(expression_names(expressions, "expressions"), dtype=object)
    wanted = sorted(set(exprs)) if subset is None else expression_names(subset, "subset")
    parts: dict[str, tuple[float, float]] = {}
    n_series = n_const = 0
    absent = [e for e in wanted if not (exprs == e).any()]
    if absent:
        nan = undefined(f"no CLS data for {', '.join(absent)}: the mean over {len(wanted)} expressions is undefined")
        return CLSResult(nan, nan, mode, 0, 0)
    for e in wanted:
        sel = exprs == e
        p, s, n, k = _cls_one(a[sel], y[sel], series[sel], mode)
        parts[e] = (p, s)
        n_series += n
        n_const += k
    pear = float(np.mean([v[0] for v in parts.values()]))
    spear = float(np.mean([v[1] for v in parts.values()]))
    return CLSResult(pear, spear, mode, n_series, n_const, parts)
