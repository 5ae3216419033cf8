"""The offline editor on real photographs: no-op at alpha 0, untouched background, exact sweeps,
linear displacements, no folds, retouching that does what it says, identity kept, bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facebench.edit import ExpressionControl
from facebench.edit import NoFaceError
from facebench.edit.offline import OfflineEditor
from facebench.edit import landmarks as lm
from facebench.expressions import EXPRESSIONS
from facebench.face import analyze
from facebench.face.identity import embed, similarity


def _changed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != b).any(axis=2)


def test_alpha_zero_returns_the_input_unchanged(editor, portraits):
    img = portraits["feat_anger"]
    for expr in ("happy", "surprised", "sleepy"):
        res = editor.edit(img, ExpressionControl.single(expr, 0.0))
        assert np.array_equal(res.image, img) and res.image is not img
    blend = editor.edit(img, ExpressionControl.parse_blend("happy=0,shy=0"))
    assert np.array_equal(blend.image, img)


def test_a_sweep_of_eight_equals_eight_separate_edits(editor, portraits, monkeypatch):
    img = portraits["astronaut"]
    alphas = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5]
    calls = []
    real_prepare = OfflineEditor.prepare

    def counting_prepare(self, *a, **kw):
        calls.append(1)
        return real_prepare(self, *a, **kw)

    monkeypatch.setattr(OfflineEditor, "prepare", counting_prepare)
    swept = editor.sweep(img, "surprised", alphas)
    assert len(calls) == 1  # the mesh, fields and triangulation are set up once for the sweep
    singles = [editor.edit(img, ExpressionControl.single("surprised", a)) for a in alphas]
    assert len(calls) == 1 + len(alphas)
    for a, s, e in zip(alphas, swept, singles):
        assert np.array_equal(s.image, e.image), f"alpha {a}"
        assert s.control == e.control == ExpressionControl.single("surprised", a)
    blend = ExpressionControl.parse_blend("happy=0.5,surprised=0.5")
    swept = editor.sweep(img, blend, [0.5, 1.0])
    assert np.array_equal(swept[1].image, editor.edit(img, blend).image)


def test_mesh_displacement_is_linear_in_alpha(editor, portraits):
    prep = editor.prepare(portraits["feat_anger"])
    src = prep.face.mesh[:468, :2]
    res = {a: editor.render(prep, ExpressionControl.single("happy", a)).info for a in (0.4, 0.8, 1.2)}
    disp = {a: r["mesh_displacement"] for a, r in res.items()}
    assert np.abs(disp[0.8]).max() > 0.03 * prep.iod_px
    np.testing.assert_allclose(disp[0.8], 2 * disp[0.4], atol=1e-6)
    np.testing.assert_allclose(disp[1.2], 3 * disp[0.4], atol=1e-6)
    # the target is that displacement, except where lips or lids would cross (they meet instead)
    same = np.isclose(res[0.8]["mesh_target"], src + disp[0.8]).all(axis=1)
    assert same.mean() > 0.95
    assert set(np.flatnonzero(~same)) <= set(lm.LIPS_INNER + lm.EYE_R + lm.EYE_L)


@pytest.mark.parametrize("name", ["astronaut", "feat_surprise", "feat_disgust", "feat_single"])
def test_background_untouched_and_no_folds_even_when_extrapolating(editor, portraits, faces, name):
    """Every expression at alpha 1.5 and 3: pixels outside the dilated face region are unchanged
    and no triangle of the warp folds over."""
    img, face = portraits[name], faces[name]
    size = float(np.sqrt(face.mask.sum()))
    # the editor's documented reach: the outline pushed out by margin (2.2x below the chin)
    reach = int(np.ceil(editor.margin * 2.2 * size)) + 2
    allowed = cv2.dilate(face.mask.astype(np.uint8), np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)) > 0
    prep = editor.prepare(img)
    for expr in EXPRESSIONS:
        for a in (1.5, 3.0):
            res = editor.render(prep, ExpressionControl.single(expr, a))
            changed = _changed(res.image, img)
            assert changed.any(), expr
            assert not (changed & ~allowed).any(), f"{expr} {a}: pixels changed outside the dilated face region"
            assert not (changed & ~res.info["region"]).any(), f"{expr} {a}"
            assert np.isfinite(res.info["warp_points"]).all()
            assert len(prep.warp.folded(res.info["warp_points"])) == 0, f"{name} {expr} {a}: folded triangles"


def test_lips_and_lids_never_pass_each_other(editor, portraits):
    prep = editor.prepare(portraits["feat_surprise"])  # wide-open mouth
    res = editor.render(prep, ExpressionControl.single("sad", 3.0))  # presses the lips together
    m = res.info["mesh_moved"]
    up, lo = np.array(lm.LIPS_INNER_UPPER[1:-1]), np.array(lm.LIPS_INNER_LOWER[1:-1][::-1])
    assert (m[lo, 1] - m[up, 1] >= -0.5).all()
    src = prep.face.mesh
    assert (m[lo, 1] - m[up, 1]).mean() < 0.3 * (src[lo, 1] - src[up, 1]).mean()  # the mouth closed
    res = editor.render(prep, ExpressionControl.single("sleepy", 3.0))
    m = res.info["mesh_moved"]
    for upper, lower in ((lm.EYE_R_UPPER, lm.EYE_R_LOWER), (lm.EYE_L_UPPER, lm.EYE_L_LOWER)):
        assert (m[list(lower), 1] - m[list(upper), 1] >= -0.5).all()


def _poly_mask(shape, pts):
    m = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(m, [np.round(pts).astype(np.int32)], 1)
    return m.astype(bool)


def test_retouching_mouth_lids_blush_and_asymmetry(editor, portraits):
    img = portraits["feat_anger"]  # lips pressed shut
    prep = editor.prepare(img)
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(float)
    # surprise opens the mouth: a dark cavity where the lips were
    res = editor.render(prep, ExpressionControl.single("surprised", 1.0))
    inner = res.info["mesh_moved"][list(lm.LIPS_INNER)]
    cavity = cv2.erode(_poly_mask(img.shape, inner).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert cavity.sum() > 0.02 * prep.iod_px ** 2
    out_gray = cv2.cvtColor(res.image, cv2.COLOR_RGB2GRAY).astype(float)
    lips = _poly_mask(img.shape, prep.face.mesh[list(lm.LIPS_OUTER), :2])
    # at least half of the opening is shadowed cavity (the rest may show the lower teeth)
    assert np.median(out_gray[cavity]) < 0.6 * gray[lips].mean()
    # sleepy lowers the upper lids: the eyes' openings shrink and the iris is covered, not squashed
    res = editor.render(prep, ExpressionControl.single("sleepy", 1.0))
    src, moved = prep.face.mesh[:468, :2], res.info["mesh_moved"]
    for eye in (lm.EYE_R, lm.EYE_L):
        a0 = cv2.contourArea(src[list(eye)].astype(np.float32))
        a1 = cv2.contourArea(moved[list(eye)].astype(np.float32))
        assert a1 < 0.6 * a0
    # shy blushes: the cheeks get redder
    res = editor.render(prep, ExpressionControl.single("shy", 1.0))
    cheek = _poly_mask(img.shape, prep.face.mesh[list(lm.CHEEK_R), :2])
    def redness(im):
        px = im[cheek].astype(float)
        return (px[:, 0] / (px[:, 1] + 1)).mean()
    assert redness(res.image) > redness(img) + 0.03
    # contempt is one-sided: one mouth corner moves much more than the other
    res = editor.render(prep, ExpressionControl.single("contempt", 1.0))
    d = np.linalg.norm(res.info["mesh_moved"] - src, axis=1)
    assert d[61] > 3 * d[291] and d[61] > 0.02 * prep.iod_px


def test_identity_is_kept_better_than_between_different_people(editor, portraits, faces):
    names = list(portraits)
    base = {n: embed(portraits[n], faces[n].detection.box[None])[0] for n in names}
    different = max(similarity(base[a], base[b]) for i, a in enumerate(names) for b in names[i + 1:])
    rows = []
    for n in names:
        prep = editor.prepare(portraits[n])
        for expr in ("happy", "sad", "angry", "fear", "surprised", "disgust"):
            out = editor.render(prep, ExpressionControl.single(expr, 1.0)).image
            rows.append((n, expr, similarity(base[n], embed(out, faces[n].detection.box[None])[0])))
    print(f"\nidentity similarity at alpha 1 (different people: at most {different:.3f})")
    for n, expr, s in rows:
        print(f"  {n:14s} {expr:10s} {s:.3f}")
    assert min(s for *_, s in rows) > different


def test_face_selection_and_no_face(editor, group_photo, portraits):
    faces = analyze(group_photo, parts=("detection", "mesh", "mask"))
    assert len(faces) >= 2
    res = editor.edit(group_photo, ExpressionControl.single("happy", 1.0))
    assert res.face_index == 0
    changed = _changed(res.image, group_photo)
    x0, y0, x1, y1 = faces[0].detection.box.astype(int)
    assert changed[y0:y1, x0:x1].any()
    res1 = editor.edit(group_photo, ExpressionControl.single("happy", 1.0), face=1)
    assert res1.face_index == 1 and not np.array_equal(res1.image, res.image)
    res_obj = editor.edit(group_photo, ExpressionControl.single("happy", 1.0), face=faces[1])
    assert res_obj.face_index is None and np.array_equal(res_obj.image, res1.image)
    with pytest.raises(NoFaceError, match="out of range"):
        editor.edit(group_photo, ExpressionControl.single("happy", 1.0), face=len(faces))
    blank = np.full((200, 200, 3), 127, np.uint8)
    with pytest.raises(NoFaceError, match="no face"):
        editor.edit(blank, ExpressionControl.single("happy", 1.0))


def test_the_editor_version_follows_its_code(tmp_path):
    """Benchmark caches key edits by the editor's fingerprint; it must change with the code."""
    from pathlib import Path

    import facebench.edit.offline as offline
    from facebench.bench.components import Component

    editor = OfflineEditor()
    assert editor.version == offline.source_version()
    assert editor.version in Component.make("editor", "offline").fingerprint()
    here = Path(offline.__file__).parent
    copies = []
    for name in ("expression_table.py", "actions.py"):
        dst = tmp_path / name
        dst.write_bytes((here / name).read_bytes())
        copies.append(dst)
    before = offline.source_version(copies)
    copies[0].write_text(copies[0].read_text().replace('"AU6": 1.0', '"AU6": 0.9', 1))
    assert offline.source_version(copies) != before
