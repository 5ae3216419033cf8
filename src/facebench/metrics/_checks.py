"""Input validation shared by every metric (one place, so every metric fails the same way).

Conventions used across :mod:`facebench.metrics`:

- Malformed input (NaN/inf, length mismatch, empty input, wrong shape, unknown names, values out of
  range) raises :class:`ValueError` whose message names the argument and says what is wrong.
- Well-formed input for which the metric is mathematically undefined (constant input to a
  correlation, a class with no samples, an empty group) returns ``nan`` and emits an
  :class:`UndefinedMetricWarning` whose message gives the reason.
"""

from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence, Sized

import numpy as np

from facebench.expressions import normalize_expression


class UndefinedMetricWarning(RuntimeWarning):
    """A metric is undefined for this (valid) input; the value returned is ``nan``."""


def undefined(reason: str, *, stacklevel: int = 3) -> float:
    """Warn with ``reason`` (an :class:`UndefinedMetricWarning`) and return ``nan``."""
    warnings.warn(reason, UndefinedMetricWarning, stacklevel=stacklevel)
    return float("nan")


def as_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array (NaN/inf kept); ValueError naming ``name`` otherwise."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    return arr.ravel()


def as_1d_float(values: Any, name: str, *, allow_empty: bool = False) -> np.ndarray:
    """``values`` as a 1-D float64 array; ValueError if it is not 1-D, is empty or holds NaN/inf."""
    arr = as_vector(values, name)
    if arr.size == 0 and not allow_empty:
        raise ValueError(f"{name} is empty")
    check_finite(arr, name)
    return arr


def check_finite(arr: np.ndarray, name: str) -> None:
    """ValueError naming ``name``, the number of NaN/inf values and the first index, if any."""
    bad = ~np.isfinite(arr)
    if bad.any():
        first = np.unravel_index(int(np.argmax(bad)), arr.shape)
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} contains {int(bad.sum())} NaN/inf value(s) (first at index {where})"
        )


def check_same_length(name_a: str, a: Sized, name_b: str, b: Sized) -> None:
    """ValueError if ``a`` and ``b`` differ in length."""
    if len(a) != len(b):
        raise ValueError(f"length mismatch: {name_a} has {len(a)} values, {name_b} has {len(b)}")


def check_range(arr: np.ndarray, name: str, low: float, high: float, tol: float = 0.0) -> None:
    """ValueError naming ``name`` if any value lies outside ``[low - tol, high + tol]``."""
    bad = (arr < low - tol) | (arr > high + tol)
    if bad.any():
        idx = int(np.argmax(bad.ravel()))
        raise ValueError(
            f"{name} must lie in [{low}, {high}]; {int(bad.sum())} value(s) do not "
            f"(first: {float(arr.ravel()[idx])!r} at flat index {idx})"
        )


def clip_to_range(arr: np.ndarray, name: str, low: float, high: float, tol: float = 1e-6) -> np.ndarray:
    """``arr`` clipped to ``[low, high]`` when it overshoots by at most ``tol`` (float round-off
    of cosines and probabilities); ValueError naming ``name`` beyond that."""
    check_range(arr, name, low, high, tol)
    return np.clip(arr, low, high)


def expression_names(values: Iterable[Any], name: str) -> list[str]:
    """Canonical expression names (neutral allowed); ValueError naming ``name`` for unknown ones."""
    out = []
    for v in values:
        try:
            out.append(normalize_expression(str(v), allow_neutral=True))
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
    return out


def label_indices(values: Sequence[Any], labels: Sequence[str], name: str) -> np.ndarray:
    """Indices of ``values`` in ``labels`` (both expression names); ValueError for names outside."""
    canon = expression_names(values, name)
    pos = {lab: i for i, lab in enumerate(labels)}
    missing = sorted({c for c in canon if c not in pos})
    if missing:
        raise ValueError(
            f"{name} contains {', '.join(map(repr, missing))}, not among labels ({', '.join(labels)})"
        )
    return np.fromiter((pos[c] for c in canon), dtype=np.int64, count=len(canon))

