"""A wide-open mouth is an oval, not a box (issue 19; facebench.edit.limits.oval_field).

Past alpha 1.5 the inner lips of the jaw's one-piece drop are put on the ellipse through their
corners and centres. Measured by :func:`facebench.edit.limits.opening_fill`, the inner-lip polygon's
area over its bounding box (lip-corner frame; rectangle 1, ellipse 0.785), on the moved mesh of
the edits. PixelSmile's gallery frames 27, measured the same way on their re-analysed meshes:
surprised 0.765, fear 0.792 (angry 0.757, sleepy 0.725). Before the rounding the offline edits of
feat_single, feat_anger and astronaut read, at alpha 2 / 3: surprised 0.810 / 0.812, 0.718 / 0.719,
0.802 / 0.802; fear 0.804 / 0.814, 0.790 / 0.801, 0.804 / 0.818; angry 0.832 / 0.842, 0.799 /
0.818, 0.833 / 0.845 (boxes: straight sides under the corners). With it: 0.683-0.772, all at or
below PixelSmile's fear frame (0.792). On a photo whose mouth is open, alpha <= 1.5 is untouched:
the rounding is never computed there. On a photo whose lips are closed the fields make the whole
opening, and the jaw's box showed at alpha 1 already (surprised on feat_anger and on the gallery's
closed-mouth sources opened as trapezoids): there the rounding applies at every alpha.
"""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit import offline
from facebench.edit.limits import FREE_ALPHA, opening_fill, shape_weight
from facebench.expressions import EXPRESSIONS

#: PixelSmile's rounder-than-an-ellipse bound: its fear frame 27 (the larger of surprised 0.765 and fear 0.792).
PIXELSMILE_FILL = 0.792


def test_opening_fill_of_a_box_an_ellipse_and_a_lens(elliptic_mouth):
    from facebench.edit.limits import _INNER_LOWER

    mesh = elliptic_mouth(0.5)
    ellipse = opening_fill(mesh)
    assert 0.74 < ellipse < np.pi / 4
    mesh[list(_INNER_LOWER), 1] = 0.5  # a flat lower lip with vertical sides: a half box
    assert opening_fill(mesh) > ellipse + 0.1


def test_shape_weight_is_zero_up_to_free_alpha_and_one_from_two():
    assert all(shape_weight(a) == 0.0 for a in (0.0, 0.5, 1.0, 1.25, FREE_ALPHA))
    assert 0.0 < shape_weight(1.75) < 1.0 and shape_weight(2.0) == shape_weight(3.0) == 1.0


@pytest.mark.parametrize("name", ["feat_single", "feat_anger", "astronaut"])
def test_wide_open_mouths_are_ovals_at_alpha_two_and_three(editor, portraits, name):
    prep = editor.prepare(portraits[name])
    for expr in ("surprised", "fear", "angry"):
        areas = []
        for alpha in (FREE_ALPHA, 2.0, 3.0):
            res = editor.render(prep, ExpressionControl.single(expr, alpha))
            moved = res.info["mesh_moved"]
            areas.append(offline.mouth_opening(moved)[0])
            if alpha > FREE_ALPHA:
                fill = opening_fill(moved)
                assert fill <= PIXELSMILE_FILL, f"{name} {expr} alpha {alpha}: fill {fill:.3f} (a box)"
        # the rounding takes the corners of the box, not the opening
        assert areas[1] >= 0.85 * areas[0] and areas[2] >= 0.85 * areas[0], f"{name} {expr}: {areas}"


def test_alpha_up_to_one_and_a_half_never_computes_the_rounding(editor, portraits, monkeypatch):
    """Every expression at alpha 0.5, 1 and 1.5 on the 4 portraits whose mouth is open renders
    without :func:`facebench.edit.limits.oval_field` or :func:`facebench.edit.aspect.aspect_field`
    being called, so its pixels are those of the editor before the rounding and the opening's
    proportions (checked once against commits 2f1b7ec and 5bc27a6: the largest difference of all
    216 renders was 0; the fields themselves changed since, built lip-sided at every alpha)."""

    def never(*args, **kwargs):
        raise AssertionError("oval_field or aspect_field called at alpha <= 1.5")

    monkeypatch.setattr(offline, "oval_field", never)
    monkeypatch.setattr(offline, "aspect_field", never)
    opened = 0
    for name in portraits:
        prep = editor.prepare(portraits[name])
        if not prep.mouth_open:
            continue
        opened += 1
        for expr in EXPRESSIONS:
            for alpha in (0.5, 1.0, 1.5):
                res = editor.render(prep, ExpressionControl.single(expr, alpha))
                assert res.info["mouth_shape"] == 0.0
    assert opened == 4


@pytest.mark.parametrize("name", ["feat_anger", "feat_disgust"])  # lips pressed shut
def test_openings_of_closed_lips_are_ovals_from_alpha_one(editor, portraits, name):
    """On a photo whose lips are closed the rounding applies at every alpha: at 1 and 1.5 the
    opening is no boxier than PixelSmile's fear frame (:data:`PIXELSMILE_FILL`), and on the
    frontal feat_anger no inner-lip vertex lies more than a tenth of the mouth's width outside
    the ellipse through the inner corners and centres (:func:`facebench.edit.limits.oval_moves`,
    measured on the moved mesh in the image; before: surprised 0.13 / 0.22 at 1 / 1.5, sleepy
    0.08 / 0.15, confused 0.08 / 0.13)."""
    from facebench.edit.limits import oval_moves

    prep = editor.prepare(portraits[name])
    assert not prep.mouth_open
    for expr in ("surprised", "fear", "angry", "sleepy", "confused", "anxious"):
        for alpha in (1.0, FREE_ALPHA):
            res = editor.render(prep, ExpressionControl.single(expr, alpha))
            moved = res.info["mesh_moved"]
            assert res.info["mouth_oval"] == 1.0
            fill = opening_fill(moved)
            assert fill <= PIXELSMILE_FILL, f"{name} {expr} alpha {alpha}: fill {fill:.3f} (a box)"
            if name == "feat_anger":
                _, d = oval_moves(moved)
                width = float(np.hypot(*(moved[308, :2] - moved[78, :2])))
                assert np.abs(d).max() <= 0.1 * width, f"{expr} alpha {alpha}: {np.abs(d).max() / width:.3f} of the width off the oval"
