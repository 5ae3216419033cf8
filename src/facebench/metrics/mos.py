"""Mean opinion scores from raw ratings, the way F-Bench (seed 002, sec. 3 "Subjective Score
Post-processing") computes them.

Pipeline of :func:`mos_table`, run separately for every (dimension, group) of ratings:

1. Subject screening, ITU-R BT.500 (Annex 1 of Part 1, "screening of the observers"), on the raw
   ratings. For every item j: mean u_j, standard deviation s_j and kurtosis
   beta2_j = m4 / m2^2 (m_k = mean of (u - u_j)^k). The item's distribution counts as normal
   when 2 <= beta2_j <= 4; then a rating u >= u_j + 2 s_j adds one to the subject's P and
   u <= u_j - 2 s_j one to Q, otherwise the bounds are u_j +- sqrt(20) s_j. A subject is rejected
   when (P + Q) / n > 0.05 and |P - Q| / (P + Q) < 0.3, n = the ratings the subject gave.
2. Optionally, the ``reject_share`` of the remaining ratings that lie farthest from their item's
   mean (in item standard deviations) is removed.
3. z-scores per subject within the group, z_ij = (r_ij - mu_i) / sigma_i (sigma with n - 1),
   rescaled z'_ij = 100 (z_ij + 3) / 6 (F-Bench eqs. 1-2).
4. MOS_j = mean of z'_ij over the remaining subjects (eq. 3); its sample standard deviation,
   standard error SE = std / sqrt(n) and a confidence interval MOS +- q * SE (q from Student's t
   with n - 1 degrees of freedom by default, or the normal quantile as in BT.500 / sureal).

Agreement with Netflix sureal 0.9 (``tests/metrics/test_mos_sureal.py`` checks it):

- z-score MOS and its SE equal ``ZscoringMosModel`` (rescaled by 100 (z + 3) / 6).
- With ``screen_ddof=0`` the rejected subjects equal ``SubjrejMosModel``'s on data where every
  subject rates every item and every item has some spread. Deliberate differences:
  (a) the default ``screen_ddof=1`` follows BT.500's s_j (n - 1); sureal uses n;
  (b) the outlier share divides by the ratings a subject gave; sureal divides by the number of
  items in the dataset (same when every subject rates every item);
  (c) an item whose ratings are all equal (or that has one rating) yields no outliers; sureal's
  kurtosis is then NaN and it counts every such rating as both a P and a Q outlier;
  (d) F-Bench screens first and z-scores the survivors; sureal's ``ZscoringSubjrejMosModel``
  z-scores first and screens the z-scores.
- Like sureal, if screening would reject every subject of a group it rejects none there.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from facebench.metrics._checks import UndefinedMetricWarning

#: F-Bench's rating scale (a 0-5 slider with two decimals).
FBENCH_SCORE_RANGE: tuple[float, float] = (0.0, 5.0)
REQUIRED_COLUMNS: tuple[str, ...] = ("subject", "item", "dimension", "score")
OUTPUT_COLUMNS: tuple[str, ...] = (
    "dimension", "item", "group", "mos", "std", "se", "ci_low", "ci_high", "n_ratings",
)
#: The group name used when the ratings have no ``group`` column.
DEFAULT_GROUP = "all"


# --------------------------------------------------------------------------- coded ratings
class _Coded:
    """Ratings as integer codes: part = (dimension, group), subject within part, item."""

    def __init__(self, ratings: pd.DataFrame, score_range: tuple[float, float] | None) -> None:
        missing = [c for c in REQUIRED_COLUMNS if c not in ratings.columns]
        if missing:
            raise ValueError(
                f"ratings lack column(s) {', '.join(missing)} (have: {', '.join(map(str, ratings.columns))})"
            )
        if len(ratings) == 0:
            raise ValueError("ratings is empty")
        score = pd.to_numeric(ratings["score"], errors="coerce").to_numpy(dtype=np.float64)
        bad = ~np.isfinite(score)
        if bad.any():
            first = ratings.index[int(np.argmax(bad))]
            raise ValueError(
                f"ratings.score has {int(bad.sum())} missing, non-numeric or infinite value(s) "
                f"(first at row {first!r}: {ratings['score'].iloc[int(np.argmax(bad))]!r})"
            )
        if score_range is not None:
            low, high = score_range
            out = (score < low) | (score > high)
            if out.any():
                i = int(np.argmax(out))
                raise ValueError(
                    f"ratings.score has {int(out.sum())} value(s) outside [{low}, {high}] "
                    f"(first at row {ratings.index[i]!r}: {float(score[i])!r})"
                )
        for col in ("subject", "item", "dimension") + (("group",) if "group" in ratings else ()):
            if ratings[col].isna().any():
                raise ValueError(f"ratings.{col} has {int(ratings[col].isna().sum())} missing value(s)")
        self.score = score
        dim_codes, self.dimensions = pd.factorize(ratings["dimension"], sort=True)
        if "group" in ratings.columns:
            grp_codes, self.groups = pd.factorize(ratings["group"], sort=True)
        else:
            grp_codes, self.groups = np.zeros(len(ratings), np.int64), pd.Index([DEFAULT_GROUP])
        subj_codes, self.subjects = pd.factorize(ratings["subject"], sort=True)
        item_codes, self.items = pd.factorize(ratings["item"], sort=True)
        part_key = dim_codes.astype(np.int64) * len(self.groups) + grp_codes
        self.part, part_uniques = pd.factorize(part_key, sort=True)
        self.part_dim = part_uniques // len(self.groups)
        self.part_grp = part_uniques % len(self.groups)
        self.subj, subj_uniques = pd.factorize(self.part.astype(np.int64) * len(self.subjects) + subj_codes, sort=True)
        self.subj_part = subj_uniques // len(self.subjects)
        self.subj_label = subj_uniques % len(self.subjects)
        self.item, item_uniques = pd.factorize(dim_codes.astype(np.int64) * len(self.items) + item_codes, sort=True)
        self.item_dim = item_uniques // len(self.items)
        self.item_label = item_uniques % len(self.items)
        # each (dimension, item) must sit in one group
        item_part = np.full(len(item_uniques), -1, dtype=np.int64)
        item_part[self.item] = self.part
        clash = item_part[self.item] != self.part
        if clash.any():
            i = int(np.argmax(clash))
            raise ValueError(
                f"item {self.items[item_codes[i]]!r} (dimension {self.dimensions[dim_codes[i]]!r}) "
                "appears in more than one group; an item must belong to one group"
            )
        self.item_part = item_part

    @property
    def n_parts(self) -> int:
        return len(self.part_dim)


def _item_moments(item: np.ndarray, score: np.ndarray, n_items: int) -> tuple[np.ndarray, ...]:
    """Per item: count, mean, central moments m2 and m4 (divided by n)."""
    n = np.bincount(item, minlength=n_items).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(item, weights=score, minlength=n_items) / n
        d = score - mean[item]
        d2 = d * d
        m2 = np.bincount(item, weights=d2, minlength=n_items) / n
        m4 = np.bincount(item, weights=d2 * d2, minlength=n_items) / n
    return n, mean, m2, m4


def _has_spread(codes: np.ndarray, values: np.ndarray, n_codes: int) -> np.ndarray:
    """Per code: do its values differ at all? (exact, unlike a variance that round-off leaves
    a hair above 0 for equal values)."""
    lo = np.full(n_codes, np.inf)
    hi = np.full(n_codes, -np.inf)
    np.minimum.at(lo, codes, values)
    np.maximum.at(hi, codes, values)
    return hi > lo


# --------------------------------------------------------------------------- BT.500 screening
def _bt500_rejected(c: _Coded, keep: np.ndarray, ddof: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Boolean per coded subject (True = rejected) and the per-subject statistics."""
    item, subj, score = c.item[keep], c.subj[keep], c.score[keep]
    n_items, n_subj = len(c.item_dim), len(c.subj_part)
    n, mean, m2, m4 = _item_moments(item, score, n_items)
    with np.errstate(invalid="ignore", divide="ignore"):
        kurt = m4 / (m2 * m2)
        sd = np.sqrt(m2 * n / (n - ddof))
    width = np.where((kurt >= 2) & (kurt <= 4), 2.0, math.sqrt(20.0)) * sd
    spread = _has_spread(item, score, n_items) & np.isfinite(sd)  # else no outliers
    hi = spread[item] & (score >= mean[item] + width[item])
    lo = spread[item] & (score <= mean[item] - width[item])
    p = np.bincount(subj, weights=hi, minlength=n_subj)
    q = np.bincount(subj, weights=lo, minlength=n_subj)
    n_rat = np.bincount(subj, minlength=n_subj).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (p + q) / n_rat
        asym = np.abs(p - q) / (p + q)
    rejected = (share > 0.05) & (asym < 0.3)
    # sureal's rule: if every (rated) subject of a group would be rejected, reject none there
    present = n_rat > 0
    all_rej = np.bincount(c.subj_part, weights=rejected, minlength=c.n_parts) == np.bincount(
        c.subj_part, weights=present, minlength=c.n_parts
    )
    rejected &= ~all_rej[c.subj_part]
    table = pd.DataFrame(
        {
            "dimension": c.dimensions[c.part_dim[c.subj_part]],
            "group": c.groups[c.part_grp[c.subj_part]],
            "subject": c.subjects[c.subj_label],
            "n_ratings": n_rat.astype(np.int64),
            "p": p.astype(np.int64),
            "q": q.astype(np.int64),
            "outlying_share": share,
            "asymmetry": asym,
            "rejected": rejected,
        }
    )
    return rejected, table[present].reset_index(drop=True)


