"""Brows as layers (facebench.edit.brows): a brow that is raised keeps its thickness instead of
smearing, an unmoved brow composites back to the photo, and on a real photo the edited brow is
as thick as the photo's."""

from __future__ import annotations

import cv2
import numpy as np

from facebench.edit import ExpressionControl
from facebench.edit.brows import BROW_PAIRS, brow_layers, cut_brows
from facebench.edit.retouch import composite

SKIN, HAIR = 190.0, 60.0


def _photo_and_mesh() -> tuple[np.ndarray, np.ndarray]:
    """Skin with two dark brows 6 px thick (rows 40-45) and a mesh whose brow pairs lie on their
    upper and lower edges."""
    img = np.full((100, 200, 3), SKIN, np.float32)
    img[40:46, 20:90] = HAIR
    img[40:46, 110:180] = HAIR
    mesh = np.zeros((478, 3))
    for pairs, (a, b) in zip(BROW_PAIRS, ((25, 85), (115, 175))):
        for (up, lo), x in zip(pairs, np.linspace(a, b, len(pairs))):
            mesh[up, :2] = (x, 40.5)
            mesh[lo, :2] = (x, 44.5)
    return img.astype(np.uint8), mesh


def _dark_rows(col: np.ndarray) -> np.ndarray:
    return np.flatnonzero(col.mean(-1) < (SKIN + HAIR) / 2)


def test_a_raised_brow_keeps_its_thickness():
    img, mesh = _photo_and_mesh()
    iod = 100.0
    cut = cut_brows(img, mesh, iod)
    # the filled photo has no brows left
    assert _dark_rows(cut.bare[:, 50]).size == 0 and _dark_rows(cut.bare[:, 150]).size == 0
    moved = mesh.copy()
    for pairs in BROW_PAIRS:
        for up, lo in pairs:
            moved[up, 1] -= 10  # the upper edge rises 10 px, the lower one 4: a warp would stretch it
            moved[lo, 1] -= 4
    out = cut.bare.astype(np.float32)
    for layer in brow_layers(img, cut, mesh[:, :2], moved[:, :2]):
        composite(out, *layer)
    for x in (50, 150):
        rows = _dark_rows(out[:, x])
        assert len(rows) == 6 and rows.min() == 33, rows  # 6 px thick, moved up by the mean 7 px
    # no dark band left where the brow was
    assert _dark_rows(out[:, 50])[-1] < 40


def test_an_unmoved_brow_is_the_photo_again():
    img, mesh = _photo_and_mesh()
    cut = cut_brows(img, mesh, 100.0)
    out = cut.bare.astype(np.float32)
    for layer in brow_layers(img, cut, mesh[:, :2], mesh[:, :2]):
        composite(out, *layer)
    assert np.abs(out - img).max() < 0.05 * (SKIN - HAIR)


def _thickness(img: np.ndarray, x: int, yc: float, half: int) -> int:
    """Rows darker than halfway between the window's dark and light ends, in column ``x``."""
    col = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[int(yc) - half:int(yc) + half, x].astype(float)
    lo, hi = np.percentile(col, 5), np.percentile(col, 95)
    return int((col < (lo + hi) / 2).sum())


def test_moved_brows_on_a_photo_are_as_thick_as_the_photos(editor, portraits, faces):
    """feat_anger's brows under sad at alpha 3 (where the warp would squash them by over 30 %, so
    they move as layers), three columns per brow: the dark band keeps its thickness (mean change
    at most 1.5 px; warped with the skin it changed by 2.7 px)."""
    img = portraits["feat_anger"]
    prep = editor.prepare(img, faces["feat_anger"])
    src = prep.face.mesh
    half = int(0.12 * prep.iod_px)
    for expr in ("sad",):
        res = editor.render(prep, ExpressionControl.single(expr, 3.0))
        assert res.info["brow_layer"] == 1.0
        moved = res.info["mesh_moved"]
        change = []
        for pairs in BROW_PAIRS:
            for up, lo in pairs[1:4]:
                y0, y1 = (src[up, 1] + src[lo, 1]) / 2, (moved[up, 1] + moved[lo, 1]) / 2
                before = _thickness(img, int(round((src[up, 0] + src[lo, 0]) / 2)), y0, half)
                after = _thickness(res.image, int(round((moved[up, 0] + moved[lo, 0]) / 2)), y1, half)
                change.append(abs(after - before))
        assert np.mean(change) <= 1.5, f"{expr}: brow thickness changed by {change} px"


def test_edits_up_to_alpha_one_and_a_half_leave_the_brows_to_the_warp(editor, portraits):
    prep = editor.prepare(portraits["feat_single"])
    for expr in ("sad", "fear", "surprised", "angry"):
        for a in (0.5, 1.5):
            assert editor.render(prep, ExpressionControl.single(expr, a)).info["brow_layer"] == 0.0
