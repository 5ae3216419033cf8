"""The motion measure (aligned mesh distance) and the offline editor against PixelSmile's gallery:
at alpha 1 the edit of ``slider/<e>/00`` must be closer to PixelSmile's frame 27 than the source is,
for all 12 expressions, and on average at most MEAN_RATIO_MAX of the source's distance.

The bound is the issue's 0.6; the measured mean is 0.581 (card facebench/edit/offline.md) (four basic rows keep part of their EMFACS
prototype, disgust and fear all of it, so that tests/edit/test_classifier_response.py still
passes; see facebench.edit.expression_table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from facebench.edit.actions import SMILE_HEADROOM_MIN, smile_headroom
from facebench.edit.canonical import load_canonical
from facebench.edit.motion import aligned_distance, gallery_motion
from facebench.expressions import EXPRESSIONS

#: The largest mean motion ratio accepted: the issue's goal (measured 0.581).
MEAN_RATIO_MAX = 0.6

SLIDER = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "pixelsmile-gallery" / "slider"


def _mesh(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.normal(size=(478, 3)) * 40 + 200
    m[33, :2], m[263, :2] = (150, 200), (250, 200)  # inter-ocular distance 100
    return m


def test_a_similar_copy_is_at_distance_zero():
    a = _mesh()
    th = 0.3
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    b = a.copy()
    b[:, :2] = 1.7 * a[:, :2] @ rot.T + [12.0, -30.0]
    assert aligned_distance(a, b) < 1e-9
    assert aligned_distance(b, a) < 1e-9


def test_distance_is_in_interocular_units_of_the_reference():
    a = _mesh(1)
    b = _mesh(2)
    d = aligned_distance(a, b)
    b2 = b.copy()
    b2[:, :2] *= 3.0  # same shape, three times larger: same distance in its own units
    assert d > 0.1 and aligned_distance(a, b2) == pytest.approx(d, rel=1e-9)


def test_moving_points_increases_the_distance_by_about_their_share():
    a = _mesh(3)
    b = a.copy()
    b[100:148, 1] += 10.0  # a tenth of the points move 0.1 inter-ocular distance
    # unaligned that is a mean of 0.01; the least-squares alignment spreads some of it over the
    # other points (it minimises squares, not the mean distance), never much
    assert 0.005 < aligned_distance(b, a) < 0.02


def test_bad_meshes_are_refused():
    with pytest.raises(ValueError, match="same"):
        aligned_distance(np.zeros((478, 2)), np.zeros((468, 2)))


def test_smile_headroom_is_full_on_a_neutral_face_and_small_on_an_apex_smile():
    neutral = load_canonical().mesh.copy()
    assert smile_headroom(neutral) == pytest.approx(1.0)
    smiling = neutral.copy()
    smiling[[61, 291], 1] -= 0.2  # corners far above the lips' centre (y down)
    assert smile_headroom(smiling) == SMILE_HEADROOM_MIN["AU12"]
    assert smile_headroom(smiling, "AU6") == SMILE_HEADROOM_MIN["AU6"]
    half = neutral.copy()
    half[[61, 291], 1] -= 0.05  # about half way to the apex: half of the cheeks' raise left,
    assert 0.4 < smile_headroom(half, "AU6") < 0.6  # a quarter of the corners'
    assert smile_headroom(half) == pytest.approx(smile_headroom(half, "AU6") ** 2)


@pytest.mark.skipif(not SLIDER.is_dir(), reason="the PixelSmile gallery (../shared) is not beside the repository")
def test_the_offline_editor_moves_faces_the_way_pixelsmile_does(editor):
    rows = gallery_motion(editor, SLIDER, EXPRESSIONS)
    for r in rows:
        print(f"{r.expression:>10s} source->27 {r.source_to_reference:.4f} edit->27 {r.edit_to_reference:.4f} "
              f"ratio {r.ratio:.2f}")
    ratios = np.array([r.ratio for r in rows])
    print(f"mean ratio {ratios.mean():.3f}")
    assert all(r.ratio < 1 for r in rows), [r.expression for r in rows if r.ratio >= 1]
    assert ratios.mean() <= MEAN_RATIO_MAX
