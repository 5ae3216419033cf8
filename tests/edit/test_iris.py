"""The eyeball as a layer (facebench.edit.iris): a widening eye shows more sclera around an iris of
the same radius; the iris the photo's lid hid is completed from the photo's own iris."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit.iris import EyeColours, eye_layer
from facebench.edit.retouch import composite
from facebench.face import analyze

SKIN, SCLERA = np.array([200.0, 150.0, 130.0]), np.array([225.0, 220.0, 215.0])


def _eye(aperture: float, n: int = 8) -> np.ndarray:
    """An almond-shaped opening centred at (50, 40), 60 px wide: corner, upper lid (7), corner,
    lower lid (7), as the mesh's eye contours."""
    xs = 50 + 30 * np.cos(np.linspace(np.pi, 0, n + 1))
    up = 40 - aperture / 2 * np.sin(np.linspace(np.pi, 0, n + 1))
    lo = 40 + aperture / 2 * np.sin(np.linspace(0, np.pi, n + 1))
    upper = np.c_[xs, up]
    lower = np.c_[xs[::-1], lo][1:-1]
    return np.vstack([upper, lower])


def _photo(radius: float = 9.0) -> np.ndarray:
    """Skin, an open eye 10 px high whose lids hide the top and bottom of a ringed iris."""
    h, w = 80, 100
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.broadcast_to(SKIN, (h, w, 3)).copy()
    r = np.hypot(gx - 50, gy - 40)
    iris = np.where((r < radius)[..., None], np.array([60.0, 90.0, 120.0]) + 40 * (r / radius)[..., None], SCLERA)
    import cv2
    m = np.zeros((h, w), np.uint8)
    cv2.fillPoly(m, [np.round(_eye(10.0)).astype(np.int32)], 1)
    img[m > 0] = iris[m > 0]
    return img.astype(np.uint8)


def test_a_widened_eye_shows_sclera_around_an_iris_of_the_same_radius():
    img = _photo()
    out = img.astype(np.float32)
    layer = eye_layer(img, _eye(10.0), _eye(26.0), np.zeros(2), np.array([50.0, 40.0]), 9.0,
                      EyeColours(sclera=SCLERA, iris=np.array([70.0, 100.0, 130.0]), lit_sclera=SCLERA))
    composite(out, *layer)
    # the iris column through the centre: iris (bluish) from 31 to 49, sclera above and below it
    col = out[:, 50]
    blue = col[:, 2] - col[:, 0] > 30
    rows = np.flatnonzero(blue)
    assert rows.min() >= 30 and rows.max() <= 50 and len(rows) >= 16  # radius 9 kept, not 13
    assert (col[28:30] > 150).all() and (col[51:53] > 150).all()  # white above and below it
    # the iris the lids hid is the mirror of what they hid on the other side (same ring gradient)
    np.testing.assert_allclose(out[33, 50], out[47, 50], atol=12)
    # outside the new opening nothing changes
    assert np.array_equal(out[5:20].astype(np.uint8), img[5:20])


def _iris_and_opening(mesh: np.ndarray) -> np.ndarray:
    """(iris radius, lid aperture) of both eyes, pixels."""
    out = []
    for centre, ring, up, lo in ((468, (469, 470, 471, 472), 159, 145), (473, (474, 475, 476, 477), 386, 374)):
        r = np.linalg.norm(mesh[list(ring), :2] - mesh[centre, :2], axis=1).mean()
        out.append((r, np.linalg.norm(mesh[lo, :2] - mesh[up, :2])))
    return np.array(out)


@pytest.mark.parametrize("name", ["astronaut", "feat_anger", "feat_single"])
def test_the_analysed_edit_has_a_wider_eye_but_the_same_iris(editor, portraits, faces, name):
    """Surprise at alpha 1 and 2, analysed again: the lid aperture grows (by 5 % or more), the
    iris radius by far less (the landmark model's own error on a warped photo is ~10 %)."""
    src = _iris_and_opening(np.asarray(faces[name].mesh, np.float64))
    prep = editor.prepare(portraits[name], faces[name])
    for alpha in (1.0, 2.0):
        res = editor.render(prep, ExpressionControl.single("surprised", alpha))
        got = _iris_and_opening(np.asarray(analyze(res.image, parts=("detection", "mesh"))[0].mesh, np.float64))
        iris, opening = got[:, 0] / src[:, 0], got[:, 1] / src[:, 1]
        assert (opening > 1.05).all(), f"{name} {alpha}: the eyes did not widen ({opening})"
        assert (iris < 1.15).all(), f"{name} {alpha}: the iris grew ({iris})"
        # half the opening's growth, give or take half a pixel of the landmark model's radius
        slack = 0.5 / src[:, 0]
        assert ((iris - 1) < 0.5 * (opening - 1) + slack).all(), f"{name} {alpha}: iris {iris} scales with opening {opening}"
