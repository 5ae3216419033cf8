"""The piecewise-affine warp: squashed triangles must not fling pixels across the image."""

from __future__ import annotations

import numpy as np

from facebench.edit.warp import MeshWarp


def _grid_warp(shape=(120, 120)) -> tuple[MeshWarp, np.ndarray]:
    ys, xs = np.mgrid[30:91:15, 30:91:15]
    pts = np.column_stack([xs.ravel(), ys.ravel()]).astype(float)
    anchors = np.array([[5, 5], [115, 5], [115, 115], [5, 115], [60, 5], [115, 60], [60, 115], [5, 60]], float)
    return MeshWarp(pts, anchors, shape), pts


def test_identity_motion_maps_every_pixel_to_itself():
    warp, pts = _grid_warp()
    mx, my, tid = warp.maps(pts)
    x0, y0, x1, y1 = warp.roi
    gy, gx = np.mgrid[y0:y1, x0:x1]
    inside = tid >= 0
    assert inside.mean() > 0.5
    assert np.abs(mx[inside] - gx[inside]).max() < 1e-3 and np.abs(my[inside] - gy[inside]).max() < 1e-3


def test_a_squashed_triangle_samples_only_near_its_own_source():
    """Closing lids or lips squash the triangles across the opening to almost nothing; the
    affine map of such a triangle is nearly singular and, unchecked, sends its few pixels to
    far-away source positions (seen as stray dark pixels at the mouth corners). Every pixel
    must sample within one pixel of its own source triangle's box."""
    warp, pts = _grid_warp()
    moved = pts.copy()
    # collapse the middle row onto the row above (an opening closing), with a hair of slant
    mid = np.isclose(pts[:, 1], 60.0)
    moved[mid, 1] = 45.0 + 0.02 * (pts[mid, 0] - 60.0)
    mx, my, tid = warp.maps(moved)
    inside = tid >= 0
    corners = np.vstack([warp.points, warp.anchors])[warp.tri]  # (T, 3, 2) source corners
    lo = corners.min(1)[tid[inside]] - 1.0 - 1e-4
    hi = corners.max(1)[tid[inside]] + 1.0 + 1e-4
    sx, sy = mx[inside], my[inside]
    assert ((sx >= lo[:, 0]) & (sx <= hi[:, 0]) & (sy >= lo[:, 1]) & (sy <= hi[:, 1])).all()
    # and the rendered image stays within the colours of what the squashed band covered
    img = np.zeros((120, 120, 3), np.uint8)
    img[:, :, 0] = np.arange(120, dtype=np.uint8)[:, None] * 2  # red encodes the source row
    out = warp.render(img, moved)
    assert out[20:100, 20:100, 0].max() <= img[20:100, 20:100, 0].max()
