"""The editor's fast paths give what the direct computations give, on the bundled photos: the
pruned opening-crossing test (every vertex pair), point location without LAPACK against scipy's
Delaunay, greedy thinning against the plain loop, the ROI-only float canvas against the
whole-image warp; and the per-source set-up cache returns the same edits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import Delaunay

from facebench.edit import ExpressionControl, get_editor
from facebench.edit.actions import FieldBuilder, _crosses, _crosses_pruned
from facebench.edit.expression_table import recipe
from facebench.edit.meshops import thin
from facebench.edit.canonical import visible_vertices
from facebench.edit.offline import SETUP_CACHE, expressions_supported

NAMES = ("astronaut", "feat_surprise", "feat_happy", "feat_anger", "feat_disgust", "feat_single")


@pytest.fixture(scope="module")
def prepared(portraits, faces):
    ed = get_editor("offline")
    return {k: ed.prepare(portraits[k], faces[k]) for k in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_pruned_crossing_test_equals_every_pair_against_every_segment(prepared, name):
    b = prepared[name].builder
    pts = b._cross_pts  # the mesh with each inner lip on its own side (actions.lip_sided)
    full = _crosses(pts, pts, b._segs)
    assert full.sum() > 1000  # the openings do separate many pairs
    assert np.array_equal(_crosses_pruned(pts, pts, b._segs), full)
    cols = np.array([61, 291, 13, 14, 159, 145, 386, 374, 152, 10])
    assert np.array_equal(b.blocked(cols), full[:, cols])


@pytest.mark.parametrize("name", NAMES)
def test_point_location_matches_scipy_delaunay(prepared, faces, name):
    warp = prepared[name].warp
    src = np.asarray(faces[name].mesh, np.float64)[:468, :2]
    ok, verts, bary = warp.locate(src)
    d = Delaunay(np.vstack([warp.points, warp.anchors]))
    simp = d.find_simplex(src)
    assert np.array_equal(ok, simp >= 0)
    tr = d.transform[simp[ok]]
    b = np.einsum("nij,nj->ni", tr[:, :2], src[ok] - tr[:, 2])
    ref_bary = np.column_stack([b, 1 - b.sum(1)])
    pts = np.vstack([warp.points, warp.anchors])
    # the same place (a point on an edge may be given either triangle)
    mine = np.einsum("ni,nij->nj", bary, pts[verts])
    theirs = np.einsum("ni,nij->nj", ref_bary, pts[d.simplices[simp[ok]]])
    assert np.abs(mine - src[ok]).max() < 1e-9 and np.abs(theirs - src[ok]).max() < 1e-9
    moved = warp.points + np.random.default_rng(0).normal(0, 0.5, warp.points.shape)
    dst = np.vstack([moved, warp.anchors])
    ref = src.copy()
    ref[ok] = np.einsum("ni,nij->nj", ref_bary, dst[d.simplices[simp[ok]]])
    assert np.abs(warp.forward(src, moved) - ref).max() < 1e-9


@pytest.mark.parametrize("shape", ["rising", "falling", "zigzag", "apart"])
def test_pruned_crossing_test_on_other_lines(shape):
    """Lines whose x rises, falls or turns back, and separate segments; points spread around
    them and some put on the lines' vertices and segments (ties): the same answers as every
    pair against every segment, also when only some pairs are asked."""
    rng = np.random.default_rng(7)
    x = np.sort(rng.uniform(-1, 1, 16))
    y = 0.2 * np.sin(3 * x)
    if shape == "falling":
        x = x[::-1]
    if shape == "zigzag":
        x = np.where(np.arange(16) % 4 == 3, x - 0.3, x)
    v = np.column_stack([x, y])
    segs = np.stack([v[:-1], v[1:]], axis=1)
    if shape == "apart":
        segs = segs + rng.normal(0, 0.05, segs.shape)
    segs = np.concatenate([segs, segs[:, ::-1] * [1.0, -1.0] + [0.0, 0.5]])  # a second line
    pts = np.vstack([rng.uniform(-1.3, 1.3, (300, 2)), v, (v[:-1] + v[1:]) / 2, v[:3] + [0.0, 1e-17]])
    full = _crosses(pts, pts, segs)
    assert full.sum() > 1000
    assert np.array_equal(_crosses_pruned(pts, pts, segs), full)
    need = rng.random(full.shape) < 0.3
    assert np.array_equal(_crosses_pruned(pts, pts, segs, need=need), full & need)


@pytest.mark.parametrize("name", NAMES[:4])
def test_fields_asked_lazily_and_prefetched_equal_those_from_every_pair(prepared, name):
    """A spread asks only about the rows it keeps (not its members, not receivers of weight 0),
    and prefetch answers a whole control's questions at once: every field equals, bit for bit,
    the one built with the crossing test answered for every vertex pair."""
    own = prepared[name].builder.mesh
    full = FieldBuilder(own)
    full.blocked(np.arange(len(own)))
    assert full._blocked_known.all()
    for expr in expressions_supported():
        aus = [a for a, w in recipe(expr).aus.items() if w]
        lazy = FieldBuilder(own)
        lazy.prefetch(aus)
        asked = lazy._blocked_known.sum()
        assert 0 < asked < len(own) ** 2
        for au in aus:
            a, b = full.au_parts(au), lazy.au_parts(au)
            assert a.free.tobytes() == b.free.tobytes(), (expr, au)
            assert [(o, f) for o, f, _ in a.closing] == [(o, f) for o, f, _ in b.closing]
            assert all(x.tobytes() == y.tobytes() for (_, _, x), (_, _, y) in zip(a.closing, b.closing))
        assert lazy._blocked_known.sum() == asked, f"{expr}: a field asked what prefetch did not answer"


def _thin_plain(xy, candidates, min_sep, always, priority):
    """The greedy rule written out directly: keep ``always``, then each vertex no closer than
    ``min_sep`` to every kept one, in priority order."""
    cand = set(int(i) for i in candidates)
    kept = [i for i in dict.fromkeys(always) if i in cand]
    for i in [i for i in dict.fromkeys(priority) if i in cand] + sorted(cand - set(priority)):
        if i not in kept and (not kept or np.min(np.linalg.norm(xy[kept] - xy[i], axis=1)) >= min_sep):
            kept.append(i)
    return np.array(sorted(kept))


@pytest.mark.parametrize("name", NAMES)
def test_thinning_matches_the_plain_greedy_loop(faces, name):
    from facebench.edit import meshops

    xy = np.asarray(faces[name].mesh, np.float64)[:468, :2]
    iod = float(np.linalg.norm(xy[33] - xy[263]))
    for sep in (0.012 * iod, 0.03 * iod):
        got = thin(xy, visible_vertices(xy), sep)
        assert np.array_equal(got, _thin_plain(xy, visible_vertices(xy), sep, meshops._ALWAYS, meshops._PRIORITY))


@pytest.mark.parametrize("name", ("astronaut", "feat_happy"))
def test_roi_canvas_gives_the_whole_image_warp(prepared, editor, name):
    prep = prepared[name]
    res = editor.render(prep, ExpressionControl.single("surprised", 1.0))
    moved = res.info["warp_points"]
    full = prep.warp.render(prep.image, moved)
    canvas = prep.warp.render_canvas(prep.image, moved)
    assert np.array_equal(prep.warp.finish(prep.image, canvas), full)
    assert not np.array_equal(full, prep.image)


def test_set_up_cache_reuses_a_source_and_keeps_its_own_copy(portraits):
    ed = get_editor("offline")
    img = portraits["astronaut"].copy()
    c = ExpressionControl.single("happy", 1.0)
    first = ed.edit(img, c).image
    prep = ed.prepare(img)
    assert ed.prepare(img.copy()) is prep  # same pixels, same set-up
    assert np.array_equal(ed.edit(img, c).image, first)
    sweep = ed.sweep(img, "happy", [0.5, 1.0])
    assert np.array_equal(sweep[1].image, first)
    img[:] = 0  # the caller's array changes: the cached set-up keeps the pixels it was made from
    assert np.array_equal(ed.edit(portraits["astronaut"], c).image, first)
    for k in NAMES[1:]:
        ed.prepare(portraits[k])
    assert len(ed._setups) == SETUP_CACHE and ed.prepare(portraits["astronaut"]) is not prep


def test_the_jaw_field_is_built_only_for_controls_that_move_it(portraits):
    """The jaw's field (AU26) is the costliest; an expression without it (sad) never builds it,
    and its edit is the same whether or not the field is already there."""
    ed = get_editor("offline")
    prep = ed.prepare(portraits["astronaut"])
    sad = ExpressionControl.single("sad", 1.0)
    assert "AU26" not in recipe("sad").aus
    first = ed.render(prep, sad).image
    assert "AU26" not in prep.fields
    ed.render(prep, ExpressionControl.single("surprised", 1.0))
    assert "AU26" in prep.fields
    assert np.array_equal(ed.render(prep, sad).image, first)


def test_brows_and_the_filled_mouth_are_made_only_when_an_edit_needs_them(portraits):
    """Cutting the brows out (layers only past alpha 1.5) and filling an open mouth's inside
    (only when an edit presses it shut) are left out of the set-up until a render asks."""
    ed = get_editor("offline")
    prep = ed.prepare(portraits["feat_happy"])
    assert prep.mouth_open
    ed.render(prep, ExpressionControl.single("happy", 1.0))
    assert "brows" not in vars(prep) and "closed_mouth" not in vars(prep)
    res = ed.render(prep, ExpressionControl.single("sad", 2.0))  # brows drawn in, lips pressed
    assert res.info["brow_layer"] > 0 and "brows" in vars(prep)
    assert res.info["mouth_closing"] > 0 and "closed_mouth" in vars(prep)
