"""Chunked accumulators give the one-shot results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facebench.expressions import BASIC6
from facebench.metrics import (
    ConfusionAccumulator,
    CorrelationAccumulator,
    MOSAccumulator,
    PearsonAccumulator,
    UndefinedMetricWarning,
    accuracy,
    confusion_matrix,
    correlate,
    mos_table,
    mscr,
    plcc,
)


def _chunks(n: int, rng: np.random.Generator) -> list[slice]:
    cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
    edges = [0, *cuts.tolist(), n]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def test_confusion_accumulator() -> None:
    rng = np.random.default_rng(0)
    t = rng.choice(BASIC6, 300).tolist()
    p = [x if rng.random() < 0.6 else rng.choice(BASIC6) for x in t]
    acc = ConfusionAccumulator(BASIC6)
    for sl in _chunks(300, rng):
        acc.update(t[sl], p[sl])
    one = confusion_matrix(t, p, BASIC6)
    assert (acc.compute().counts == one.counts).all()
    assert acc.accuracy() == accuracy(t, p)
    assert acc.accuracy(["fear", "sad"]) == accuracy(t, p, subset=["fear", "sad"])
    assert acc.mscr() == mscr(one)
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(ConfusionAccumulator(BASIC6).accuracy())


def test_pearson_accumulator_is_exact_and_stable() -> None:
    rng = np.random.default_rng(1)
    x = 1e6 + rng.normal(size=5000)  # a large offset defeats naive sum-of-squares formulas
    y = 3e5 + 0.4 * (x - 1e6) + rng.normal(size=5000)
    acc = PearsonAccumulator()
    for sl in _chunks(5000, rng):
        acc.update(x[sl], y[sl])
    acc.update([], [])
    assert acc.n == 5000
    # merged co-moments stay within 1e-10 of the two-pass value (which is exact to the last bit
    # here); the one-pass textbook formula n sum xy - sum x sum y is off by about 1e-5
    assert abs(acc.compute() - plcc(x, y)) < 1e-10
    plain = PearsonAccumulator()
    for sl in _chunks(5000, rng):
        plain.update(x[sl] - 1e6, y[sl] - 3e5)
    assert abs(plain.compute() - plcc(x - 1e6, y - 3e5)) < 1e-12
    with pytest.warns(UndefinedMetricWarning, match="at least 2 pairs"):
        assert np.isnan(PearsonAccumulator().compute())
    with pytest.raises(ValueError, match="x contains 1 NaN/inf"):
        acc.update([np.nan], [1.0])


def test_correlation_accumulator() -> None:
    rng = np.random.default_rng(2)
    x = np.round(rng.normal(size=800), 1)
    y = x + rng.normal(size=800)
    acc = CorrelationAccumulator()
    for sl in _chunks(800, rng):
        acc.update(x[sl], y[sl])
    assert acc.n == 800
    assert acc.compute() == correlate(x, y)
    with pytest.raises(ValueError, match="no data"):
        CorrelationAccumulator().compute()


def test_mos_accumulator_matches_mos_table() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    ratings = pd.DataFrame(
        {
            "subject": rng.integers(0, 25, n),  # integer subject ids keep their type
            "item": [f"img{k:02d}" for k in rng.integers(0, 60, n)],
            "group": np.where(rng.random(n) < 0.5, "g1", "g2"),
            "dimension": rng.choice(["quality", "authenticity"], n),
            "score": np.round(rng.uniform(0, 5, n), 2),
        }
    )
    # an item must sit in one group: derive the group from the item
    ratings["group"] = np.where(ratings.item.str[-1].astype(int) % 2 == 0, "g1", "g2")
    acc = MOSAccumulator()
    for sl in _chunks(n, rng):
        acc.update(ratings.iloc[sl])
    assert acc.n == n
    pd.testing.assert_frame_equal(acc.compute(reject_share=0.02), mos_table(ratings, reject_share=0.02))
    with pytest.raises(ValueError, match="every chunk must have a group column, or none"):
        acc.update(ratings.drop(columns="group").iloc[:5])
    with pytest.raises(ValueError, match="no ratings"):
        MOSAccumulator().compute()
