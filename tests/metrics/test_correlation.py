"""SRCC / KRCC / PLCC against scipy.stats, logistic fits, bootstrap CIs and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from facebench.metrics import (
    UndefinedMetricWarning,
    bootstrap_ci,
    correlate,
    fit_logistic,
    krcc,
    logistic4,
    logistic5,
    plcc,
    plcc_fitted,
    rank_average,
    srcc,
)


def _data(seed: int, n: int, ties: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = 0.6 * x + rng.normal(size=n)
    if ties == "few":  # two-decimal scores as on F-Bench's 0-5 slider
        x, y = np.round(x, 2), np.round(y, 2)
    elif ties == "heavy":  # 5-point scales on both sides
        x, y = np.round(x * 1.2), np.round(y)
    elif ties == "one_side":
        y = np.round(y)
    return x, y


@pytest.mark.parametrize("ties", ["none", "few", "heavy", "one_side"])
@pytest.mark.parametrize("n,seed", [(2, 1), (3, 2), (7, 3), (50, 4), (1000, 5), (20000, 6)])
def test_agrees_with_scipy(n: int, seed: int, ties: str) -> None:
    x, y = _data(seed, n, ties)
    if x.min() == x.max() or y.min() == y.max():
        pytest.skip("drew a constant sample")
    assert abs(srcc(x, y) - stats.spearmanr(x, y)[0]) < 1e-12
    assert abs(krcc(x, y) - stats.kendalltau(x, y, variant="b")[0]) < 1e-12
    assert abs(plcc(x, y) - stats.pearsonr(x, y)[0]) < 1e-12


def test_agrees_with_scipy_on_perfect_and_reversed_order() -> None:
    x = np.arange(100.0)
    for y, sign in ((x**3, 1.0), (-np.exp(x / 30), -1.0)):
        assert srcc(x, y) == pytest.approx(sign, abs=1e-15)
        assert krcc(x, y) == pytest.approx(sign, abs=1e-15)
        assert abs(krcc(x, y) - stats.kendalltau(x, y)[0]) < 1e-12


def test_fbench_closed_forms_without_ties() -> None:
    """F-Bench eq. 8 (1 - 6 sum d^2 / (N(N^2-1))) and eq. 10 (2(C-D)/(N(N-1))) by brute force."""
    rng = np.random.default_rng(11)
    x, y = rng.normal(size=40), rng.normal(size=40)
    d = rank_average(x) - rank_average(y)
    n = x.size
    assert srcc(x, y) == pytest.approx(1 - 6 * (d @ d) / (n * (n * n - 1)), abs=1e-12)
    sign = np.sign(np.subtract.outer(x, x)) * np.sign(np.subtract.outer(y, y))
    c_minus_d = np.triu(sign, 1).sum()
    assert krcc(x, y) == pytest.approx(2 * c_minus_d / (n * (n - 1)), abs=1e-12)


def test_rank_average_gives_ties_their_mean_rank() -> None:
    assert rank_average(np.array([10.0, 20.0, 10.0, 5.0, 20.0, 20.0])).tolist() == [2.5, 5.0, 2.5, 1.0, 5.0, 5.0]


# scores on a 1/16 grid: plenty of ties, and no two values a monotone transform could merge
finite = st.integers(-(10**6), 10**6).map(lambda k: k / 16)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=3, max_size=40), st.randoms(use_true_random=False))
def test_properties_order_invariance_bounds_symmetry(pairs: list[tuple[float, float]], rnd) -> None:
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return
    perm = np.array(rnd.sample(range(x.size), x.size))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for fn in (srcc, krcc, plcc):
            r = fn(x, y)
            if np.isnan(r):  # only plcc, for a sample with vanishing spread after centring
                continue
            assert -1.0 <= r <= 1.0
            assert fn(x[perm], y[perm]) == pytest.approx(r, abs=1e-9)
            assert fn(y, x) == pytest.approx(r, abs=1e-9)
        # rank correlations ignore any strictly increasing transform
        assert srcc(np.arctan(x / 1e5), y) == pytest.approx(srcc(x, y), abs=1e-12)
        assert krcc(x, -y) == pytest.approx(-krcc(x, y), abs=1e-12)


# --------------------------------------------------------------------------- logistic
def test_logistic5_fit_recovers_a_known_mapping() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 800)
    truth = (60.0, 9.0, 0.5, 5.0, 50.0)
    y = logistic5(x, *truth) + rng.normal(0, 1.0, x.size)
    fit = fit_logistic(x, y, params=5)
    assert fit is not None and fit.kind == "logistic5"
    grid = np.linspace(0, 1, 50)
    assert np.abs(fit(grid) - logistic5(grid, *truth)).max() < 1.5
    assert np.allclose(fit(grid), logistic5(grid, *fit.params))
    raw, fitted = plcc(x, y), plcc_fitted(x, y, 5)
    assert fitted > raw  # the mapping straightens the S-curve
    assert fitted == pytest.approx(plcc(logistic5(x, *truth), y), abs=2e-3)


def test_logistic4_fit_on_a_decreasing_relation() -> None:
    rng = np.random.default_rng(4)
    x = rng.uniform(-3, 3, 500)
    truth = (1.0, 5.0, 0.3, 0.7)  # b1 < b2: decreasing
    y = logistic4(x, *truth) + rng.normal(0, 0.1, x.size)
    fit = fit_logistic(x, y, params=4)
    assert fit is not None
    grid = np.linspace(-3, 3, 40)
    assert np.abs(fit(grid) - logistic4(grid, *truth)).max() < 0.2
    assert plcc_fitted(x, y, 4) > abs(plcc(x, y))


def test_fit_logistic_rejects_bad_params() -> None:
    with pytest.raises(ValueError, match="params must be 4 or 5"):
        fit_logistic([1, 2, 3], [1, 2, 3], params=3)


# --------------------------------------------------------------------------- bootstrap / correlate
def test_bootstrap_ci_covers_the_population_value() -> None:
    rng = np.random.default_rng(5)
    rho = 0.6
    cov = [[1, rho], [rho, 1]]
    xy = rng.multivariate_normal([0, 0], cov, size=400)
    ci = bootstrap_ci(plcc, xy[:, 0], xy[:, 1], n_boot=400, seed=1)
    assert ci.low < ci.estimate < ci.high
    assert ci.low < rho < ci.high
    assert ci.n_valid == 400 and ci.level == 0.95
    again = bootstrap_ci(plcc, xy[:, 0], xy[:, 1], n_boot=400, seed=1)
    assert (again.low, again.high) == (ci.low, ci.high)  # seeded
    wider = bootstrap_ci(plcc, xy[:, 0], xy[:, 1], n_boot=400, seed=1, level=0.99)
    assert wider.low <= ci.low and wider.high >= ci.high


def test_correlate_returns_every_column_of_a_report_row() -> None:
    x, y = _data(7, 300, "few")
    row = correlate(x, y, n_boot=50)
    assert row["n"] == 300 and row["reason"] is None
    assert row["srcc"] == srcc(x, y) and row["krcc"] == krcc(x, y) and row["plcc"] == plcc(x, y)
    assert row["plcc_logistic4"] == plcc_fitted(x, y, 4)
    assert row["plcc_logistic5"] == plcc_fitted(x, y, 5)
    for k in ("srcc", "krcc", "plcc"):
        assert row[f"{k}_ci_low"] < row[k] < row[f"{k}_ci_high"]


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("fn", [srcc, krcc, plcc, plcc_fitted])
def test_bad_input_raises_with_the_argument_named(fn) -> None:
    with pytest.raises(ValueError, match="length mismatch: x has 3 values, y has 2"):
        fn([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match=r"y contains 1 NaN/inf value\(s\) \(first at index 1\)"):
        fn([1, 2, 3], [1, np.nan, 3])
    with pytest.raises(ValueError, match="x contains 1 NaN/inf"):
        fn([1, np.inf, 3], [1, 2, 3])
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="x must be 1-D"):
        fn(np.ones((2, 2)), [1, 2, 3, 4])
    with pytest.raises(ValueError, match="nan_policy"):
        fn([1, 2, 3], [1, 2, 3], nan_policy="propagate")


@pytest.mark.parametrize("fn", [srcc, krcc, plcc, plcc_fitted])
def test_constant_or_tiny_input_is_nan_with_a_reason(fn) -> None:
    with pytest.warns(UndefinedMetricWarning, match="x is constant"):
        assert np.isnan(fn([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]))
    with pytest.warns(UndefinedMetricWarning, match="y is constant"):
        assert np.isnan(fn([1.0, 2.0, 3.0], [5.0, 5.0, 5.0]))
    with pytest.warns(UndefinedMetricWarning, match="at least 2 pairs, got 1"):
        assert np.isnan(fn([1.0], [1.0]))


def test_nan_policy_omit_drops_incomplete_pairs() -> None:
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0, 3.0])
    y = np.array([2.0, 1.0, 7.0, np.inf, 6.0, 4.0])
    keep = np.isfinite(x) & np.isfinite(y)
    for fn in (srcc, krcc, plcc):
        assert fn(x, y, nan_policy="omit") == fn(x[keep], y[keep])
    with pytest.warns(UndefinedMetricWarning, match="constant"):
        row = correlate([1.0, np.nan, 1.0], [1.0, 2.0, 3.0], nan_policy="omit")
    assert np.isnan(row["srcc"]) and "constant" in row["reason"]
