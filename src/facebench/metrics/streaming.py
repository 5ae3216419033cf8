"""Accumulators for data that arrives in chunks: ``update(...)`` any number of times, then
``compute()``. Each gives the same result as the one-shot function on the concatenated data.

- :class:`ConfusionAccumulator`: confusion counts (O(K^2) memory), accuracy, BCR, mSCR.
- :class:`PearsonAccumulator`: exact streaming Pearson r from merged moments (Chan, Golub &
  LeVeque 1979 pairwise update), O(1) memory.
- :class:`CorrelationAccumulator`: SRCC / KRCC need every pair, so it keeps the values (as
  compact float64 chunks) and runs :func:`~facebench.metrics.correlation.correlate` at the end.
- :class:`MOSAccumulator`: BT.500 screening and per-subject z-scores need two passes over the
  ratings, so it keeps them as integer codes plus a float score (about 24 bytes a rating instead
  of a DataFrame of strings) and runs the :func:`~facebench.metrics.mos.mos_table` pipeline.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from facebench.expressions import CONFUSING_PAIRS, EXPRESSIONS
from facebench.metrics import ffe
from facebench.metrics._checks import as_1d_float, as_vector, check_same_length, undefined
from facebench.metrics.correlation import NanPolicy, correlate
from facebench.metrics.mos import mos_table


class ConfusionAccumulator:
    """Running confusion counts over ``labels``; ``compute()`` gives a :class:`ffe.ConfusionMatrix`."""

    def __init__(self, labels: Sequence[str] = EXPRESSIONS) -> None:
        self._cm = ffe.confusion_matrix([], [], labels)

    def update(self, targets: Sequence[str], predicted: Sequence[str]) -> None:
        part = ffe.confusion_matrix(targets, predicted, self._cm.labels)
        self._cm = ffe.ConfusionMatrix(self._cm.labels, self._cm.counts + part.counts)

    def compute(self) -> ffe.ConfusionMatrix:
        return self._cm

    def accuracy(self, subset: Sequence[str] | None = None) -> float:
        """Accuracy over edits whose target is in ``subset`` (from the counts so far)."""
        labs = self._cm.labels
        idx = np.arange(len(labs)) if subset is None else np.unique(
            [self._cm.index(s) for s in subset]
        )
        counts = self._cm.counts[idx]
        total = int(counts.sum())
        if total == 0:
            return undefined("no edits with a target in the subset: accuracy undefined")
        return float(counts[np.arange(idx.size), idx].sum()) / total

    def mscr(self, pairs: Sequence[tuple[str, str]] = CONFUSING_PAIRS) -> float:
        return ffe.mscr(self._cm, pairs)


class PearsonAccumulator:
    """Exact Pearson r over chunks via merged (n, means, co-moments); no values kept."""

    def __init__(self) -> None:
        self.n = 0
        self._mx = self._my = 0.0
        self._sxx = self._syy = self._sxy = 0.0

    def update(self, x: Any, y: Any) -> None:
        xa = as_1d_float(x, "x", allow_empty=True)
        ya = as_1d_float(y, "y", allow_empty=True)
        check_same_length("x", xa, "y", ya)
        m = xa.size
        if m == 0:
            return
        mx, my = float(xa.mean()), float(ya.mean())
        dx, dy = xa - mx, ya - my
        sxx, syy, sxy = float(dx @ dx), float(dy @ dy), float(dx @ dy)
        n = self.n
        tot = n + m
        ddx, ddy = mx - self._mx, my - self._my
        self._sxx += sxx + ddx * ddx * n * m / tot
        self._syy += syy + ddy * ddy * n * m / tot
        self._sxy += sxy + ddx * ddy * n * m / tot
        self._mx += ddx * m / tot
        self._my += ddy * m / tot
        self.n = tot

    def compute(self) -> float:
        if self.n < 2:
            return undefined(f"correlation needs at least 2 pairs, got {self.n}")
        if self._sxx == 0 or self._syy == 0:
            return undefined("x or y is constant: correlation undefined")
        r = self._sxy / (math.sqrt(self._sxx) * math.sqrt(self._syy))
        return max(-1.0, min(1.0, r))


class CorrelationAccumulator:
    """Keeps the (x, y) pairs in chunks; ``compute()`` returns :func:`correlate`'s dict."""

    def __init__(self) -> None:
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []

    def update(self, x: Any, y: Any) -> None:
        xa, ya = as_vector(x, "x"), as_vector(y, "y")
        check_same_length("x", xa, "y", ya)
        self._x.append(xa)
        self._y.append(ya)

    @property
    def n(self) -> int:
        return sum(a.size for a in self._x)

    def compute(self, *, nan_policy: NanPolicy = "raise", **kwargs: Any) -> dict[str, Any]:
        if not self._x:
            raise ValueError("no data: call update() before compute()")
        return correlate(np.concatenate(self._x), np.concatenate(self._y), nan_policy=nan_policy, **kwargs)


class MOSAccumulator:
    """Collects raw ratings chunk by chunk; ``compute(**kw)`` equals ``mos_table(all, **kw)``."""

    _COLUMNS = ("subject", "item", "group", "dimension")

    def __init__(self) -> None:
        self._labels: dict[str, dict[Any, int]] = {c: {} for c in self._COLUMNS}
        self._codes: dict[str, list[np.ndarray]] = {c: [] for c in self._COLUMNS}
        self._scores: list[np.ndarray] = []
        self._has_group: bool | None = None

    def update(self, ratings: pd.DataFrame) -> None:
        """Add a chunk of ratings (columns subject, item, [group,] dimension, score)."""
        has_group = "group" in ratings.columns
        if self._has_group is None:
            self._has_group = has_group
        elif has_group != self._has_group:
            raise ValueError("every chunk must have a group column, or none")
        # validate the chunk with the one-shot pipeline's checks (missing columns, bad scores)
        missing = [c for c in ("subject", "item", "dimension", "score") if c not in ratings.columns]
        if missing:
            raise ValueError(f"ratings lack column(s) {', '.join(missing)}")
        score = pd.to_numeric(ratings["score"], errors="coerce").to_numpy(dtype=np.float64)
        as_1d_float(score, "ratings.score", allow_empty=True)
        for col in self._COLUMNS:
            if col == "group" and not has_group:
                continue
            codes, uniques = pd.factorize(ratings[col])
            if (codes < 0).any():
                raise ValueError(f"ratings.{col} has missing value(s)")
            table = self._labels[col]
            remap = np.fromiter((table.setdefault(u, len(table)) for u in uniques), dtype=np.int64, count=len(uniques))
            self._codes[col].append(remap[codes].astype(np.int32))
        self._scores.append(score)

    @property
    def n(self) -> int:
        return sum(s.size for s in self._scores)

    def compute(self, **kwargs: Any) -> pd.DataFrame:
        """:func:`mos_table` over all ratings so far (same keyword arguments)."""
        if not self._scores:
            raise ValueError("no ratings: call update() before compute()")
        data: dict[str, Any] = {}
        for col in self._COLUMNS:
            if col == "group" and not self._has_group:
                continue
            labels = pd.Index(list(self._labels[col]))
            data[col] = labels.take(np.concatenate(self._codes[col])).to_numpy()
        data["score"] = np.concatenate(self._scores)
        return mos_table(pd.DataFrame(data), **kwargs)
