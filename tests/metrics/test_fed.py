"""The FED-Score properties the spec requires, for every registered component."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facebench.expressions import BASIC7
from facebench.metrics import ALIGNMENT, COMBINE, GAIN, UndefinedMetricWarning, fed_score
from facebench.base.registry import UnknownNameError

# judge scores over BASIC7 = neutral, happy, sad, angry, fear, surprised, disgust
SRC = np.array([0.60, 0.10, 0.05, 0.05, 0.05, 0.05, 0.05])  # a neutral face
GT = np.array([0.35, 0.40, 0.05, 0.05, 0.05, 0.05, 0.05])  # ground truth of "make it happy"
D = GT - SRC


def _score(edit: np.ndarray, *, fidelity: float = 1.0, **kw) -> dict:
    out = fed_score(
        [SRC], [GT], [edit], ["happy"], BASIC7, quality=[fidelity], id_sim=[fidelity], **kw
    )
    return out.iloc[0].to_dict()


@pytest.mark.parametrize("gain", GAIN.names())
@pytest.mark.parametrize("alignment", ALIGNMENT.names())
@pytest.mark.parametrize("combine", COMBINE.names())
def test_spec_properties(gain: str, alignment: str, combine: str) -> None:
    kw = {"gain": gain, "alignment": alignment, "combine": combine}
    lazy = _score(SRC, **kw)  # returns the source unchanged, perfect fidelity
    matched = _score(GT, fidelity=0.9, **kw)
    twice = _score(SRC + 2 * D, fidelity=0.9, **kw)
    half = _score(SRC + 0.5 * D, fidelity=0.9, **kw)
    assert lazy["fidelity"] == 1.0
    assert lazy["reg"] == 0.0
    assert lazy["alignment"] < 0.15 < matched["alignment"]
    assert matched["reg"] == pytest.approx(1.0)  # REG's best value
    assert twice["reg"] < matched["reg"]
    assert half["reg"] < matched["reg"]
    assert lazy["fed_score"] < 0.3 * matched["fed_score"]  # high fidelity alone does not pay
    if alignment == "target_share":  # strength-free Alignment: overfitting cannot pay either
        assert twice["fed_score"] < matched["fed_score"]
        assert lazy["alignment"] == 0.0 and lazy["fed_score"] == 0.0


@pytest.mark.parametrize("gain", GAIN.names())
def test_reg_peaks_at_the_ground_truth_strength(gain: str) -> None:
    rhos = np.array([-0.5, 0.0, 0.25, 0.5, 0.9, 1.0, 1.1, 2.0, 4.0])
    src = np.tile(SRC, (rhos.size, 1))
    gt = np.tile(GT, (rhos.size, 1))
    edit = np.clip(src + rhos[:, None] * D, 0, 1)
    reg = GAIN.get(gain)(src, gt, edit)
    assert reg[0] == 0.0 and reg[1] == 0.0  # wrong way, no change
    assert np.argmax(reg) == 5 and reg[5] == pytest.approx(1.0)
    assert np.all(np.diff(reg[1:6]) > 0) and np.all(np.diff(reg[5:]) < 0)
    assert reg[3] == pytest.approx(reg[7])  # symmetric in log(rho): half vs double


unit = st.floats(0, 1, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(unit, unit, unit)
def test_combination_cannot_be_raised_by_one_dimension(a: float, f: float, g: float) -> None:
    arr = lambda v: np.array([v])  # noqa: E731
    for name in COMBINE.names():
        comb = COMBINE.get(name)
        s = float(comb(arr(a), arr(f), arr(g))[0])
        assert 0.0 <= s <= 1.0 + 1e-12
        # bounded by the weakest dimension, whatever the other two are
        assert s <= min(a, f, g) ** (1 / 3) + 1e-12
        # maximising any single dimension leaves the score bounded by the other two
        for dims in ((1.0, f, g), (a, 1.0, g), (a, f, 1.0)):
            maxed = float(comb(*(arr(v) for v in dims))[0])
            assert maxed <= min(sorted(dims)[:2]) ** (1 / 3) + 1e-12
        assert float(comb(arr(1.0), arr(1.0), arr(0.0))[0]) == 0.0


def test_alignment_penalises_a_competing_expression() -> None:
    clean = np.array([0.1, 0.8, 0.05, 0.05, 0.05, 0.05, 0.05])
    mixed = np.array([0.1, 0.8, 0.05, 0.05, 0.05, 0.70, 0.05])  # happy and surprised at once
    wrong = np.array([0.1, 0.3, 0.05, 0.05, 0.05, 0.80, 0.05])
    edits = np.stack([clean, mixed, wrong])
    src = np.tile(SRC, (3, 1))
    happy = np.array([1, 1, 1])
    # gains over the source (neutral left out): clean .7 on happy only; mixed .7 happy + .65
    # surprised; wrong .2 happy + .75 surprised
    share = ALIGNMENT.get("target_share")(src, edits, happy, 0)
    assert share == pytest.approx([1.0, 0.7 / 1.35, 0.2 / 0.95])
    a = ALIGNMENT.get("target_margin")(src, edits, happy, 0)
    assert a[0] == pytest.approx(0.8 * (1 - 0.1))
    assert a[0] > a[1] > 0 and a[2] == pytest.approx(0.3 * 0.2)
    d = ALIGNMENT.get("dominant")(src[:2], edits[[0, 2]], happy[:2], 0)
    assert d.tolist() == [0.8, 0.0]


def test_fidelity_is_the_geometric_mean_of_the_given_parts() -> None:
    out = fed_score([SRC], [GT], [GT], ["happy"], BASIC7, quality=[0.81], id_sim=[0.64], background=[1.0])
    assert out.fidelity[0] == pytest.approx((0.81 * 0.64 * 1.0) ** (1 / 3))
    assert out.attrs["provisional"] is True
    assert out.attrs["fidelity_inputs"] == ["quality", "id_sim", "background"]
    assert out.attrs["components"]["gain"] == "ratio"
    neg = fed_score([SRC], [GT], [GT], ["happy"], BASIC7, id_sim=[-0.2])
    assert neg.fidelity[0] == 0.0 and neg.fed_score[0] == 0.0


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one of quality, id_sim, background"):
        fed_score([SRC], [GT], [GT], ["happy"], BASIC7)
    with pytest.raises(ValueError, match=r"p_edit has shape \(1, 6\), expected \(1, 7\)"):
        fed_score([SRC], [GT], [GT[:6]], ["happy"], BASIC7, quality=[1.0])
    with pytest.raises(ValueError, match=r"p_gt must lie in \[0.0, 1.0\]"):
        fed_score([SRC], [GT * 3], [GT], ["happy"], BASIC7, quality=[1.0])
    with pytest.raises(ValueError, match="targets: unknown expression 'elated'"):
        fed_score([SRC], [GT], [GT], ["elated"], BASIC7, quality=[1.0])
    with pytest.raises(ValueError, match="quality contains 1 NaN/inf"):
        fed_score([SRC], [GT], [GT], ["happy"], BASIC7, quality=[np.nan])
    with pytest.raises(UnknownNameError, match="did you mean ratio"):
        fed_score([SRC], [GT], [GT], ["happy"], BASIC7, quality=[1.0], gain="rati")
    with pytest.warns(UndefinedMetricWarning, match="REG undefined"):
        out = fed_score([SRC], [SRC], [GT], ["happy"], BASIC7, quality=[1.0])
    assert np.isnan(out.reg[0]) and np.isnan(out.fed_score[0])
