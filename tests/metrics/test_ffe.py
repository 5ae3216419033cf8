"""FFE-Bench metrics: hand-worked examples, properties and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facebench.expressions import BASIC6, BASIC7, EXPRESSIONS
from facebench.metrics import (
    UndefinedMetricWarning,
    accuracy,
    bcr,
    cls,
    confusion_matrix,
    directed_confusion,
    hes,
    id_sim_aggregate,
    mscr,
    predicted_class,
)

# 12 edits worked by hand:
#   fear x4      -> fear, fear, surprised, surprised   C(fear->surprised)  = 2/4
#   surprised x4 -> surprised x3, fear                 C(surprised->fear)  = 1/4
#   angry x2     -> disgust, angry                     C(angry->disgust)   = 1/2
#   disgust x2   -> disgust, happy                     C(disgust->angry)   = 0
TARGETS = ["fear"] * 4 + ["surprised"] * 4 + ["angry"] * 2 + ["disgust"] * 2
PREDICTED = (
    ["fear", "fear", "surprised", "surprised"]
    + ["surprised", "Surprise", "surprised", "fear"]  # an alias is the same class
    + ["disgust", "angry"]
    + ["disgust", "happy"]
)


@pytest.fixture(scope="module")
def cm():
    return confusion_matrix(TARGETS, PREDICTED)


def test_confusion_matrix_by_hand(cm) -> None:
    assert cm.labels == EXPRESSIONS
    assert cm.counts.sum() == 12
    frame = cm.to_frame()
    assert frame.loc["fear", "surprised"] == 2 and frame.loc["surprised", "fear"] == 1
    assert frame.loc["disgust", "happy"] == 1 and frame.loc["happy"].sum() == 0
    assert cm.to_frame(normalize=True).loc["fear", "fear"] == 0.5
    assert directed_confusion(cm, "fear", "surprised") == 0.5
    assert directed_confusion(cm, "surprised", "fear") == 0.25
    assert directed_confusion(cm, "angry", "disgust") == 0.5
    assert directed_confusion(cm, "disgust", "angry") == 0.0


def test_bcr_and_mscr_by_hand(cm) -> None:
    assert bcr(cm, "fear", "surprised") == 0.375  # (2/4 + 1/4) / 2
    assert bcr(cm, "angry", "disgust") == 0.25  # (1/2 + 0) / 2
    assert mscr(cm) == 0.3125  # default pairs: fear-surprised, angry-disgust
    assert mscr(cm, pairs=[("angry", "disgust")]) == 0.25


def test_collapsed_pair_scores_half() -> None:
    """Paper: 0.5 means the pair collapsed into one expression."""
    cm = confusion_matrix(["fear"] * 3 + ["surprised"] * 3, ["surprised"] * 6)
    assert bcr(cm, "fear", "surprised") == 0.5


def test_accuracy_by_hand() -> None:
    assert accuracy(TARGETS, PREDICTED) == 7 / 12
    assert accuracy(TARGETS, PREDICTED, subset=["fear", "surprised"]) == 5 / 8
    assert accuracy(TARGETS, PREDICTED, subset=BASIC6) == 7 / 12


def test_predicted_class_takes_argmax_within_the_subset() -> None:
    # columns: neutral, happy, sad, angry, fear, surprised, disgust
    scores = np.array(
        [
            [0.90, 0.10, 0.00, 0.00, 0.00, 0.05, 0.00],  # neutral overall, happy among the six
            [0.10, 0.00, 0.00, 0.30, 0.00, 0.00, 0.60],
            [0.00, 0.50, 0.50, 0.00, 0.00, 0.00, 0.00],  # tie: first in label order
        ]
    )
    assert predicted_class(scores, BASIC7).tolist() == ["neutral", "disgust", "happy"]
    assert predicted_class(scores, BASIC7, subset=BASIC6).tolist() == ["happy", "disgust", "happy"]
    assert predicted_class(scores, BASIC7, subset=["angry", "sad"]).tolist() == ["sad", "angry", "sad"]
    targets = ["happy", "angry", "sad"]
    assert accuracy(targets, predicted_class(scores, BASIC7, BASIC6), subset=BASIC6) == 1 / 3


def test_hes_by_hand() -> None:
    assert hes(0.8, 0.6) == pytest.approx(2 * 0.8 * 0.6 / 1.4)  # 0.685714...
    assert hes(1.0, 1.0) == 1.0
    assert hes(0.5, 0.0) == 0.0
    assert hes(0.0, 0.0) == 0.0  # defined as 0 when both are 0
    assert hes(0.7, -0.3) == 0.0  # a negative cosine keeps no identity
    out = hes(np.array([0.8, 0.0, 0.5]), np.array([0.6, 0.0, 0.5]))
    assert out == pytest.approx([0.685714285714, 0.0, 0.5])


unit = st.floats(0, 1, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(unit, unit)
def test_hes_properties(e: float, i: float) -> None:
    h = hes(e, i)
    assert 0.0 <= h <= 1.0
    assert min(e, i) - 1e-12 <= h <= max(e, i) + 1e-12  # a mean of the two
    assert h == pytest.approx(hes(i, e))


def test_cls_by_hand() -> None:
    alphas = [0.0, 0.5, 1.0] * 3
    # series A perfectly linear; B: r = 0.3 / sqrt(0.5 * 0.24) = sqrt(3)/2; C never changes
    inten = [0.0, 0.5, 1.0, 0.2, 0.2, 0.8, 0.3, 0.3, 0.3]
    series = ["A"] * 3 + ["B"] * 3 + ["C"] * 3
    r = cls(alphas[:6], inten[:6], series[:6])
    assert r.mode == "per_series" and r.n_series == 2 and r.n_constant == 0
    assert r.pearson == pytest.approx((1 + np.sqrt(3) / 2) / 2)
    assert r.spearman == pytest.approx((1 + np.sqrt(3) / 2) / 2)  # ranks of B give sqrt(3)/2 too
    with_c = cls(alphas, inten, series)
    assert with_c.n_constant == 1
    assert with_c.pearson == pytest.approx((1 + np.sqrt(3) / 2 + 0) / 3)
    pooled = cls(alphas[:6], inten[:6], series[:6], mode="pooled")
    # centred alpha (-.5,0,.5,-.5,0,.5), centred intensity (-.45,.05,.55,-.25,-.25,.35)
    assert pooled.pearson == pytest.approx(0.8 / np.sqrt(1.0 * 0.755))
    assert pooled.mode == "pooled"
    assert "per_series" in r.describe()


def test_cls_per_expression_average() -> None:
    alphas = [0.0, 1.0, 2.0] * 2
    inten = [0.1, 0.2, 0.3, 0.3, 0.2, 0.1]  # happy rises, sad falls
    exprs = ["happy"] * 3 + ["sad"] * 3
    r = cls(alphas, inten, series_ids=["s"] * 6, expressions=exprs)
    assert r.per_expression == {"happy": pytest.approx((1.0, 1.0)), "sad": pytest.approx((-1.0, -1.0))}
    assert r.pearson == pytest.approx(0.0)
    with pytest.warns(UndefinedMetricWarning, match="no CLS data for .*angry"):
        assert np.isnan(cls(alphas, inten, expressions=exprs, subset=BASIC6).pearson)


def test_per_series_ignores_source_offsets_that_pooled_penalises() -> None:
    alphas = np.tile(np.linspace(0, 1, 5), 4)
    offsets = np.repeat([0.0, 0.3, 0.6, 0.9], 5)
    inten = 0.1 * alphas + offsets  # every sweep perfectly linear, sources start apart
    series = np.repeat(list("abcd"), 5)
    assert cls(alphas, inten, series).pearson == pytest.approx(1.0)
    assert cls(alphas, inten, series, mode="pooled").pearson < 0.2


def test_id_sim_aggregate_says_which_recognisers() -> None:
    r = id_sim_aggregate({"arcface": [0.6, 0.7], "facenet": [0.8, 0.5]})
    assert r.per_image.tolist() == pytest.approx([0.7, 0.6])
    assert r.mean == pytest.approx(0.65)
    assert r.recognisers == ("arcface", "facenet")
    assert r.per_recogniser == pytest.approx({"arcface": 0.65, "facenet": 0.65})
    assert r.describe() == "ID Sim 0.6500 (mean of arcface, facenet)"


# --------------------------------------------------------------------------- properties
names = st.sampled_from(BASIC6)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(names, names), min_size=1, max_size=40), st.randoms(use_true_random=False))
def test_confusion_properties(pairs, rnd) -> None:
    t = [p[0] for p in pairs]
    p = [p[1] for p in pairs]
    cm = confusion_matrix(t, p, BASIC6)
    shuffled = rnd.sample(pairs, len(pairs))
    cm2 = confusion_matrix([a for a, _ in shuffled], [b for _, b in shuffled], BASIC6)
    assert (cm.counts == cm2.counts).all()  # item order does not matter
    assert 0.0 <= accuracy(t, p) <= 1.0
    present = sorted(set(t))
    for i in present:
        for j in present:
            b = bcr(cm, i, j)
            assert 0.0 <= b <= 1.0
            assert b == bcr(cm, j, i)  # BCR is symmetric
    if {"fear", "surprised", "angry", "disgust"} <= set(t):
        assert 0.0 <= mscr(cm) <= 1.0
        assert mscr(cm) == mscr(cm2)


# --------------------------------------------------------------------------- bad input
def test_unknown_names_and_mismatches_raise() -> None:
    with pytest.raises(ValueError, match="targets: unknown expression 'grumpy'"):
        confusion_matrix(["grumpy"], ["happy"])
    with pytest.raises(ValueError, match="length mismatch: targets has 2 values, predicted has 1"):
        confusion_matrix(["happy", "sad"], ["happy"])
    with pytest.raises(ValueError, match="predicted contains 'contempt', not among labels"):
        confusion_matrix(["happy"], ["contempt"], BASIC6)
    with pytest.raises(ValueError, match="class contains 'neutral'"):
        bcr(confusion_matrix(["happy"], ["happy"]), "neutral", "happy")
    with pytest.raises(ValueError, match="subset: unknown expression 'joyful'"):
        accuracy(["happy"], ["happy"], subset=["joyful"])


def test_predicted_class_bad_scores() -> None:
    with pytest.raises(ValueError, match="scores has 3 columns but labels names 7"):
        predicted_class(np.zeros((2, 3)), BASIC7)
    with pytest.raises(ValueError, match="scores contains 1 NaN/inf"):
        predicted_class(np.array([[0.1, np.nan, 0, 0, 0, 0, 0]]), BASIC7)
    with pytest.raises(ValueError, match="must be 2-D"):
        predicted_class(np.zeros(7), BASIC7)


def test_undefined_rates_are_nan_with_a_reason() -> None:
    cm = confusion_matrix(["fear", "fear"], ["fear", "surprised"])
    with pytest.warns(UndefinedMetricWarning, match="no samples edited toward 'surprised'"):
        assert np.isnan(directed_confusion(cm, "surprised", "fear"))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(mscr(cm))
    with pytest.warns(UndefinedMetricWarning, match="no edits with a target in the subset"):
        assert np.isnan(accuracy(["happy"], ["happy"], subset=["sad"]))


def test_hes_and_id_sim_ranges() -> None:
    with pytest.raises(ValueError, match=r"s_e must lie in \[0.0, 1.0\]"):
        hes(1.2, 0.5)
    with pytest.raises(ValueError, match=r"s_id must lie in \[-1.0, 1.0\]"):
        hes(0.5, 1.5)
    with pytest.raises(ValueError, match="s_e contains 1 NaN/inf"):
        hes(np.nan, 0.5)
    with pytest.raises(ValueError, match="shape mismatch"):
        hes([0.1, 0.2], [0.3])
    with pytest.raises(ValueError, match="name at least one recogniser"):
        id_sim_aggregate({})
    with pytest.raises(ValueError, match="length mismatch"):
        id_sim_aggregate({"arcface": [0.5, 0.6], "adaface": [0.5]})
    with pytest.raises(ValueError, match=r"similarities\['arcface'\] must lie in"):
        id_sim_aggregate({"arcface": [1.5]})


def test_cls_bad_input() -> None:
    with pytest.raises(ValueError, match="series 'A' needs at least 2 distinct alpha values"):
        cls([0.5, 0.5], [0.1, 0.2], ["A", "A"])
    with pytest.raises(ValueError, match="length mismatch: alphas has 3 values, intensities has 2"):
        cls([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="mode must be"):
        cls([0, 1], [0, 1], mode="mean")
    with pytest.raises(ValueError, match="expressions: unknown expression 'smirk'"):
        cls([0, 1], [0, 1], expressions=["smirk", "smirk"])


# --------------------------------------------------------------------------- ties and failures
def test_prediction_weights_split_ties_evenly_in_any_label_order() -> None:
    from facebench.metrics.ffe import prediction_weights

    scores = np.array([[0.3, 0.3, 0.3, 0.1], [0.1, 0.6, 0.2, 0.6], [0.9, 0.0, 0.0, 0.0]])
    labels = ["happy", "sad", "fear", "surprised"]
    w = prediction_weights(scores, labels)
    np.testing.assert_allclose(w, [[1 / 3, 1 / 3, 1 / 3, 0], [0, 0.5, 0, 0.5], [1, 0, 0, 0]])
    rev = prediction_weights(scores[:, ::-1], labels[::-1])[:, ::-1]
    np.testing.assert_allclose(rev, w)  # reversing the label order changes nothing
    sub = prediction_weights(scores, labels, subset=["sad", "fear"])
    np.testing.assert_allclose(sub, [[0, 0.5, 0.5, 0], [0, 1, 0, 0], [0, 0.5, 0.5, 0]])


def test_weighted_accuracy_and_confusion_by_hand() -> None:
    from facebench.metrics.ffe import weighted_accuracy, weighted_confusion

    labels = ["fear", "surprised"]
    w = np.array([[0.5, 0.5], [1.0, 0.0], [0.0, 1.0]])  # a tie, a hit, a miss (targets fear, fear, fear)
    assert weighted_accuracy(["fear"] * 3, w, labels) == pytest.approx(1.5 / 3)
    assert weighted_accuracy(["fear"] * 3, w, labels, n_failed=1) == pytest.approx(1.5 / 4)
    cm = weighted_confusion(["fear"] * 3, w, labels)
    np.testing.assert_allclose(cm.counts, [[1.5, 1.5], [0, 0]])
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(weighted_accuracy([], np.zeros((0, 2)), labels))


def test_failed_edits_count_as_confused_in_mscr(cm) -> None:
    # fear: 4 edits, 2 judged surprised; 4 more failed -> C(fear->surprised) = (2 + 4) / 8
    assert directed_confusion(cm, "fear", "surprised", {"fear": 4}) == pytest.approx(6 / 8)
    base = mscr(cm)
    worse = mscr(cm, failed={"fear": 4, "angry": 1})
    assert worse > base  # failing can never improve mSCR
    assert bcr(cm, "angry", "disgust", {"angry": 1}) == pytest.approx(((1 + 1) / 3 + 0) / 2)