def screen_bt500(
    ratings: pd.DataFrame, *, ddof: int = 1, score_range: tuple[float, float] | None = None
) -> pd.DataFrame:
    """ITU-R BT.500 observer screening (kurtosis test) per (dimension, group).

    Returns one row per (dimension, group, subject) with the subject's ``n_ratings``, outlier
    counts ``p`` (high) and ``q`` (low), ``outlying_share`` = (P + Q) / n, ``asymmetry`` =
    |P - Q| / (P + Q) and ``rejected``; the rejected subjects are ``table[table.rejected]``.
    ``ddof=1`` uses BT.500's item standard deviation (n - 1); ``ddof=0`` reproduces sureal.
    See the module docstring for the rule and the deliberate differences from sureal.
    """
    c = _Coded(ratings, score_range)
    return _bt500_rejected(c, np.ones(len(c.score), dtype=bool), ddof)[1]


# --------------------------------------------------------------------------- outlier ratings
def _reject_share(c: _Coded, keep: np.ndarray, share: float) -> np.ndarray:
    """``keep`` minus, per group, the ``share`` of ratings farthest from their item mean (in SDs)."""
    idx = np.flatnonzero(keep)
    item, part, score = c.item[idx], c.part[idx], c.score[idx]
    n, mean, m2, _ = _item_moments(item, score, len(c.item_dim))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(m2 * n / (n - 1))
        dev = np.abs(score - mean[item]) / sd[item]
    no_spread = ~_has_spread(item, score, len(c.item_dim))[item]
    dev[no_spread | ~np.isfinite(dev)] = 0.0  # items with one rating or no spread: no outliers
    per_part = np.bincount(part, minlength=c.n_parts)
    quota = np.floor(share * per_part + 1e-9).astype(np.int64)
    order = np.lexsort((-dev, part))
    starts = np.cumsum(per_part) - per_part
    rank = np.empty(idx.size, dtype=np.int64)
    rank[order] = np.arange(idx.size) - starts[part[order]]
    out = keep.copy()
    out[idx[rank < quota[part]]] = False
    return out


