"""Correlation between objective scores and MOS, as reported by F-Bench (seed 002, appendix D).

- SRCC: Spearman's rho = Pearson correlation of the average ranks (ties get the mean of the ranks
  they span; equal to F-Bench eq. 8, ``1 - 6 sum d^2 / (N (N^2 - 1))``, when there are no ties).
- KRCC: Kendall's tau-b = (P - Q) / sqrt((n0 - n1)(n0 - n2)), n0 = N(N-1)/2, n1/n2 the pairs
  tied in x / y (F-Bench eq. 10 is tau-a; tau-b equals it when there are no ties), by scipy.
- PLCC: Pearson's r (F-Bench eq. 9), raw, or after the monotonic logistic mapping of the IQA
  convention (VQEG FR-TV Phase II 4-parameter, Sheikh et al. 2006 5-parameter); every table
  says which (:func:`correlate` returns both).
- Percentile bootstrap confidence intervals over resampled pairs.

Bad input: NaN/inf (unless ``nan_policy="omit"``), length mismatch or empty input raise
``ValueError`` naming the argument; a constant input or fewer than 2 pairs returns ``nan`` with an
:class:`~facebench.metrics._checks.UndefinedMetricWarning` giving the reason.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Literal

import numpy as np
from scipy import optimize, special, stats

from facebench.metrics._checks import (
    UndefinedMetricWarning,
    as_vector,
    check_finite,
    check_same_length,
    undefined,
)

NanPolicy = Literal["raise", "omit"]


# --------------------------------------------------------------------------- input handling
def _pair(x: Any, y: Any, nan_policy: NanPolicy) -> tuple[np.ndarray, np.ndarray] | str:
    """Validated float64 copies of ``x, y``, or the reason the correlation is undefined."""
    if nan_policy not in ("raise", "omit"):
        raise ValueError(f"nan_policy must be 'raise' or 'omit', got {nan_policy!r}")
    xa, ya = as_vector(x, "x"), as_vector(y, "y")
    check_same_length("x", xa, "y", ya)
    if xa.size == 0:
        raise ValueError("x and y are empty")
    if nan_policy == "omit":
        keep = np.isfinite(xa) & np.isfinite(ya)
        xa, ya = xa[keep], ya[keep]
    # NaN or inf shows in the extremes (which the constant check needs anyway): one pass over
    # each input instead of isfinite's two; check_finite then says where
    ranges = [(name, a, a.min(), a.max()) for name, a in (("x", xa), ("y", ya))]
    for name, a, lo, hi in ranges:
        if nan_policy == "raise" and not (math.isfinite(lo) and math.isfinite(hi)):
            check_finite(a, name)
    if xa.size < 2:
        return f"correlation needs at least 2 pairs, got {xa.size}"
    for name, a, lo, hi in ranges:
        if lo == hi:
            return f"{name} is constant (all {a.size} values equal {float(a[0])!r}): correlation undefined"
    return xa, ya


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    xm = x - x.mean()
    ym = y - y.mean()
    denom = math.sqrt(float(xm @ xm)) * math.sqrt(float(ym @ ym))
    if denom == 0.0:
        return undefined("zero variance after centring: correlation undefined", stacklevel=4)
    return max(-1.0, min(1.0, float(xm @ ym) / denom))


# --------------------------------------------------------------------------- ranks
def _run_starts(sorted_values: np.ndarray) -> np.ndarray:
    """True where a sorted array starts a run of equal values."""
    new = np.empty(sorted_values.size, dtype=bool)
    new[:1] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=new[1:])
    return new


def rank_average(a: np.ndarray) -> np.ndarray:
    """1-based ranks of ``a``; tied values get the average of the ranks they span."""
    a = np.asarray(a)
    order = np.argsort(a, kind="quicksort")
    new = _run_starts(a[order])
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], a.size)
    avg = (starts + ends + 1) / 2.0  # a run covers ranks starts+1 .. ends
    ranks = np.empty(a.size, dtype=np.float64)
    ranks[order] = avg[np.cumsum(new) - 1]
    return ranks


def plcc(x: Any, y: Any, *, nan_policy: NanPolicy = "raise") -> float:
    """Pearson linear correlation (F-Bench eq. 9): cov(x, y) / (sd(x) sd(y)), no mapping applied."""
    pair = _pair(x, y, nan_policy)
    if isinstance(pair, str):
        return undefined(pair)
    return _pearson(*pair)


def srcc(x: Any, y: Any, *, nan_policy: NanPolicy = "raise") -> float:
    """Spearman rank correlation: Pearson's r of the average ranks of ``x`` and ``y``.

    Without ties this equals F-Bench eq. 8, ``1 - 6 sum (v_n - p_n)^2 / (N (N^2 - 1))``.
    """
    pair = _pair(x, y, nan_policy)
    if isinstance(pair, str):
        return undefined(pair)
    xa, ya = pair
    return _pearson(rank_average(xa), rank_average(ya))


def krcc(x: Any, y: Any, *, nan_policy: NanPolicy = "raise") -> float:
    """Kendall's tau-b: (n0 - n1 - n2 + n3 - 2 D) / sqrt((n0 - n1)(n0 - n2)).

    n0 = N(N-1)/2 pairs, n1 / n2 pairs tied in x / y, n3 pairs tied in both, D discordant pairs;
    equal to F-Bench eq. 10, 2(C - D) / (N(N - 1)), when there are no ties. Computed by
    ``scipy.stats.kendalltau(variant="b")`` (O(N log N); ``benchmarks/bench_metrics.py``: faster
    than the hand-written merge count it replaced, same values) after facebench's input checks.
    """
    pair = _pair(x, y, nan_policy)
    if isinstance(pair, str):
        return undefined(pair)
    xa, ya = pair
    tau = float(stats.kendalltau(xa, ya, variant="b").statistic)
    return max(-1.0, min(1.0, tau))


# --------------------------------------------------------------------------- logistic mapping
def logistic4(x: Any, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VQEG FR-TV Phase II 4-parameter logistic: (b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2."""
    x = np.asarray(x, dtype=np.float64)
    return (b1 - b2) * special.expit((x - b3) / abs(b4)) + b2


