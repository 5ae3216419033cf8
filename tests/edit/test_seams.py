"""No seams: where the offline editor's warp region ends (the face outline pushed out by the
editor's margin), the gradient energy of every edit stays within 10% of the source photo's at
the same pixels, for all 12 expressions at alpha 1, 1.5, 2 and 3 (the editor's alpha_max) on the
bundled portraits; and the measure does see a seam when there is one."""

from __future__ import annotations

import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit.seams import border_ring, gradient_energy, seam_ratio
from facebench.expressions import EXPRESSIONS

TOLERANCE = 0.10
#: Every alpha from the full expression to the editor's largest (alpha_max = 3).
ALPHAS = (1.0, 1.5, 2.0, 3.0)


def test_gradient_energy_of_a_step_and_of_a_flat_image():
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = 100
    mask = np.zeros((40, 40), bool)
    mask[:, 20:] = True
    ring = border_ring(mask, 1)
    assert gradient_energy(np.full_like(img, 77), ring) == 0.0
    assert gradient_energy(img, ring) > 0.0


def test_the_measure_sees_a_brightened_or_blurred_region(portraits, editor):
    import cv2

    img = portraits["astronaut"]
    region = editor.prepare(img).warp.region
    brighter = img.astype(np.int16)
    brighter[region] += 25
    assert seam_ratio(img, np.clip(brighter, 0, 255).astype(np.uint8), region) > 1 + TOLERANCE
    blurred = img.copy()
    blurred[region] = cv2.GaussianBlur(img, (9, 9), 3)[region]
    assert seam_ratio(img, blurred, region) < 1 - TOLERANCE


def test_bad_masks_are_refused():
    with pytest.raises(ValueError, match="mask"):
        border_ring(np.zeros((10, 10), bool))


def test_edits_leave_no_seam_where_the_warp_ends(editor, portraits):
    worst = []
    for name, img in portraits.items():
        prep = editor.prepare(img)
        region = prep.warp.region
        for alpha in ALPHAS:
            for e in EXPRESSIONS:
                out = editor.render(prep, ExpressionControl.single(e, alpha)).image
                worst.append((abs(seam_ratio(img, out, region) - 1), name, e, alpha))
    worst.sort(reverse=True)
    print("largest departures of the border's gradient energy:", [(round(w, 3), n, e, a) for w, n, e, a in worst[:5]])
    assert worst[0][0] <= TOLERANCE, worst[:5]


def test_soft_limit_keeps_small_moves_and_bounds_large_ones():
    from facebench.edit.meshops import soft_limit

    room = np.array([10.0, 10.0, 10.0, 20.0])
    moves = np.array([[1.0, 0.0], [0.0, -1.5], [1.2, 1.6], [-5.0, 0.0]])  # 0.1, 0.15, 0.2, 0.25 of room
    out = soft_limit(moves, room, 0.15, 0.25)
    np.testing.assert_array_equal(out[:2], moves[:2])  # at or below the knee: unchanged
    lengths = np.linalg.norm(out, axis=1) / room
    assert 0.15 < lengths[2] < 0.2 and lengths[2] < lengths[3] < 0.25  # shortened, still monotone
    np.testing.assert_allclose(out[2] / np.linalg.norm(out[2]), [0.6, 0.8])  # same direction
    far = soft_limit(np.array([[300.0, 400.0]]), room[:1], 0.15, 0.25)
    assert np.linalg.norm(far) <= 0.25 * room[0] + 1e-9  # never past the cap