# --------------------------------------------------------------------------- MOS
def mos_table(
    ratings: pd.DataFrame,
    *,
    screening: Literal["bt500", "none"] | None = "bt500",
    reject_share: float = 0.0,
    level: float = 0.95,
    ci: Literal["t", "normal"] = "t",
    screen_ddof: int = 1,
    score_range: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """MOS per (dimension, item) from raw ratings, F-Bench style (see the module docstring).

    ``ratings`` has columns subject, item, dimension, score and optionally group (z-scoring and
    screening run per (dimension, group); without the column everything is one group, "all").
    ``score_range`` (e.g. :data:`FBENCH_SCORE_RANGE`) makes out-of-range scores a ValueError;
    NaN/inf or non-numeric scores always are.

    Returns one row per (dimension, item), sorted, with columns dimension, item, group, mos,
    std, se, ci_low, ci_high, n_ratings (mos etc. on the 0-100 rescaled z-score scale). Items
    left with no rating have ``mos = nan`` and ``n_ratings = 0``; with one rating std/se/CI are
    nan. ``result.attrs`` records the method, the rejected subjects (``(dimension, group,
    subject)`` tuples), the subjects that could not be z-scored (fewer than 2 ratings or all
    equal; their ratings are dropped, with an :class:`UndefinedMetricWarning`) and the counts of
    ratings removed at each step.
    """
    if screening not in ("bt500", "none", None):
        raise ValueError(f"screening must be 'bt500' or 'none', got {screening!r}")
    if not 0.0 <= reject_share < 1.0:
        raise ValueError(f"reject_share must be in [0, 1), got {reject_share!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if ci not in ("t", "normal"):
        raise ValueError(f"ci must be 't' or 'normal', got {ci!r}")
    c = _Coded(ratings, score_range)
    return _mos_from_coded(c, screening or "none", reject_share, level, ci, screen_ddof)


def _mos_from_coded(
    c: _Coded, screening: str, reject_share: float, level: float, ci: str, screen_ddof: int
) -> pd.DataFrame:
    n_total = len(c.score)
    keep = np.ones(n_total, dtype=bool)
    rejected_subjects: list[tuple[Any, Any, Any]] = []
    if screening == "bt500":
        rej, table = _bt500_rejected(c, keep, screen_ddof)
        keep &= ~rej[c.subj]
        rejected_subjects = list(
            table.loc[table.rejected, ["dimension", "group", "subject"]].itertuples(index=False, name=None)
        )
    n_after_screen = int(keep.sum())
    if reject_share > 0:
        keep = _reject_share(c, keep, reject_share)
    n_after_share = int(keep.sum())

    # z-scores per subject within its group (sigma with n - 1)
    n_subj = len(c.subj_part)
    subj, score = c.subj[keep], c.score[keep]
    cnt = np.bincount(subj, minlength=n_subj).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = np.bincount(subj, weights=score, minlength=n_subj) / cnt
        dev = score - mu[subj]
        sigma = np.sqrt(np.bincount(subj, weights=dev * dev, minlength=n_subj) / (cnt - 1))
    scorable = (cnt >= 2) & _has_spread(subj, score, n_subj)
    unscorable = np.flatnonzero((cnt > 0) & ~scorable)
    unscorable_subjects = [
        (c.dimensions[c.part_dim[c.subj_part[s]]], c.groups[c.part_grp[c.subj_part[s]]], c.subjects[c.subj_label[s]])
        for s in unscorable
    ]
    if unscorable_subjects:
        warnings.warn(
            f"{len(unscorable_subjects)} subject(s) cannot be z-scored (fewer than 2 ratings or all "
            f"equal) and are left out: {unscorable_subjects[:5]}{' ...' if len(unscorable_subjects) > 5 else ''}",
            UndefinedMetricWarning,
            stacklevel=3,
        )
    ok = scorable[subj]
    z = dev[ok] / sigma[subj[ok]]
    zr = 100.0 * (z + 3.0) / 6.0
    item = c.item[keep][ok]

    # MOS per item
    n_items = len(c.item_dim)
    n = np.bincount(item, minlength=n_items).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mos = np.bincount(item, weights=zr, minlength=n_items) / n
        d = zr - mos[item]
        std = np.sqrt(np.bincount(item, weights=d * d, minlength=n_items) / (n - 1))
        se = std / np.sqrt(n)
    std[n < 2] = np.nan
    se[n < 2] = np.nan
    q = _ci_quantile(n, level, ci)
    out = pd.DataFrame(
        {
            "dimension": c.dimensions[c.item_dim],
            "item": c.items[c.item_label],
            "group": c.groups[c.part_grp[c.item_part]],
            "mos": mos,
            "std": std,
            "se": se,
            "ci_low": mos - q * se,
            "ci_high": mos + q * se,
            "n_ratings": n.astype(np.int64),
        },
        columns=list(OUTPUT_COLUMNS),
    )
    out.attrs.update(
        method=(
            f"F-Bench z-score MOS, 100(z+3)/6; screening={screening}"
            f"{f' (BT.500 kurtosis, ddof={screen_ddof})' if screening == 'bt500' else ''}; "
            f"reject_share={reject_share}; CI {level:.0%} {'Student t' if ci == 't' else 'normal'}"
        ),
        rejected_subjects=rejected_subjects,
        unscorable_subjects=unscorable_subjects,
        n_ratings_in=n_total,
        n_rejected_by_screening=n_total - n_after_screen,
        n_rejected_as_outliers=n_after_screen - n_after_share,
        n_dropped_unscorable=n_after_share - int(ok.sum()),
    )
    return out


def _ci_quantile(n: np.ndarray, level: float, ci: str) -> np.ndarray | float:
    if ci == "normal":
        return float(stats.norm.ppf(0.5 + level / 2))
    dof = np.where(n >= 2, n - 1, np.nan)
    return stats.t.ppf(0.5 + level / 2, dof)


def mos_from_csv(path: str | Path, **kwargs: Any) -> pd.DataFrame:
    """:func:`mos_table` of a CSV file with columns subject, item, [group,] dimension, score."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{p}: no such ratings file")
    try:
        ratings = pd.read_csv(p)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a readable CSV ({exc})") from None
    try:
        return mos_table(ratings, **kwargs)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
