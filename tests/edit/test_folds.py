"""Skin folds that follow the expression (facebench.edit.folds), on the bundled photos: a smile
darkens the nasolabial fold and brightens the cheek beside it, relaxing a smile fades the
photo's own fold, strengths follow the action units' amounts, nothing changes outside the face
mask, and alpha 0 changes nothing."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facebench.base.pixels import luma
from facebench.edit import ExpressionControl
from facebench.edit.expression_table import recipe
from facebench.edit.folds import creases, nasolabial_curves, shade, smooth_curve
from facebench.expressions import EXPRESSIONS

SMILING = ("astronaut", "feat_single", "feat_happy")


def _iod(mesh: np.ndarray) -> float:
    return float(np.linalg.norm(mesh[33, :2] - mesh[263, :2]))


def fold_profile(image: np.ndarray, mesh: np.ndarray, offsets: tuple[float, ...]) -> np.ndarray:
    """Mean luma (lightly blurred) at ``offsets`` (fractions of the eye-corner distance, + toward
    the cheek) across the middle third of both nasolabial folds placed by ``mesh``."""
    iod = _iod(mesh)
    lum = cv2.GaussianBlur(luma(np.asarray(image, np.float32), np.float32), (0, 0), 0.6)
    rows = []
    for pts, toward in nasolabial_curves(np.asarray(mesh, float)[:, :2], iod):
        curve = smooth_curve(pts, 1.0)
        n = len(curve)
        for i in range(int(0.3 * n), int(0.6 * n)):
            tangent = curve[min(i + 1, n - 1)] - curve[max(i - 1, 0)]
            normal = np.array([-tangent[1], tangent[0]]) / max(float(np.linalg.norm(tangent)), 1e-9)
            normal *= 1.0 if normal @ toward >= 0 else -1.0
            at = np.array([curve[i] + o * iod * normal for o in offsets], np.float32)
            rows.append(cv2.remap(lum, at[:, :1], at[:, 1:], cv2.INTER_LINEAR)[:, 0])
    return np.mean(rows, axis=0)


def _amounts(expression: str, alpha: float) -> dict[str, float]:
    return {au: alpha * w for au, w in recipe(expression).aus.items()}


@pytest.mark.parametrize("name", ["astronaut", "feat_single", "feat_anger", "feat_surprise", "feat_disgust"])
def test_a_smile_darkens_the_fold_and_brightens_the_cheek(portraits, faces, name):
    """Shading alone (the photo and its mesh, happy's amounts at alpha 1): the luma in the fold
    drops and on the cheek beside it rises."""
    img, mesh = portraits[name], faces[name].mesh
    canvas = img.astype(np.float32)
    shade(canvas, img, faces[name].mask, mesh[:468, :2], _amounts("happy", 1.0), _iod(mesh))
    before = fold_profile(img, mesh, (0.0, 0.13))
    after = fold_profile(canvas, mesh, (0.0, 0.13))
    print(name, "fold, cheek luma before", before.round(1), "after", after.round(1))
    assert after[0] < 0.93 * before[0]
    assert after[1] > 1.01 * before[1]


def test_the_happy_edit_shows_a_deeper_fold_than_the_photo(editor, portraits, faces):
    """The whole editor at happy alpha 1: across the fold (placed by each image's own mesh) the
    cheek-minus-fold luma contrast of the edit exceeds the photo's, on every portrait that does
    not smile (those that do keep their own folds: see the next test)."""
    rows = []
    for name in ("feat_anger", "feat_surprise", "feat_disgust"):
        img, face = portraits[name], faces[name]
        res = editor.edit(img, ExpressionControl.single("happy", 1.0), face=face)
        src = fold_profile(img, face.mesh, (0.0, 0.13))
        out = fold_profile(res.image, res.info["mesh_moved"], (0.0, 0.13))
        rows.append((name, float(src[1] - src[0]), float(out[1] - out[0])))
    print("cheek - fold luma (photo, happy 1):", [(n, round(a, 1), round(b, 1)) for n, a, b in rows])
    assert all(b > a + 3.0 for _, a, b in rows), rows


def test_a_face_smiling_at_the_apex_gets_no_new_smile_folds(editor, portraits, faces):
    """The astronaut smiles at the apex (smile headroom at its minimum): happy adds no nasolabial
    fold or cheek bulge to it (the warp carries its own); feat_single, smiling a little less,
    gets a small part of them, and a face that does not smile the whole."""
    from facebench.edit.folds import fold_headroom

    room = {n: fold_headroom(editor.prepare(portraits[n], faces[n]).builder.mesh)
            for n in ("astronaut", "feat_single", "feat_anger")}
    print("fold headroom:", {n: round(r, 3) for n, r in room.items()})
    assert room["astronaut"] == 0.0 and 0.0 < room["feat_single"] < 0.3 and room["feat_anger"] == 1.0
    mesh = faces["astronaut"].mesh[:468, :2]
    assert creases(mesh, _amounts("happy", 1.0), _iod(faces["astronaut"].mesh), room["astronaut"]) == []


@pytest.mark.parametrize("name", SMILING)
def test_relaxing_a_smile_fades_the_photos_fold(portraits, faces, name):
    """R12 (a smile taken away) at full strength: the cheek-minus-fold contrast of a smiling
    photo shrinks by at least 15 % (RELAX_MAX = 0.5 removes about a fifth of it)."""
    img, mesh = portraits[name], faces[name].mesh
    canvas = img.astype(np.float32)
    info = shade(canvas, img, faces[name].mask, mesh[:468, :2], {"R12": 1.0}, _iod(mesh))
    assert info == {"creases": 0, "relaxed": 4}
    before = fold_profile(img, mesh, (0.0, 0.13))
    after = fold_profile(canvas, mesh, (0.0, 0.13))
    print(name, "contrast before", round(float(before[1] - before[0]), 2), "after", round(float(after[1] - after[0]), 2))
    assert before[1] - before[0] > 2.0  # the photo does show a fold there
    assert after[1] - after[0] < 0.85 * (before[1] - before[0])


def test_strength_follows_the_amount(faces):
    """Below alpha 1.5 a crease's strength is linear in alpha; past it, it saturates (less than
    linear, still growing)."""
    mesh = faces["feat_single"].mesh[:468, :2]
    iod = _iod(faces["feat_single"].mesh)
    for expr in ("happy", "surprised", "angry", "disgust", "fear", "confused"):
        s = {a: [c.strength * max(c.profile or (1.0,)) for c in creases(mesh, _amounts(expr, a), iod)]
             for a in (0.5, 1.0, 2.0, 3.0)}
        assert s[1.0], expr  # each of these makes creases
        assert np.allclose(s[1.0], 2 * np.array(s[0.5])), expr
        assert all(abs(b) <= 2 * abs(a) + 1e-12 and abs(c) > abs(b) for a, b, c in zip(s[1.0], s[2.0], s[3.0])), expr


def test_nothing_changes_outside_the_face_mask(portraits, faces):
    for name in ("astronaut", "feat_single", "feat_anger"):
        img, face = portraits[name], faces[name]
        for expr in EXPRESSIONS:
            canvas = img.astype(np.float32)
            for aus in (_amounts(expr, 2.0), {"R12": 1.0, **_amounts(expr, 2.0)}):
                shade(canvas, img, face.mask, face.mesh[:468, :2], aus, _iod(face.mesh))
            assert np.array_equal(canvas[~face.mask], img[~face.mask].astype(np.float32)), (name, expr)
        assert not np.array_equal(canvas, img.astype(np.float32))


def test_no_action_changes_nothing(editor, portraits, faces):
    img, face = portraits["feat_single"], faces["feat_single"]
    canvas = img.astype(np.float32)
    assert shade(canvas, img, face.mask, face.mesh[:468, :2], {}, _iod(face.mesh)) == {"creases": 0, "relaxed": 0}
    assert shade(canvas, img, face.mask, face.mesh[:468, :2], {"AU12": 0.0, "R12": 0.0}, _iod(face.mesh))["creases"] == 0
    assert np.array_equal(canvas, img.astype(np.float32))
    assert np.array_equal(editor.edit(img, ExpressionControl.single("happy", 0.0), face=face).image, img)


def test_folds_travel_with_the_mesh(portraits, faces):
    """The shading is placed by the mesh it is given: moving the mesh by (dx, dy) moves the
    change made by the same amount."""
    img, face = portraits["feat_single"], faces["feat_single"]
    mesh = face.mesh[:468, :2]
    full = np.ones(img.shape[:2], bool)
    grey = np.full(img.shape, 150.0, np.float32)
    a, b = grey.copy(), grey.copy()
    shade(a, img, full, mesh, _amounts("angry", 1.0), _iod(face.mesh))
    shade(b, img, full, mesh + [7.0, 4.0], _amounts("angry", 1.0), _iod(face.mesh))
    assert np.abs(a - grey).max() > 5
    assert np.abs(b[24:, 27:] - a[20:-4, 20:-7]).max() < 1.0


def test_strength_saturates_past_the_knee(faces):
    """A smile's nasolabial fold at alpha 3 (amounts near 3) is well under 3x its alpha-1 depth."""
    mesh = faces["feat_single"].mesh[:468, :2]
    iod = _iod(faces["feat_single"].mesh)
    one, three = (creases(mesh, _amounts("happy", a), iod)[0].strength for a in (1.0, 3.0))
    assert 1.2 * abs(one) < abs(three) < 2.2 * abs(one)


def _nearest_on_curve_reference(curve: np.ndarray, box: tuple[int, int, int, int], reach: float):
    """The straightforward nearest-segment search: every pixel of ``box`` against every segment,
    in order, the first at the least distance kept (what folds._nearest_on_curve must equal
    within ``reach`` of the curve)."""
    x0, y0, x1, y1 = box
    gy, gx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    a, b = curve[:-1], curve[1:]
    seg = b - a
    length = np.maximum(np.linalg.norm(seg, axis=1), 1e-9)
    cum = np.r_[0.0, np.cumsum(length)]
    best = np.full(gx.shape, np.inf)
    signed, along, nx, ny = (np.zeros(gx.shape) for _ in range(4))
    for i in range(len(seg)):
        px, py = gx - a[i, 0], gy - a[i, 1]
        t = np.clip((px * seg[i, 0] + py * seg[i, 1]) / length[i] ** 2, 0.0, 1.0)
        ex, ey = px - t * seg[i, 0], py - t * seg[i, 1]
        d2 = ex * ex + ey * ey
        closer = d2 < best
        best = np.where(closer, d2, best)
        n = np.array([-seg[i, 1], seg[i, 0]]) / length[i]
        side = np.where(ex * n[0] + ey * n[1] >= 0, 1.0, -1.0)
        signed = np.where(closer, side * np.sqrt(d2), signed)
        along = np.where(closer, (cum[i] + t * length[i]) / cum[-1], along)
        nx = np.where(closer, n[0], nx)
        ny = np.where(closer, n[1], ny)
    return signed, along, nx, ny


def _shade_into_reference(out, origin, crease, box, light, combine_max):
    """The crease's term written out as whole-array formulas (folds.crease_shading's docstring)
    over every pixel of ``box``, its distances from :func:`_nearest_on_curve_reference`: what the
    compiled per-pixel kernel (folds._shade_into) must equal."""
    from facebench.edit import folds

    def smoothstep(a):
        a = np.clip(a, 0, 1)
        return a * a * (3 - 2 * a)

    w_minus, w_plus = crease.half_widths
    curve = smooth_curve(crease.points, max(1.0, 0.5 * min(w_minus, w_plus)))
    signed, t, nx, ny = _nearest_on_curve_reference(curve, box, folds._reach(crease))
    k = max(len(curve) // 2, 1)
    mid = curve[k] - curve[k - 1]
    flip = 1.0 if (-mid[1] * crease.outward[0] + mid[0] * crease.outward[1]) >= 0 else -1.0
    d = flip * signed - crease.offset
    u = np.where(d < 0, d / w_minus, d / w_plus)
    start, end = crease.ends
    along = ((smoothstep(t / start) if start > 0 else np.ones_like(t))
             * (smoothstep((1 - t) / end) if end > 0 else np.ones_like(t)))
    if crease.ripple:
        length = float(np.linalg.norm(np.diff(curve, axis=0), axis=1).sum())
        waves = max(1.0, length / (4.0 * max(w_minus, w_plus)))
        along = along * (1.0 - crease.ripple * 0.5 * (1 + np.sin(2 * np.pi * waves * t + crease.phase)))
    if crease.profile:
        along = along * np.interp(t, np.linspace(0, 1, len(crease.profile)), crease.profile)
    facing = flip * (light[0] * nx + light[1] * ny)
    v = np.clip(1.0 - u * u, 0.0, None)
    part = crease.strength * along * (v * v * v - folds.K_LIGHT * facing * (-6.0 * u * v * v))
    x0, y0, x1, y1 = box
    view = out[y0 - origin[1]:y1 - origin[1], x0 - origin[0]:x1 - origin[0]]
    if combine_max:
        np.maximum(view, part, out=view)
    else:
        view += part


def _random_crease(rng: np.random.Generator):
    """A crease with random points, widths, offset, ends, ripple and profile."""
    from facebench.edit.folds import Crease

    pts = np.cumsum(rng.uniform(-15, 25, size=(int(rng.integers(2, 8)), 2)), axis=0) + 60
    return Crease(pts, float(rng.uniform(-0.2, 0.5)), (float(rng.uniform(0.5, 9)), float(rng.uniform(0.5, 9))),
                  rng.normal(size=2), offset=float(rng.choice([0.0, rng.uniform(-5, 5)])),
                  ends=(float(rng.choice([0.0, rng.uniform(0, 0.5)])), float(rng.choice([0.0, rng.uniform(0, 0.5)]))),
                  ripple=float(rng.choice([0.0, rng.uniform(0, 1)])), phase=float(rng.uniform(0, 6)),
                  profile=tuple(rng.uniform(0, 1, int(rng.choice([0, 2, 9])))))


def test_nearest_on_curve_equals_the_search_over_every_segment_on_random_curves():
    """Within ``reach`` of random polylines (every pixel against every segment in the reference),
    the windowed, compiled search gives the same floats; beyond it, the ``2 * reach`` default or
    a segment farther than ``reach``, as nothing is shaded there."""
    from facebench.edit.folds import _nearest_on_curve

    rng = np.random.default_rng(5)
    checked = 0
    for _ in range(40):
        curve = smooth_curve(np.cumsum(rng.uniform(-12, 20, size=(int(rng.integers(2, 7)), 2)), axis=0) + 50, 1.5)
        box = (int(rng.integers(0, 40)), int(rng.integers(0, 40)), int(rng.integers(60, 160)), int(rng.integers(60, 160)))
        reach = float(rng.uniform(1, 15))
        got = _nearest_on_curve(curve, box, reach)
        want = _nearest_on_curve_reference(curve, box, reach)
        near = np.abs(want[0]) <= reach
        for g, w in zip(got, want):
            assert np.array_equal(g[near], w[near])
        assert np.all(np.abs(got[0][~near]) > reach)
        checked += int(near.sum())
    assert checked > 10_000


def test_crease_terms_equal_the_array_formulas_on_random_creases(monkeypatch):
    """Summed and maximised into a crop, random creases' terms (ends, ripple, profile, offset,
    lit from a random side) are the floats of the whole-array formulas, pixel for pixel."""
    from facebench.edit.folds import _accumulate
    import facebench.edit.folds as folds

    rng = np.random.default_rng(11)
    for _ in range(60):
        cs = [_random_crease(rng) for _ in range(3)]
        light = rng.normal(size=2) * 0.5
        box = (int(rng.integers(0, 40)), int(rng.integers(0, 40)), int(rng.integers(80, 200)), int(rng.integers(80, 200)))
        for combine in ("sum", "max"):
            got = _accumulate(cs, box, light, combine)
            with monkeypatch.context() as m:
                m.setattr(folds, "_shade_into", _shade_into_reference)
                want = _accumulate(cs, box, light, combine)
            assert np.array_equal(got, want)
        assert np.abs(got).max() > 0


@pytest.mark.parametrize("name", ["astronaut", "feat_anger", "feat_happy"])
def test_the_fast_paths_match_the_straightforward_shading(portraits, faces, monkeypatch, name):
    """The folds' fast paths -- the compiled per-pixel crease terms, the nearest segment searched
    only within reach, the per-source set-up kept (the light fitted on a blur of the mask's box
    only), the relaxed folds' blurs only around the bands -- give the same pixels as the
    straightforward ones (array formulas, every segment for every pixel, everything recomputed,
    the light's blur over the whole photo, the relaxed folds' blurs over the whole crop), on every expression at alpha 1 and 2, with a smile relaxed and not."""
    import cv2

    from facebench.edit import folds

    img, face = portraits[name], faces[name]
    mesh, iod = face.mesh[:468, :2], _iod(face.mesh)
    setup = folds.fold_setup(img, face.mask, iod)
    # the light from a blur of the whole photo
    ys, xs = np.nonzero(face.mask)
    ys, xs = ys[::max(1, len(xs) // 4000)], xs[::max(1, len(xs) // 4000)]
    y = np.log(np.maximum(cv2.GaussianBlur(luma(img, np.float32), (0, 0), max(1.0, 0.08 * iod))[ys, xs], 1.0))
    g = np.linalg.lstsq(np.c_[np.ones(len(xs)), (xs - xs.mean()) / iod, (ys - ys.mean()) / iod], y, rcond=None)[0][1:]
    assert np.array_equal(setup.light, g / (np.linalg.norm(g) + 0.5))
    cases = [{**_amounts(e, a), **({"R12": 1.0} if relax else {})}
             for e in EXPRESSIONS for a in (1.0, 2.0) for relax in (False, True)]
    fast = []
    for aus in cases:
        canvas = img.astype(np.float32)
        shade(canvas, img, face.mask, mesh, aus, iod, setup=setup)
        fast.append(canvas)
    monkeypatch.setattr(folds, "_shade_into", _shade_into_reference)
    monkeypatch.setattr(folds, "_blur_reach", lambda sigma: 10 ** 6)
    worst = 0.0
    for aus, got in zip(cases, fast):
        canvas = img.astype(np.float32)
        shade(canvas, img, face.mask, mesh, aus, iod)
        worst = max(worst, float(np.abs(got - canvas).max()))
        assert not np.array_equal(canvas, img.astype(np.float32))
    print(name, "max abs difference:", worst)
    assert worst == 0.0


def test_smooth_curve_is_scipys_natural_cubic_spline():
    """folds' own spline (cheaper per crease than building a CubicSpline) gives scipy's natural
    cubic spline through the same points, parametrised by chord length."""
    from scipy.interpolate import CubicSpline

    rng = np.random.default_rng(3)
    for n in (3, 4, 7):
        pts = np.cumsum(rng.uniform(2, 9, size=(n, 2)), axis=0)
        got = smooth_curve(pts, step=1.5)
        chord = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
        at = np.linspace(0, chord[-1], len(got))
        want = CubicSpline(chord, pts, bc_type="natural")(at)
        np.testing.assert_allclose(got, want, atol=1e-9)
        np.testing.assert_allclose(got[[0, -1]], pts[[0, -1]], atol=1e-9)
