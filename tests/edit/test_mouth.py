"""The inside of the mouth (facebench.edit.mouth) on the bundled photos: the rendered interior has
luminance structure -- teeth brighter than the cavity, the cavity darker away from the lips, teeth
rows no wider than the opening and lit like the face (not grey) -- and teeth keep their size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit import landmarks as lm
from facebench.edit.mouth import mouth_layer, teeth_row
from facebench.edit.retouch import MouthEdit
from facebench.edit.offline import OPEN

INNER = list(lm.LIPS_INNER_UPPER) + list(lm.LIPS_INNER_LOWER[1:-1])
N_UP = len(lm.LIPS_INNER_UPPER)


def _lum(px: np.ndarray) -> np.ndarray:
    return px.astype(float) @ np.array([0.299, 0.587, 0.114])


def _interior(editor, prep, expression: str, alpha: float):
    """The final render and the mouth layer the editor painted in it (same inputs as the editor)."""
    res = editor.render(prep, ExpressionControl.single(expression, alpha))
    src = np.asarray(prep.face.mesh, float)[:468, :2]
    moved = res.info["mesh_moved"]
    mouth_w = float(np.linalg.norm(src[61] - src[291]))
    from facebench.edit.retouch import polygon_area
    src_open = polygon_area(src[INNER]) > OPEN * mouth_w ** 2
    au26 = res.info["aus"].get("AU26", 0.0) * res.info.get("capped_aus", {}).get("AU26", 1.0)
    jaw_c = au26 * prep.au_parts("AU26").free[list(lm.CHIN)].mean(0)
    d_jaw = prep.scale * (prep.rot @ jaw_c)[:2]
    edit = MouthEdit(prep.image, src[INNER], moved[INNER], N_UP, d_jaw, prep.colours["mouth"], src_open, 1.0)
    layer = mouth_layer(edit, mouth_w, prep.colours["lips"], iod=prep.iod_px, strength=alpha)
    assert layer is not None
    x0, y0, x1, y1 = layer.box
    return res.image[y0:y1, x0:x1], layer, moved[INNER] - [x0, y0]


@pytest.mark.parametrize("expression", ["surprised", "fear", "angry"])
@pytest.mark.parametrize("alpha", [2.0, 2.5])  # fully lit from alpha 2 (mouth.new_weight)
def test_closed_mouth_opens_onto_lit_teeth_and_a_shaded_cavity(editor, portraits, expression, alpha):
    prep = editor.prepare(portraits["feat_anger"])  # lips pressed shut: everything inside is painted
    crop, layer, poly = _interior(editor, prep, expression, alpha)
    lum = _lum(crop)
    inside = layer.alpha > 0.95
    teeth = inside & (layer.teeth > 0.9)
    cav = inside & (layer.teeth < 0.05) & (layer.other < 0.05)
    assert teeth.sum() > 30 and cav.sum() > 30
    # teeth are bright and lit like the face: well above the cavity, near the skin's level, warm
    skin = float(_lum(prep.colours["skin"][None])[0])
    assert lum[teeth].mean() > 1.8 * lum[cav].mean()
    assert lum[teeth].mean() > 0.6 * skin
    rgb = crop[teeth].astype(float).mean(0)
    assert rgb[0] >= rgb[2]  # shadowed enamel turns warm, not blue-grey
    # the cavity darkens from the lips inward
    dist = cv2.distanceTransform((layer.alpha > 0.5).astype(np.uint8), cv2.DIST_L2, 3)
    d = dist[cav]
    near, far = d <= np.quantile(d, 0.3), d >= np.quantile(d, 0.7)
    assert lum[cav][near].mean() > 1.15 * lum[cav][far].mean()
    # the rows are never wider than the opening
    cols = np.nonzero(teeth.any(0))[0]
    assert np.ptp(cols) <= 0.92 * np.ptp(poly[:, 0])
    assert cols.min() >= poly[:, 0].min() and cols.max() <= poly[:, 0].max()


@pytest.mark.parametrize("name", ["astronaut", "feat_happy"])
def test_smiling_on_a_smile_reuses_the_photos_teeth_without_grey_rows(editor, portraits, name):
    prep = editor.prepare(portraits[name])  # an open smile: its own teeth show
    crop, layer, _ = _interior(editor, prep, "happy", 2.0)
    lum = _lum(crop)
    photo_teeth = float(_lum(prep.colours["mouth"].teeth[None])[0])
    painted = (layer.alpha > 0.95) & (layer.teeth > 0.9)
    if painted.sum() > 10:  # what the lifted upper lip uncovers is as light as the photo's teeth
        assert lum[painted].mean() > 0.7 * photo_teeth
    # the photo's own mouth is reused (carried, not replaced by a painted row)
    assert (layer.other > 0.9).sum() > 0.3 * (layer.alpha > 0.95).sum()


def test_teeth_keep_their_size_whatever_the_opening():
    """A narrower opening hides more of the row; it does not squeeze the teeth (the same crowns
    where both show them, away from the narrow opening's edge, where the last teeth fall into the
    cavity's shade)."""
    xs = np.arange(200, dtype=float)
    gy = np.arange(60, 100, dtype=float)[:, None] * np.ones((1, 200))
    edge = np.full(200, 90.0)
    ivory = np.array([230.0, 220.0, 200.0])
    wide, a_w = teeth_row(xs, gy, 100.0, 80.0, edge, 25.0, False, ivory)
    narrow, a_n = teeth_row(xs, gy, 100.0, 80.0, edge, 25.0, False, ivory, shown=40.0)
    both = (a_n > 0.99) & (a_w > 0.99)
    inner = both & (np.abs(xs - 100) <= 30)[None, :]  # the narrow row's first three quarters
    assert inner.sum() > 500
    np.testing.assert_allclose(wide[inner], narrow[inner])
    rim = both & (np.abs(xs - 100) >= 32)[None, :]
    assert rim.sum() > 50 and (narrow[rim].sum(-1) < wide[rim].sum(-1)).all()  # shaded, not cut to a box
    assert not (a_n[:, np.abs(xs - 100) > 41] > 0).any()


def test_the_lit_interior_takes_over_as_the_mouth_opens_or_past_alpha_two():
    from facebench.edit.mouth import new_weight
    assert new_weight(10.0, 5.0, 100.0, 1.0) == 0.0  # barely parts: the calibrated flat fill
    assert new_weight(40.0, 0.0, 100.0, 1.0) == 1.0  # opens by 0.4 of its width
    assert 0.0 < new_weight(25.0, 0.0, 100.0, 1.0) < 1.0
    assert new_weight(0.0, 30.0, 100.0, 1.5) == 0.0 and new_weight(0.0, 30.0, 100.0, 2.0) == 1.0


@pytest.mark.parametrize("name,expression,alpha", [("astronaut", "happy", 1.0), ("feat_happy", "happy", 0.6),
                                                   ("feat_surprise", "surprised", 1.0)])
def test_the_flat_fill_given_the_lit_interiors_frame_and_photo_parts_equals_it_alone(
        editor, portraits, name, expression, alpha):
    """The lit interior hands its frame and the photo's own mouth (feather 1) to the flat fill
    it is blended with: the same pixels as the flat fill computing them itself."""
    from facebench.edit import retouch

    prep = editor.prepare(portraits[name])
    moved = editor.render(prep, ExpressionControl.single(expression, alpha)).info["mesh_moved"]
    src = np.asarray(prep.face.mesh, float)[:468, :2]
    sp, dp, jaw = src[INNER], moved[INNER], np.array([0.0, 1.5])
    src_open = retouch.polygon_area(sp) > OPEN * float(np.linalg.norm(src[61] - src[291])) ** 2
    edit = retouch.MouthEdit(prep.image_f32, sp, dp, N_UP, jaw, prep.colours["mouth"], src_open, 0.8)
    alone = retouch.mouth_layer(edit, prep.iod_px)
    fr = retouch.mouth_frame(prep.image.shape[:2], sp, dp, N_UP, jaw)
    parts = retouch.photo_mouth(prep.image_f32, sp, fr) if src_open else None
    shared = retouch.mouth_layer(edit, prep.iod_px, frame=fr, photo=parts, with_alpha=False)
    assert alone[0] == shared[0] and np.array_equal(alone[1], shared[1]) and shared[2] is None
    assert alone[2].max() > 0.5
