"""The previous offline judge (``ensemble-v1``: fer + facex ensemble) on real photographs shipped in
packages; judge v2, the default ``offline``, is tested in test_judge_v2.py."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.expressions import BASIC6, BASIC7, EXPRESSIONS
from facebench.base.imageio import load_image
from facebench.judges import JUDGES, JudgeError, get_judge, not_judged
from facebench.samples import portrait_paths, sample_label


@pytest.fixture(scope="module")
def judge():
    return get_judge("ensemble-v1")


def test_says_what_it_cannot_judge(judge):
    assert judge.judged == BASIC6 and JUDGES.meta("ensemble-v1")["judged"] == BASIC6
    assert not_judged(judge) == tuple(e for e in EXPRESSIONS if e not in BASIC6)


@pytest.mark.parametrize("name", ["feat_happy", "feat_surprise"])
def test_posed_faces_get_their_label(judge, name):
    j = judge.judge(load_image(portrait_paths()[name]))
    assert set(j.scores) == set(BASIC7)  # nothing about the six it cannot judge
    v = j.vector()
    assert np.isnan(v[6:]).all() and np.isfinite(v[:6]).all()
    assert abs(sum(j.scores.values()) - 1.0) < 1e-6  # ensemble probabilities
    top = max(BASIC6, key=lambda e: j.scores[e])
    assert top == sample_label(name)
    assert j.judge == judge.judge_id() and len(j.info["box"]) == 4


def test_face_box_selects_the_face(judge):
    img = load_image(portrait_paths()["feat_happy"])
    auto = judge.judge(img)
    boxed = judge.judge(img, box=auto.info["box"])
    assert boxed.scores == pytest.approx(auto.scores)


def test_no_face_is_an_error_not_a_guess(judge):
    with pytest.raises(JudgeError, match="no face"):
        judge.judge(np.full((96, 96, 3), 128, np.uint8))
