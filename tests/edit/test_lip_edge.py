"""Closed lips meet along a soft line: when an edit presses a photo's open smile shut (sad at alpha 1
and 1.5 on astronaut, feat_single, feat_happy), the largest luma step between neighbouring pixels
along the inner lower lip near each mouth corner is no larger than the photo's own largest step
along its lip outline (facebench.edit.lipline). Before the seam softening (edit.tears) the upper
lip's rim was sampled next to the lower lip's with no pixel in between: a stepped edge of 75-80
grey levels on feat_single and feat_happy at 1.5 (their photos: 39); that render is still
reachable (no lips' box) and must fail the same bound."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit import offline
from facebench.edit.lipline import corner_steps, largest_step, line_band, photo_lip_step
from facebench.edit.tears import RADIUS, STEP_LOW, soften_tears, tear_strength

#: The photos whose open smiles an edit presses shut, and the alphas looked at.
SMILES = ("astronaut", "feat_single", "feat_happy")
ALPHAS = (1.0, 1.5)


def _corner_steps(editor, prep, alpha: float) -> tuple[float, float]:
    res = editor.render(prep, ExpressionControl.single("sad", alpha))
    assert res.info["mouth_closing"] > 0.6  # the smile is (nearly) shut
    return corner_steps(res.image, res.info["mesh_moved"])


def test_largest_step_counts_pairs_inside_the_band_only():
    img = np.zeros((20, 20, 3), np.uint8)
    img[:, 10:] = 200
    band = np.zeros((20, 20), bool)
    band[5:15, 3:10] = True  # left of the edge: flat
    assert largest_step(img, band) == 0.0
    band[5:15, 10] = True  # now a pair straddles it
    assert largest_step(img, band) == pytest.approx(200.0, abs=0.01)
    line = line_band((20, 20), np.array([[2.0, 10.0], [17.0, 10.0]]), half=1)
    assert line[10, 2:18].all() and not line[14].any()


@pytest.mark.parametrize("name", SMILES)
def test_closed_lips_are_no_harder_than_the_photos_lip_edges(editor, portraits, faces, name):
    img = portraits[name]
    prep = editor.prepare(img, faces[name])
    bound = photo_lip_step(img, np.asarray(faces[name].mesh)[:, :2])
    steps = {a: _corner_steps(editor, prep, a) for a in ALPHAS}
    print(name, "photo's lip edges", round(bound, 1), "closed lips' corners",
          {a: tuple(round(v, 1) for v in s) for a, s in steps.items()})
    assert 20.0 < bound < 60.0  # the photo's own lip edges: soft, but edges
    for a, s in steps.items():
        assert max(s) <= bound, (name, a, s, bound)


def test_without_the_soft_seam_the_staircase_is_there(editor, portraits, faces, monkeypatch):
    """The measure sees the defect: the same renders without the lips' box (no softening: the
    renderer before issue 19p) step past the photo's bound on feat_single and feat_happy at 1.5."""
    monkeypatch.setattr(offline, "_lips_box", lambda moved, iod: None)
    for name in ("feat_single", "feat_happy"):
        img = portraits[name]
        prep = editor.prepare(img, faces[name])
        bound = photo_lip_step(img, np.asarray(faces[name].mesh)[:, :2])
        hard = max(_corner_steps(editor, prep, 1.5))
        print(name, "unsoftened", round(hard, 1), "photo", round(bound, 1))
        assert hard > 1.5 * bound


def test_only_the_lips_change_and_only_when_an_open_mouth_closes(editor, portraits, faces, monkeypatch):
    """The softening is confined to the lips' box of a closing open mouth: a photo whose mouth is
    closed (feat_anger) renders the same with or without it, and on an open smile pressed shut the
    pixels that change lie within the moved lips' box (and the softening's reach around it), but
    for one-grey-level echoes in the skin folds' shading."""
    cases = [("feat_anger", "sad", 1.5), ("feat_anger", "happy", 1.0), ("feat_single", "sad", 1.5)]
    soft = {c: editor.render(editor.prepare(portraits[c[0]], faces[c[0]]), ExpressionControl.single(*c[1:]))
            for c in cases}
    lips_box = offline._lips_box
    monkeypatch.setattr(offline, "_lips_box", lambda moved, iod: None)
    for c in cases:
        hard = editor.render(editor.prepare(portraits[c[0]], faces[c[0]]), ExpressionControl.single(*c[1:]))
        diff = np.abs(hard.image.astype(int) - soft[c].image.astype(int)).max(axis=2) > 0
        if c[0] == "feat_anger":
            assert not diff.any(), c
            continue
        prep = editor.prepare(portraits[c[0]], faces[c[0]])
        x0, y0, x1, y1 = lips_box(soft[c].info["mesh_moved"], prep.iod_px)
        ys, xs = np.nonzero(diff)
        assert len(ys) > 20
        outside = (xs < x0 - RADIUS) | (xs >= x1 + RADIUS) | (ys < y0 - RADIUS) | (ys >= y1 + RADIUS)
        # beyond the box only the relaxed folds' local average of the skin (edit.folds) sees the
        # softened lips: a grey level at most
        assert np.abs(hard.image.astype(int) - soft[c].image.astype(int))[ys[outside], xs[outside]].max(initial=0) <= 1
        assert outside.sum() < 0.1 * len(ys)


def test_tears_are_found_and_softened_only_near_them():
    yy, xx = np.mgrid[0:30, 0:40].astype(np.float32)
    mx, my = xx.copy(), yy.copy()
    canvas = np.zeros((30, 40, 3), np.float32)
    canvas[15:] = 200.0  # a hard step between rows 14 and 15 ...
    assert not tear_strength(canvas, mx, my).any()  # ... but the photo's own: neighbours one pixel apart
    my[15:] += 20.0  # rows 15.. sample 20 pixels further down: a tear between rows 14 and 15
    strength = tear_strength(canvas, mx, my)
    assert (strength[14:16] == 1.0).all() and (strength > 0).sum() == 2 * 40
    faint = np.where(canvas > 0, STEP_LOW - 1.0, 0.0).astype(np.float32)  # a tear of low contrast
    assert not tear_strength(faint, mx, my).any()
    before = canvas.copy()
    assert soften_tears(canvas, strength, (0, 0)) == 80
    changed = np.abs(canvas - before).max(axis=2) > 0
    rows = np.flatnonzero(changed.any(axis=1))
    assert rows.min() >= 14 - RADIUS and rows.max() <= 15 + RADIUS
    assert np.abs(np.diff(canvas[:, 20, 0])).max() < 0.5 * 200  # the step is spread over rows