def logistic5(x: Any, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    """Sheikh et al. (2006) 5-parameter logistic: b1 (1/2 - 1/(1 + exp(b2 (x - b3)))) + b4 x + b5.

    With ``b4 != 0`` the map need not be monotonic; the IQA convention accepts this.
    """
    x = np.asarray(x, dtype=np.float64)
    return b1 * (0.5 - special.expit(-b2 * (x - b3))) + b4 * x + b5


def _jac4(t: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    s = abs(b4) if b4 != 0 else 1e-12
    u = (t - b3) / s
    e = special.expit(u)
    de = e * (1 - e)
    return np.stack(
        [e, 1 - e, -(b1 - b2) * de / s, -(b1 - b2) * de * u / s * np.sign(b4 or 1.0)], axis=1
    )


def _jac5(t: np.ndarray, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    e = special.expit(-b2 * (t - b3))
    de = e * (1 - e)
    return np.stack(
        [0.5 - e, b1 * de * (t - b3), -b1 * de * b2, t, np.ones_like(t)], axis=1
    )


@dataclass(frozen=True)
class LogisticFit:
    """A fitted logistic map from objective scores to the MOS scale.

    ``params`` are in the original units of x and y, so ``logistic4/5(x, *params) == fit(x)``.
    """

    kind: Literal["logistic4", "logistic5"]
    params: tuple[float, ...]

    def __call__(self, x: Any) -> np.ndarray:
        fn = logistic4 if self.kind == "logistic4" else logistic5
        return fn(x, *self.params)


def fit_logistic(x: Any, y: Any, params: int = 5) -> LogisticFit | None:
    """Least-squares fit of the 4- or 5-parameter logistic mapping ``x`` (objective) to ``y`` (MOS).

    The fit runs on standardised x and y (Levenberg-Marquardt, analytic Jacobian) and the
    parameters are transformed back. Returns ``None`` when the optimiser does not converge.
    """
    if params not in (4, 5):
        raise ValueError(f"params must be 4 or 5, got {params!r}")
    pair = _pair(x, y, "raise")
    if isinstance(pair, str):
        raise ValueError(f"cannot fit a logistic: {pair}")
    xa, ya = pair
    mx, sx = float(xa.mean()), float(xa.std())
    my, sy = float(ya.mean()), float(ya.std())
    t, u = (xa - mx) / sx, (ya - my) / sy
    sign = 1.0 if float(t @ u) >= 0 else -1.0
    if params == 4:
        f, jac = logistic4, _jac4
        p0 = [u.max(), u.min()] if sign > 0 else [u.min(), u.max()]
        p0 += [0.0, 1.0]
    else:
        f, jac = logistic5, _jac5
        p0 = [sign * (u.max() - u.min()), 1.0, 0.0, 0.0, 0.0]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            p, _ = optimize.curve_fit(f, t, u, p0=p0, jac=jac, maxfev=20000)
    except (RuntimeError, ValueError, np.linalg.LinAlgError):
        return None
    if not np.all(np.isfinite(p)):
        return None
    if params == 4:
        b1, b2, b3, b4 = p
        orig = (my + sy * b1, my + sy * b2, mx + sx * b3, sx * abs(b4))
    else:
        b1, b2, b3, b4, b5 = p
        orig = (sy * b1, b2 / sx, mx + sx * b3, sy * b4 / sx, my + sy * (b5 - b4 * mx / sx))
    return LogisticFit("logistic4" if params == 4 else "logistic5", tuple(float(v) for v in orig))


def plcc_fitted(x: Any, y: Any, params: int = 5, *, nan_policy: NanPolicy = "raise") -> float:
    """PLCC between ``fit(x)`` and ``y`` after :func:`fit_logistic` with ``params`` parameters.

    ``nan`` with a warning when the correlation is undefined or the fit does not converge.
    """
    pair = _pair(x, y, nan_policy)
    if isinstance(pair, str):
        return undefined(pair)
    xa, ya = pair
    fit = fit_logistic(xa, ya, params)
    if fit is None:
        return undefined(f"{params}-parameter logistic fit did not converge")
    mapped = fit(xa)
    if mapped.min() == mapped.max():
        return undefined(f"{params}-parameter logistic fit is constant: PLCC undefined")
    return _pearson(mapped, ya)


# --------------------------------------------------------------------------- bootstrap
@dataclass(frozen=True)
class BootstrapCI:
    """Percentile bootstrap interval of a paired statistic."""

    estimate: float
    low: float
    high: float
    level: float
    n_boot: int
    n_valid: int  # resamples for which the statistic was defined


def bootstrap_ci(
    stat_fn: Callable[[np.ndarray, np.ndarray], float],
    x: Any,
    y: Any,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> BootstrapCI:
    """Percentile bootstrap CI of ``stat_fn(x, y)``: resample the N pairs with replacement.

    The interval is the ((1 - level)/2, (1 + level)/2) quantiles of the resampled statistic.
    Resamples where the statistic is undefined (e.g. a constant resample) are left out and
    counted (``n_valid``); if fewer than half are defined, low/high are ``nan`` with a warning.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot!r}")
    pair = _pair(x, y, "raise")
    if isinstance(pair, str):
        nan = undefined(pair)
        return BootstrapCI(nan, nan, nan, level, int(n_boot), 0)
    xa, ya = pair
    estimate = float(stat_fn(xa, ya))
    rng = np.random.default_rng(seed)
    stats = np.empty(int(n_boot))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        for k in range(int(n_boot)):
            i = rng.integers(0, xa.size, xa.size)
            stats[k] = stat_fn(xa[i], ya[i])
    valid = stats[np.isfinite(stats)]
    if valid.size < max(1, n_boot // 2):
        nan = undefined(f"statistic undefined in {n_boot - valid.size} of {n_boot} resamples")
        return BootstrapCI(estimate, nan, nan, level, int(n_boot), int(valid.size))
    alpha = (1.0 - level) / 2.0
    low, high = np.quantile(valid, [alpha, 1.0 - alpha])
    return BootstrapCI(estimate, float(low), float(high), level, int(n_boot), int(valid.size))


# --------------------------------------------------------------------------- report row
def correlate(
    x: Any,
    y: Any,
    *,
    fitted: bool = True,
    n_boot: int = 0,
    level: float = 0.95,
    seed: int = 0,
    nan_policy: NanPolicy = "raise",
) -> dict[str, Any]:
    """All the F-Bench correlations of objective scores ``x`` against MOS ``y``, for one table row.

    Keys: ``n``, ``srcc``, ``krcc``, ``plcc`` (raw), and with ``fitted`` ``plcc_logistic4`` and
    ``plcc_logistic5``; with ``n_boot > 0`` also ``<name>_ci_low`` / ``<name>_ci_high`` for srcc,
    krcc and plcc; ``reason`` is ``None`` or why the correlations are ``nan``.
    """
    pair = _pair(x, y, nan_policy)
    out: dict[str, Any] = {"n": 0, "srcc": math.nan, "krcc": math.nan, "plcc": math.nan}
    if fitted:
        out.update(plcc_logistic4=math.nan, plcc_logistic5=math.nan)
    if isinstance(pair, str):
        undefined(pair)
        out["reason"] = pair
        if n_boot:
            for name in ("srcc", "krcc", "plcc"):
                out[f"{name}_ci_low"] = out[f"{name}_ci_high"] = math.nan
        return out
    xa, ya = pair
    out["n"] = int(xa.size)
    out["srcc"], out["krcc"], out["plcc"] = srcc(xa, ya), krcc(xa, ya), plcc(xa, ya)
    if fitted:
        out["plcc_logistic4"] = plcc_fitted(xa, ya, 4)
        out["plcc_logistic5"] = plcc_fitted(xa, ya, 5)
    if n_boot:
        for name, fn in (("srcc", srcc), ("krcc", krcc), ("plcc", plcc)):
            ci = bootstrap_ci(fn, xa, ya, n_boot=n_boot, level=level, seed=seed)
            out[f"{name}_ci_low"], out[f"{name}_ci_high"] = ci.low, ci.high
    out["reason"] = None
    return out
