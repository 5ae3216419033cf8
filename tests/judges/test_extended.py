"""Judge v2's extended expressions: facial-action prototypes relative to the source face, and the
claimed ones on real PixelSmile gallery frames (``../shared/data/pixelsmile-gallery``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facebench.base.imageio import load_image
from facebench.judges import get_judge
from facebench.judges.dataset import extract
from facebench.judges.prototypes import (ACTIONS, EXTENDED, EXTENDED_JUDGED, NEUTRAL_ACTIONS, PROTOTYPES,
                                         WITHIN_PERSON_SPREAD, extended_scores, facial_actions)
from facebench.samples import portrait_paths

GALLERY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pixelsmile-gallery" / "slider"
needs_gallery = pytest.mark.skipif(not GALLERY.is_dir(), reason="../shared/data/pixelsmile-gallery not present")


@pytest.fixture(scope="module")
def judge():
    return get_judge("offline")


def test_every_prototype_is_defined_from_known_actions_with_a_source():
    assert set(PROTOTYPES) == set(EXTENDED) and set(EXTENDED_JUDGED) <= set(EXTENDED)
    for e, p in PROTOTYPES.items():
        assert p.with_ and all(a in ACTIONS and w > 0 for a, w in p.with_ + p.without), e
        assert any(ch.isdigit() for ch in p.source) and "(" in p.source, e  # an author and a year
    assert set(WITHIN_PERSON_SPREAD) == set(NEUTRAL_ACTIONS) == {m for m, _, _ in ACTIONS.values()}
    assert all(v > 0 for v in WITHIN_PERSON_SPREAD.values())


def test_scores_are_relative_to_the_source_and_never_saturate():
    face = extract(portrait_paths()["feat_happy"])
    assert not isinstance(face, str), face
    # the same face as its own source: no action changed, nothing scored
    assert extended_scores(face, face) == {e: 0.0 for e in EXTENDED}
    # without a source, against the typical neutral face: a broad smile is not sleepy
    plain = extended_scores(face)
    assert set(plain) == set(EXTENDED) and all(0.0 <= v < 1.0 for v in plain.values())
    assert plain["sleepy"] < 0.2, plain
    # an exaggerated lid closure (upper lids 0.2 IOD down, ~8 within-person spreads) stays below 1:
    # sleepy = mean(AU43, AU54) = z / 2 with nothing excluded moving, I = A / (A + 1)
    shut = {k: np.array(v, copy=True) for k, v in face.items()}
    pts = shut["shape"].reshape(-1, 3)
    from facebench.judges.features import SHAPE_POINTS

    for p in (159, 386):
        pts[SHAPE_POINTS.index(p), 1] -= 0.2
    s = extended_scores(shut, face)
    z = 0.2 / WITHIN_PERSON_SPREAD["upper_lid"]
    assert s["sleepy"] == pytest.approx((z / 2) / (z / 2 + 1)) and 0.7 < s["sleepy"] < 1.0, s
    assert max(s, key=s.get) == "sleepy", s
    a, b = facial_actions(shut), facial_actions(face)
    assert a["upper_lid"] == pytest.approx(b["upper_lid"] - 0.2) and a["lower_lid"] == pytest.approx(b["lower_lid"])


@needs_gallery
@pytest.mark.parametrize("expr", EXTENDED_JUDGED)
def test_claimed_expression_rises_on_its_own_slider_and_not_on_the_others(judge, expr):
    def last_vs_source(name: str) -> float:
        src = load_image(GALLERY / name / "00.avif")
        j = judge.judge(load_image(GALLERY / name / "27.avif"), source=src)
        assert j.info["relative_to"] == "source"
        return j.scores[expr]

    src = load_image(GALLERY / expr / "00.avif")
    at0 = judge.judge(src, source=src).scores[expr]
    at27 = last_vs_source(expr)
    assert at0 == 0.0 and at27 > 0.4, (at0, at27)  # 0.54 for sleepy (feature version 2.4)
    # specific: frame 27 of the sliders whose faces also close their eyes (a smile, a sneer, a scowl)
    others = {name: last_vs_source(name) for name in ("shy", "disgust", "angry") if name != expr}
    assert max(others.values()) < at27 - 0.2, others
