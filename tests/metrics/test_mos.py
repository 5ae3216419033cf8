"""MOS from raw ratings: a hand-worked example, a synthetic study with a known latent order,
screening, outlier rejection, groups, properties and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facebench.metrics import (
    FBENCH_SCORE_RANGE,
    UndefinedMetricWarning,
    mos_from_csv,
    mos_table,
    screen_bt500,
    srcc,
)


def _long(matrix: dict[str, list[float]], items: list[str], dimension: str = "quality") -> pd.DataFrame:
    rows = [(s, it, dimension, v) for s, vals in matrix.items() for it, v in zip(items, vals) if v is not None]
    return pd.DataFrame(rows, columns=["subject", "item", "dimension", "score"])


def test_hand_worked_example() -> None:
    # every subject has mean 2 and SD 1, so z = score - 2; z' = 100 (z + 3) / 6
    ratings = _long({"A": [1, 2, 3], "B": [2, 3, 4], "C": [3, 1, 2]}, ["i1", "i2", "i3"])
    out = mos_table(ratings, screening="none")
    assert out.columns.tolist() == [
        "dimension", "item", "group", "mos", "std", "se", "ci_low", "ci_high", "n_ratings",
    ]
    # B = (2, 3, 4): mean 3, SD 1 -> z = (-1, 0, 1) like A; C -> (1, -1, 0)
    # i1: z' = (33.3, 33.3, 66.7) -> 400/9; i2: (50, 50, 33.3) -> 400/9; i3: (66.7, 66.7, 50) -> 550/9
    assert out.mos.tolist() == pytest.approx([400 / 9, 400 / 9, 550 / 9])
    std_i1 = np.sqrt(((100 / 9) ** 2 * 2 + (200 / 9) ** 2) / 2)
    assert out["std"][0] == pytest.approx(std_i1)
    assert out.se[0] == pytest.approx(std_i1 / np.sqrt(3))
    assert out.ci_high[0] - out.mos[0] == pytest.approx(4.302652729911275 * std_i1 / np.sqrt(3))  # t(2)
    normal = mos_table(ratings, screening="none", ci="normal")
    assert normal.ci_high[0] - normal.mos[0] == pytest.approx(1.959963984540054 * std_i1 / np.sqrt(3))
    assert out.group.tolist() == ["all"] * 3 and out.n_ratings.tolist() == [3, 3, 3]


def _study(seed: int, n_items: int = 60, n_subjects: int = 24, coverage: float = 1.0,
           random_raters: int = 0, noise: float = 0.5) -> tuple[pd.DataFrame, np.ndarray]:
    """Biased, scaled, noisy raters on a 0-5 slider with two decimals; latent quality known."""
    rng = np.random.default_rng(seed)
    latent = rng.uniform(-1.5, 1.5, n_items)
    rows = []
    for s in range(n_subjects + random_raters):
        bias, scale = rng.normal(0, 0.6), rng.uniform(0.5, 1.5)
        for j in np.flatnonzero(rng.random(n_items) < coverage):
            if s >= n_subjects:
                r = rng.uniform(0, 5)
            else:
                r = 2.5 + bias + scale * latent[j] + rng.normal(0, noise)
            rows.append((f"s{s:02d}", f"img{j:03d}", "quality", round(float(np.clip(r, 0, 5)), 2)))
    return pd.DataFrame(rows, columns=["subject", "item", "dimension", "score"]), latent


def test_synthetic_study_recovers_the_latent_order() -> None:
    # incomplete design: each rater sees ~50% of the images, so rater bias does not average out
    ratings, latent = _study(seed=1, coverage=0.5, n_subjects=30)
    out = mos_table(ratings, score_range=FBENCH_SCORE_RANGE)
    order = out.item.str[3:].astype(int).to_numpy()
    mos_srcc = srcc(out.mos, latent[order])
    raw_mean = ratings.groupby("item").score.mean().to_numpy()
    assert mos_srcc > 0.95
    assert mos_srcc > srcc(raw_mean, latent[order])  # z-scoring removes rater bias and scale
    # the top and bottom fifths are separated by their confidence intervals
    top, bottom = np.argsort(latent[order])[-12:], np.argsort(latent[order])[:12]
    assert out.ci_low.to_numpy()[top].min() > out.ci_high.to_numpy()[bottom].max()


def test_screening_rejects_erratic_raters_but_not_consistently_biased_ones() -> None:
    ratings, latent = _study(seed=2, n_subjects=20, noise=0.15)
    # "erratic" swings 1.5 above / below what s00 gave; "lenient" is s01 plus 1.5 throughout
    base = ratings[ratings.subject == "s00"].reset_index(drop=True)
    swing = np.where(np.arange(len(base)) % 2 == 0, 1.5, -1.5)
    erratic = base.assign(subject="erratic", score=np.clip(base.score + swing, 0, 5))
    b1 = ratings[ratings.subject == "s01"].reset_index(drop=True)
    lenient = b1.assign(subject="lenient", score=np.clip(b1.score + 1.5, 0, 5))
    ratings = pd.concat([ratings, erratic, lenient], ignore_index=True)
    table = screen_bt500(ratings).set_index("subject")
    assert table.rejected[table.rejected].index.tolist() == ["erratic"]
    assert table.outlying_share["erratic"] > 0.05 and table.asymmetry["erratic"] < 0.3
    assert table.outlying_share["lenient"] > 0.05 and table.asymmetry["lenient"] >= 0.3  # one-sided
    out = mos_table(ratings)
    assert out.attrs["rejected_subjects"] == [("quality", "all", "erratic")]
    assert out.attrs["n_rejected_by_screening"] == 60
    assert (out.n_ratings == 21).all()
    truth = latent[out.item.str[3:].astype(int)]
    assert srcc(out.mos, truth) > srcc(mos_table(ratings, screening="none").mos, truth)


def test_reject_share_removes_the_most_outlying_ratings() -> None:
    ratings, _ = _study(seed=3, n_subjects=20, noise=0.2)
    planted = ratings.index[(ratings.subject == "s05") & (ratings.item == "img007")][0]
    ratings.loc[planted, "score"] = 5.0 if ratings.loc[planted, "score"] < 2.5 else 0.0
    out = mos_table(ratings, screening="none", reject_share=0.03)
    assert out.attrs["n_rejected_as_outliers"] == int(0.03 * len(ratings))
    kept = mos_table(ratings.drop(index=planted), screening="none")
    with_it = mos_table(ratings, screening="none")
    assert abs(kept.mos[7] - with_it.mos[7]) > 1.0  # the planted rating mattered ...
    assert out.n_ratings[7] < 20  # ... and is among those rejected


def test_groups_and_dimensions_are_processed_independently() -> None:
    a, _ = _study(seed=4, n_items=20, n_subjects=8)
    b, _ = _study(seed=5, n_items=20, n_subjects=8)
    a["group"], b["group"] = "g1", "g2"
    b["item"] = "b_" + b["item"]
    b["score"] = np.clip(b["score"] + 1.0, 0, 5)  # same subjects, harsher in group 2
    c = a.copy()
    c["dimension"] = "authenticity"
    both = mos_table(pd.concat([a, b, c], ignore_index=True))
    alone = mos_table(a)
    got = both[(both.group == "g1") & (both.dimension == "quality")].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, alone, check_exact=False, rtol=1e-12)
    assert set(both.dimension) == {"quality", "authenticity"} and len(both) == 60


small_ratings = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 5), st.integers(0, 500)), min_size=12, max_size=60
)


@settings(max_examples=30, deadline=None)
@given(small_ratings, st.randoms(use_true_random=False), st.sampled_from(["bt500", "none"]))
def test_properties_row_order_and_bounds(rows, rnd, screening) -> None:
    df = pd.DataFrame(
        [(f"s{s}", f"i{i}", "q", v / 100) for s, i, v in rows], columns=["subject", "item", "dimension", "score"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        out = mos_table(df, screening=screening)
        shuffled = mos_table(df.sample(frac=1.0, random_state=rnd.randint(0, 2**31)), screening=screening)
    pd.testing.assert_frame_equal(out, shuffled, check_exact=False, rtol=1e-9, atol=1e-9)
    ok = out.n_ratings >= 2
    assert (out.ci_low[ok] <= out.mos[ok] + 1e-9).all() and (out.mos[ok] <= out.ci_high[ok] + 1e-9).all()
    assert (out.se[ok] >= 0).all()
    assert out.n_ratings.sum() <= len(df)
    # per subject the z-scores average 0, so the rating-weighted mean of MOS is 50
    if out.n_ratings.sum() > 0:
        assert np.average(out.mos[out.n_ratings > 0], weights=out.n_ratings[out.n_ratings > 0]) == pytest.approx(50.0)


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_naming_the_problem() -> None:
    good = _long({"A": [1, 2, 3], "B": [2, 3, 4]}, ["i1", "i2", "i3"])
    with pytest.raises(ValueError, match="ratings lack column\\(s\\) score"):
        mos_table(good.drop(columns="score"))
    with pytest.raises(ValueError, match="ratings is empty"):
        mos_table(good.iloc[:0])
    bad = good.copy()
    bad.loc[4, "score"] = np.nan
    with pytest.raises(ValueError, match="ratings.score has 1 missing, non-numeric or infinite value\\(s\\) \\(first at row 4"):
        mos_table(bad)
    bad["score"] = bad["score"].astype(object)
    bad.loc[4, "score"] = "good"
    with pytest.raises(ValueError, match="non-numeric"):
        mos_table(bad)
    with pytest.raises(ValueError, match=r"1 value\(s\) outside \[0.0, 5.0\] \(first at row 2: 7.0\)"):
        mos_table(good.assign(score=[1, 2, 7, 2, 3, 4]), score_range=FBENCH_SCORE_RANGE)
    with pytest.raises(ValueError, match="item 'i1' .* appears in more than one group"):
        mos_table(good.assign(group=["g1", "g1", "g1", "g2", "g2", "g2"]))
    with pytest.raises(ValueError, match="ratings.subject has 1 missing"):
        mos_table(good.assign(subject=["A", None, "A", "B", "B", "B"]))
    with pytest.raises(ValueError, match="screening must be"):
        mos_table(good, screening="p910")
    with pytest.raises(ValueError, match="reject_share must be in"):
        mos_table(good, reject_share=1.0)


def test_unscorable_subjects_and_empty_items_are_reported() -> None:
    # C always gives 1.35 (its float mean is off by round-off, so only an exact test sees it)
    ratings = _long({"A": [1, 2, 3, None], "B": [2, 3, 4, None], "C": [1.35, 1.35, 1.35, None],
                     "D": [None, None, None, 4]}, ["i1", "i2", "i3", "i4"])
    with pytest.warns(UndefinedMetricWarning, match="2 subject\\(s\\) cannot be z-scored"):
        out = mos_table(ratings, screening="none")
    assert {s for _, _, s in out.attrs["unscorable_subjects"]} == {"C", "D"}  # all equal; one rating
    assert out.attrs["n_dropped_unscorable"] == 4
    i4 = out.set_index("item").loc["i4"]
    assert i4.n_ratings == 0 and np.isnan(i4.mos) and np.isnan(i4.ci_low)
    assert out.set_index("item").loc["i1"].n_ratings == 2


def test_mos_from_csv(tmp_path) -> None:
    ratings, _ = _study(seed=6, n_items=10, n_subjects=6)
    path = tmp_path / "ratings.csv"
    ratings.to_csv(path, index=False)
    pd.testing.assert_frame_equal(mos_from_csv(path), mos_table(ratings))
    with pytest.raises(ValueError, match="no such ratings file"):
        mos_from_csv(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("subject,item\nA,1\n")
    with pytest.raises(ValueError, match="bad.csv: ratings lack column\\(s\\) dimension, score"):
        mos_from_csv(tmp_path / "bad.csv")
