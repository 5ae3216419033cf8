"""facebench's MOS pipeline against Netflix sureal (Apache-2.0) on the same raw ratings."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest

from facebench.metrics import mos_table, screen_bt500

# sureal divides 0 by 0 for subjects without outliers (harmless there)
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

sureal_model = pytest.importorskip("sureal.subjective_model")
sureal_reader = pytest.importorskip("sureal.dataset_reader")


def to_sureal(ratings: pd.DataFrame):
    """A sureal RawDatasetReader over one (dimension, group): one stimulus per item, in sorted order."""
    dis_videos = []
    for k, (item, rows) in enumerate(sorted(ratings.groupby("item"), key=lambda kv: kv[0])):
        dis_videos.append(
            {"content_id": 0, "asset_id": k, "path": str(item), "os": dict(zip(rows.subject, rows.score))}
        )
    dataset = types.SimpleNamespace(
        dataset_name="facebench", ref_videos=[{"content_id": 0, "path": "ref"}], dis_videos=dis_videos
    )
    return sureal_reader.RawDatasetReader(dataset)


def make_ratings(seed: int, n_items: int, n_subjects: int, n_erratic: int, coverage: float = 1.0) -> pd.DataFrame:
    """Biased, scaled, noisy raters plus erratic ones on a 0-5 slider with two decimals."""
    rng = np.random.default_rng(seed)
    latent = rng.uniform(-1.5, 1.5, n_items)
    rows = []
    for s in range(n_subjects + n_erratic):
        bias, scale = rng.normal(0, 0.5), rng.uniform(0.6, 1.4)
        erratic = s >= n_subjects
        for j in range(n_items):
            if rng.random() >= coverage:
                continue
            r = 2.5 + bias + scale * latent[j] + rng.normal(0, 0.3)
            if erratic:
                r += rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 2.0)
            rows.append((f"s{s:02d}", f"img{j:03d}", "quality", round(float(np.clip(r, 0.0, 5.0)), 2)))
    return pd.DataFrame(rows, columns=["subject", "item", "dimension", "score"])


CASES = [(0, 40, 15, 2), (1, 80, 24, 3), (2, 25, 10, 1), (3, 60, 30, 0)]


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"seed{c[0]}-{c[1]}x{c[2]}+{c[3]}")
def case(request):
    ratings = make_ratings(*request.param)
    return ratings, to_sureal(ratings)


def test_zscore_mos_and_se_match_sureal(case) -> None:
    ratings, reader = case
    ref = sureal_model.ZscoringMosModel(reader).run_modeling()
    ours = mos_table(ratings, screening="none")
    # facebench rescales z to 100 (z + 3) / 6; sureal reports z itself
    np.testing.assert_allclose(ours.mos * 6 / 100 - 3, ref["quality_scores"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours.se * 6 / 100, ref["quality_scores_std"], rtol=0, atol=1e-12)
    normal = mos_table(ratings, screening="none", ci="normal")
    np.testing.assert_allclose((normal.ci_high - normal.mos) * 6 / 100, ref["quality_scores_ci95"][1], rtol=1e-5)


def test_bt500_screening_matches_sureal_with_population_sd(case) -> None:
    ratings, reader = case
    ref = sureal_model.SubjrejMosModel(reader).run_modeling()
    theirs = {o for o, rej in zip(ref["observers"], ref["observer_rejected"]) if rej}
    table = screen_bt500(ratings, ddof=0)
    assert set(table.subject[table.rejected]) == theirs
    np.testing.assert_allclose(table.outlying_share, ref["observer_rejected_1st_stats"], atol=1e-12)


def test_screened_zscore_mos_matches_sureal_on_the_kept_subjects(case) -> None:
    """F-Bench order: screen the raw ratings, then z-score the kept subjects."""
    ratings, reader = case
    ref = sureal_model.SubjrejMosModel(reader).run_modeling()
    kept = [o for o, rej in zip(ref["observers"], ref["observer_rejected"]) if not rej]
    ref_z = sureal_model.ZscoringMosModel(to_sureal(ratings[ratings.subject.isin(kept)])).run_modeling()
    ours = mos_table(ratings, screening="bt500", screen_ddof=0)
    np.testing.assert_allclose(ours.mos * 6 / 100 - 3, ref_z["quality_scores"], rtol=0, atol=1e-12)


def test_some_cases_do_reject_subjects() -> None:
    """Guard against a vacuous comparison: the erratic raters are rejected somewhere."""
    rejected = 0
    for params in CASES:
        table = screen_bt500(make_ratings(*params), ddof=0)
        rejected += int(table.rejected.sum())
    assert rejected >= 2


def test_zscore_mos_matches_sureal_with_missing_ratings() -> None:
    ratings = make_ratings(7, 50, 20, 0, coverage=0.7)
    ref = sureal_model.ZscoringMosModel(to_sureal(ratings)).run_modeling()
    ours = mos_table(ratings, screening="none")
    np.testing.assert_allclose(ours.mos * 6 / 100 - 3, ref["quality_scores"], rtol=0, atol=1e-12)
    assert (ours.n_ratings < 20).any()


def test_documented_difference_bt500_sd() -> None:
    """With BT.500's n - 1 item SD (the default) the bounds are wider than with sureal's
    population SD (the kurtosis rule does not change), so a subject can only lose outliers."""
    ratings = make_ratings(1, 80, 24, 3)
    sample = screen_bt500(ratings).set_index("subject")
    population = screen_bt500(ratings, ddof=0).set_index("subject")
    assert (sample.p <= population.p).all() and (sample.q <= population.q).all()
    assert (sample.p + sample.q).sum() < (population.p + population.q).sum()
