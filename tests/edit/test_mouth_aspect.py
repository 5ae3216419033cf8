"""A wide-open mouth stops narrowing past alpha 1.5 (issue 19; facebench.edit.aspect).

Measure: the inner-lip polygon's bounding box in the frame of its corners, height over width
(:func:`facebench.edit.aspect.mouth_aspect`), on the moved mesh of the edits. PixelSmile's gallery
frames 27 (re-analysed meshes): surprised 0.91, sleepy 0.58, angry 0.54, fear 0.54, confused 0.32,
anxious 0.30. Human range of a maximal opening: 40-60 mm tall (inter-incisal) over 46-55 mm wide
(ch-ch at rest), 0.7-1.3.

Alpha 1.5 is frozen (the classifier and motion tests are validated there) and already taller than
both: surprised 1.03-1.84, sleepy 1.58-2.67 on the four portraits below, 35-63 mm tall. Past it the
held bound is: the opening's width does not shrink below its alpha-1.5 width, and it gets no
taller for its width than at alpha 1.5 (or than PixelSmile's tallest frame 27, 0.91, for openings
that are not that tall, such as fear's). Before (main at 5bc27a6), alpha 2 / 3: surprised on
feat_single 1.57 / 1.62, feat_anger 1.34 / 1.45, astronaut 1.26 / 1.26, feat_surprise 2.20 / 2.26;
sleepy 2.24 / 2.31, 1.73 / 1.73, 2.12 / 2.20, 3.54 / 3.59 (the width 20-37 mm, shrinking from
alpha 1.5). After: surprised 1.23 / 1.25, 0.95 / 1.00, 0.97 / 0.97, 1.35 / 1.38; sleepy 1.42 /
1.45, 1.01 / 1.01, 1.30 / 1.33, 1.73 / 1.77 (the width 41-47 mm); fear unchanged (0.36-0.71).
"""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit.aspect import ASPECT_MAX, mouth_aspect, mouth_box
from facebench.edit.limits import FREE_ALPHA

#: PixelSmile's tallest open mouth: its surprised frame 27 (height over width of the inner lips).
PIXELSMILE_TALLEST = 0.91

#: The least aspect of an open-mouth edit past alpha 1.5 (unless it was flatter at 1.5 already, as
#: fear's stretched grimace is on feat_anger): PixelSmile's least-open parted frames 27 (confused
#: 0.32, anxious 0.30).
PIXELSMILE_LEAST = 0.3

#: Slack on "no narrower / no taller than at alpha 1.5" (the unfold and the lips' rounding move
#: the measured lips by a fraction of a pixel).
SLACK = 0.01


def test_mouth_box_of_an_ellipse_and_a_rolled_head(elliptic_mouth):
    mesh = elliptic_mouth(0.4)
    h, w = mouth_box(mesh)
    assert abs(w - 2.0) < 1e-9 and abs(h - 0.8) < 1e-9  # the lip centres lie on the ellipse
    c, s = np.cos(0.3), np.sin(0.3)
    rolled = mesh.copy()
    rolled[:, :2] = mesh[:, :2] @ np.array([[c, s], [-s, c]])
    assert abs(mouth_aspect(rolled) - mouth_aspect(mesh)) < 1e-9
    assert ASPECT_MAX <= PIXELSMILE_TALLEST


@pytest.mark.parametrize("name", ["feat_single", "feat_anger", "astronaut", "feat_surprise"])
def test_open_mouths_stop_narrowing_past_alpha_one_and_a_half(editor, portraits, name):
    prep = editor.prepare(portraits[name])
    for expr in ("surprised", "fear", "sleepy"):
        boxes = {}
        for alpha in (FREE_ALPHA, 2.0, 3.0):
            boxes[alpha] = mouth_box(editor.render(prep, ExpressionControl.single(expr, alpha)).info["mesh_moved"])
        h0, w0 = boxes[FREE_ALPHA]
        for alpha in (2.0, 3.0):
            h, w = boxes[alpha]
            tallest = max(h0 / w0, PIXELSMILE_TALLEST)
            flattest = min(h0 / w0, PIXELSMILE_LEAST)  # a grimace's slit (fear) may be flatter at 1.5 already
            assert w >= (1 - SLACK) * w0, f"{name} {expr} alpha {alpha}: width {w:.1f} < {w0:.1f} at 1.5"
            assert flattest - SLACK <= h / w <= tallest + SLACK, \
                f"{name} {expr} alpha {alpha}: {h / w:.2f} (bounds {flattest:.2f}-{tallest:.2f})"


@pytest.mark.xfail(strict=True, reason="sleepy's chin still folds against the warp's follow ring past 1.5: "
                   "the jaw's drop at 1.5 (frozen) does not fit the warp band, and taking it back lowers the "
                   "face's motion below its alpha-1.5 value (tests/edit/test_limits.py)")
@pytest.mark.parametrize("name", ["feat_single", "astronaut", "feat_surprise"])
def test_sleepy_lower_lip_drops_in_one_piece(editor, portraits, name):
    """The jaw drops the outer lower lip with the inner one: the outer lip's centre (17) moves 0.89-0.94
    as far as the inner lip's centre (14) at alpha 1; with the chin folded, 0.10-0.15 at 2 and 3."""
    prep = editor.prepare(portraits[name])
    src = np.asarray(prep.face.mesh, float)[:468, :2]
    for alpha in (2.0, 3.0):
        moved = editor.render(prep, ExpressionControl.single("sleepy", alpha)).info["mesh_moved"]
        inner, outer = moved[14, 1] - src[14, 1], moved[17, 1] - src[17, 1]
        assert inner > 0 and outer >= 0.5 * inner, f"{name} alpha {alpha}: outer {outer:.1f} px, inner {inner:.1f} px"
